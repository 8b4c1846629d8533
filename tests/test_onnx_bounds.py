"""Issue 22: an ONNX file's operators and graph nesting are measured on the
protobuf wire and refused past their limits before protobuf parses it; any
graph, valid or corrupted, is counted or refused in one line."""

from __future__ import annotations

import pytest

onnx = pytest.importorskip("onnx")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

from mbcost.adapters import onnx_model  # noqa: E402
from mbcost.adapters.onnx_count import analyze_onnx  # noqa: E402
from mbcost.adapters.onnx_model import MAX_GRAPH_DEPTH, check_structure  # noqa: E402
from mbcost.errors import MbcostError  # noqa: E402


def relu_chain(n: int, c: int = 3) -> bytes:
    nodes = [helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"], name=f"relu{i}") for i in range(n)]
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("t0", TensorProto.FLOAT, [1, c, 4, 4])],
                              [helper.make_tensor_value_info(f"t{n}", TensorProto.FLOAT, [1, c, 4, 4])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def nested_if(depth: int) -> bytes:
    """An If whose then-branch holds an If ... ``depth`` graphs deep (each else-branch one Identity)."""
    def body(d):
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
        leaf = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], f"leaf{d}", [], [y])
        if d == 0:
            return leaf
        return helper.make_graph([helper.make_node("If", ["c"], ["y"], then_branch=body(d - 1), else_branch=leaf)],
                                 f"g{d}", [], [y])
    graph = body(depth)
    graph.input.extend([helper.make_tensor_value_info("c", TensorProto.BOOL, []),
                        helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def count_nodes(graph) -> tuple[int, int]:
    """(operators, deepest nesting) by walking the parsed proto: the oracle."""
    nodes, deepest = 0, 0
    for node in graph.node:
        nodes += 1
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                n, d = count_nodes(sub)
                nodes, deepest = nodes + n, max(deepest, d + 1)
    return nodes, deepest


def test_the_node_limit_is_checked_on_the_wire(monkeypatch, tmp_path):
    monkeypatch.setattr(onnx_model, "MAX_NODES", 40)
    path = tmp_path / "c.onnx"
    path.write_bytes(relu_chain(40))
    assert len(analyze_onnx(path).layers) == 40
    path.write_bytes(relu_chain(41))
    with pytest.raises(MbcostError, match="more than 40 operators"):
        analyze_onnx(path)


def test_deeply_nested_subgraphs_are_refused_before_parsing(tmp_path):
    data = nested_if(MAX_GRAPH_DEPTH + 1)
    assert count_nodes(onnx.load_model_from_string(data).graph)[1] == MAX_GRAPH_DEPTH + 1
    with pytest.raises(MbcostError, match=f"more than {MAX_GRAPH_DEPTH} deep"):
        check_structure(data, "n.onnx")
    check_structure(nested_if(MAX_GRAPH_DEPTH), "n.onnx")  # at the limit: left to the reader
    path = tmp_path / "n.onnx"
    path.write_bytes(nested_if(2))
    # read, and the If named as not counted (issue 21: an operator without a rule is never dropped quietly)
    assert [r.type for r in analyze_onnx(path).layers] == ["If (not counted: If)"]


@settings(max_examples=15, deadline=None, derandomize=True)
@given(depth=st.integers(0, 4), chain=st.integers(1, 30))
def test_the_wire_count_equals_the_parsed_graph(depth, chain):
    data = nested_if(depth) if depth else relu_chain(chain)
    nodes, deepest = count_nodes(onnx.load_model_from_string(data).graph)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(onnx_model, "MAX_NODES", nodes)
        check_structure(data, "x.onnx")  # exactly at the limit: accepted
        patch.setattr(onnx_model, "MAX_NODES", nodes - 1)
        with pytest.raises(MbcostError, match=f"more than {nodes - 1:,} operators"):
            check_structure(data, "x.onnx")
    assert deepest == max(0, depth)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 6), c=st.integers(1, 4), cuts=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
                                                             max_size=4), truncate=st.integers(0, 10**6))
def test_corrupted_graphs_are_counted_or_refused_in_one_line(tmp_path, n, c, cuts, truncate):
    data = bytearray(relu_chain(n, c))
    for where, byte in cuts:
        data[where % len(data)] = byte
    if truncate % 3 == 0:
        data = data[: truncate % len(data)]
    path = tmp_path / "g.onnx"
    path.write_bytes(bytes(data))
    try:
        result = analyze_onnx(path)
    except MbcostError as exc:
        assert "\n" not in str(exc)
    else:
        assert result.total.mult_adds == 0  # Relu counts no Mult-Adds, whatever survived


def relus_beside_static_ones(n: int) -> bytes:
    """``n`` Relus on the input, then an Add of a weight that went through two Relus
    of its own (static: folded, no data operator) and a Shape of the result (sizes)."""
    nodes = [helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"]) for i in range(n)]
    nodes += [helper.make_node("Relu", ["w"], ["w1"]), helper.make_node("Relu", ["w1"], ["w2"]),
              helper.make_node("Add", [f"t{n}", "w2"], ["y"]), helper.make_node("Shape", ["y"], ["s"])]
    weight = helper.make_tensor("w", TensorProto.FLOAT, [1, 3, 4, 4], [0.5] * 48)
    graph = helper.make_graph(nodes, "mixed", [helper.make_tensor_value_info("t0", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])], [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_the_wire_tells_the_data_operators_as_the_graph_reader_does():
    from mbcost.adapters.onnx_model import data_operators, read_graph

    data = relus_beside_static_ones(3)
    assert data_operators(data) == ["Relu", "Relu", "Relu", "Add"]  # by hand: the weight's Relus and Shape are not
    assert data_operators(data) == [n.op for n in read_graph("mixed", data=data).nodes]
    assert data_operators(b"\x0a\xff") is None  # a field running past the message: left to the parser


def test_export_refuses_more_layers_than_a_spec_makes_before_parsing(monkeypatch, tmp_path, capsys):
    """Every Relu is a line of its own (or the one activation of an ``se`` line):
    a chain of more Relus than a spec may make layers is refused from the wire,
    before onnx parses the file; one at the limit is written."""
    from mbcost.cli import main
    from mbcost.core import network

    monkeypatch.setattr(network, "MAX_LAYERS", 30)
    at_limit, over = tmp_path / "at.onnx", tmp_path / "over.onnx"
    at_limit.write_bytes(relu_chain(30))
    over.write_bytes(relus_beside_static_ones(31))
    assert main(["export", str(at_limit), "-o", str(tmp_path / "at.spec")]) == 0
    assert (tmp_path / "at.spec").read_text().count(": relu") == 30

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed")

    monkeypatch.setattr(onnx, "load_model_from_string", no_parsing)
    assert main(["export", str(over), "-o", str(tmp_path / "over.spec")]) == 2
    err = capsys.readouterr().err
    assert "its 31 operators of kinds that are a layer line each (Relu) make at least 31 layers" in err, err
    assert err.count("\n") == 1 and not (tmp_path / "over.spec").exists()
