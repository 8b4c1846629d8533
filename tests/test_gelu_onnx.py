"""GELU on the ONNX route (issue 24): torch.onnx.export at opset 17 writes
``nn.GELU()`` as ``0.5 · x · (1 + erf(x / √2))`` and the tanh approximation as
its own formula; the ONNX reader takes either back as one GELU, so that
``--count ...,act`` counts one activation per element on every route, as the
torch and spec routes do. ONNX's own ``Gelu`` (opset 20) is read the same.
Only GELU's constants make a GELU: a look-alike is counted operator by operator.
Expected totals are derived by hand."""

from __future__ import annotations

import math

import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

import mbcost  # noqa: E402
from mbcost.adapters.onnx_count import analyze_graph  # noqa: E402
from mbcost.adapters.onnx_model import read_graph  # noqa: E402
from mbcost.errors import MbcostError  # noqa: E402

SHAPE = (1, 4, 5, 5)  # 100 elements
ROOT2 = math.sqrt(2)


def model_bytes(nodes, constants, opset=17):
    """A graph on input ``x`` (1x4x5x5) whose last node writes ``y``; ``constants``:
    name -> a one-element float constant."""
    inits = [helper.make_tensor(name, TensorProto.FLOAT, [], [value]) for name, value in constants.items()]
    graph = helper.make_graph(
        [helper.make_node(op, list(ins), [out], name=f"/act/{out}", **attrs) for op, ins, out, attrs in nodes],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, SHAPE)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()


def count(data, groups=("act",)):
    return analyze_graph(read_graph("g", data=data), count=groups)


def erf_form(root2=ROOT2, one=1.0, half=0.5, order="torch"):
    """0.5 · x · (1 + erf(x / root2)) as torch writes it, or in the other orders an exporter may."""
    consts = {"r": root2, "one": one, "half": half}
    head = [("Div", ("x", "r"), "d", {}), ("Erf", ("d",), "e", {}), ("Add", ("e", "one"), "a", {})]
    tails = {
        "torch": [("Mul", ("x", "a"), "m", {}), ("Mul", ("m", "half"), "y", {})],
        "half_first": [("Mul", ("half", "x"), "h", {}), ("Mul", ("h", "a"), "y", {})],
        "half_of_a": [("Mul", ("a", "half"), "h", {}), ("Mul", ("x", "h"), "y", {})],
    }
    return model_bytes(head + tails[order], consts)


def tanh_form(c=0.044715, k=math.sqrt(2 / math.pi), pow_=False):
    consts = {"c": c, "k": k, "one": 1.0, "half": 0.5, "three": 3.0}
    cube = [("Pow", ("x", "three"), "x3", {})] if pow_ else \
        [("Mul", ("x", "x"), "x2", {}), ("Mul", ("x", "x2"), "x3", {})]
    return model_bytes(cube + [("Mul", ("c", "x3"), "cx3", {}), ("Add", ("x", "cx3"), "u", {}),
                               ("Mul", ("k", "u"), "v", {}), ("Tanh", ("v",), "t", {}), ("Add", ("one", "t"), "a", {}),
                               ("Mul", ("x", "a"), "m", {}), ("Mul", ("half", "m"), "y", {})], consts)


@pytest.mark.parametrize("data", [
    erf_form(), erf_form(order="half_first"), erf_form(order="half_of_a"),
    model_bytes([("Mul", ("x", "s"), "d", {}), ("Erf", ("d",), "e", {}), ("Add", ("one", "e"), "a", {}),
                 ("Mul", ("a", "x"), "m", {}), ("Mul", ("m", "half"), "y", {})],
                {"s": 1 / ROOT2, "one": 1.0, "half": 0.5}),  # x · (1/√2) instead of x / √2
    tanh_form(), tanh_form(pow_=True),
    model_bytes([("Gelu", ("x",), "y", {})], {}, opset=20),
    model_bytes([("Gelu", ("x",), "y", {"approximate": "tanh"})], {}, opset=20),
], ids=["erf", "erf-half-first", "erf-half-of-a", "erf-times-1/sqrt2", "tanh", "tanh-pow", "onnx-gelu",
        "onnx-gelu-tanh"])
def test_every_form_of_gelu_is_one_gelu_per_element(data):
    table = count(data)
    assert table.total.mult_adds == 100  # 4·5·5 elements, one activation each
    assert [row.type for row in table.layers] == ["GELU"]
    assert table.counted_as_nothing == {} and table.not_counted == {}
    assert count(data, ("conv", "fc")).total.mult_adds == 0  # an activation: counted only under act


@pytest.mark.parametrize("data, ops", [
    (erf_form(root2=1.5), {"Erf"}),  # another divisor
    (erf_form(one=2.0), {"Erf"}),
    (erf_form(half=0.25), {"Erf"}),
    (tanh_form(c=0.05), {"Tanh"}),
    (tanh_form(k=0.8), {"Tanh"}),
], ids=["divisor-1.5", "plus-2", "quarter", "cube-0.05", "scale-0.8"])
def test_a_look_alike_with_other_constants_is_counted_op_by_op(data, ops):
    table = count(data)
    assert "GELU" not in {row.type for row in table.layers}
    graph = read_graph("g", data=data)
    assert ops <= {node.op for node in graph.nodes} and "Gelu" not in {node.op for node in graph.nodes}
    # op by op: Erf counts nothing (named), Tanh is one activation per element
    assert table.total.mult_adds == (100 if "Tanh" in ops else 0)
    if "Erf" in ops:
        assert table.counted_as_nothing["Erf"] == 1


def test_an_intermediate_value_read_elsewhere_is_not_taken():
    """The erf's output also leaves the graph: the chain is not a GELU alone."""
    consts = {"r": ROOT2, "one": 1.0, "half": 0.5}
    data = model_bytes([("Div", ("x", "r"), "d", {}), ("Erf", ("d",), "e", {}), ("Add", ("e", "one"), "a", {}),
                        ("Mul", ("x", "a"), "m", {}), ("Mul", ("m", "half"), "y0", {}),
                        ("Add", ("y0", "e"), "y", {})], consts)
    assert "Gelu" not in {node.op for node in read_graph("g", data=data).nodes}


SPEC = "input 5x5x3\nconv 1x1x3x4\ngelu\nconv 1x1x4x2 +gelu\n"


def test_torch_onnx_and_spec_agree_on_gelu(tmp_path):
    """nn.GELU() and nn.GELU(approximate="tanh") on the torch and ONNX routes, and
    the spec's (exact) gelu: one activation per element. By hand at 5x5: conv
    3·4·25 = 300, GELU 100 (each form), conv 4·2·25 = 200, GELU 50."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from torch import nn

    from mbcost.adapters.onnx_export import module_to_onnx
    from mbcost.adapters.torch_model import analyze_module
    from mbcost.core.network import Config

    torch.manual_seed(0)
    every = ("conv", "fc", "act")
    for approximate in ("none", "tanh"):
        model = nn.Sequential(nn.Conv2d(3, 4, 1, bias=False), nn.GELU(approximate=approximate),
                              nn.Conv2d(4, 2, 1, bias=False), nn.GELU(approximate=approximate)).eval()
        by_torch = analyze_module(model, (1, 3, 5, 5), Config.make(count=every), name="m")
        data = module_to_onnx(model, (1, 3, 5, 5), "m")
        for groups, expected in ((every, 300 + 100 + 200 + 50), (("act",), 150)):
            assert count(data, groups).total.mult_adds == expected
        assert by_torch.total.mult_adds == 650
        assert [row.type for row in count(data, every).layers] == ["Conv", "GELU", "Conv", "GELU"]
    path = tmp_path / "g.spec"
    path.write_text(SPEC)
    assert mbcost.analyze(str(path), count=every).total.mult_adds == 650


def test_spec_to_onnx_and_back_is_the_same_table(tmp_path):
    pytest.importorskip("torch")
    from mbcost.cli import main
    from mbcost.graphs.rowmatch import differences

    spec, out = tmp_path / "g.spec", tmp_path / "g.onnx"
    spec.write_text(SPEC)
    assert main(["export", str(spec), "--output", str(out)]) == 0
    for groups in (("conv", "fc", "act"), ("act",)):
        ours = mbcost.analyze(str(spec), count=groups, params="all")
        back = mbcost.analyze(str(out), count=groups)
        assert back.total.mult_adds == ours.total.mult_adds
        assert differences(ours, back) == []
    # and written back as a spec: the gelu lines again
    again = tmp_path / "again.spec"
    assert main(["export", str(out), "--output", str(again)]) == 0
    assert sum(line.split("#")[0].split(":")[-1].split() == ["gelu"] for line in again.read_text().splitlines()) == 2


def test_tanh_gelu_is_not_written_as_the_exact_gelu(tmp_path):
    from mbcost.graphs.spec_writer import write_spec

    with pytest.raises(MbcostError, match="tanh approximation"):
        write_spec(read_graph("g", data=tanh_form()), name="g")
    assert "gelu" in write_spec(read_graph("g", data=erf_form()), name="g").text
