"""ONNX in: an .onnx file counted from its graph with the onnx package alone.

The graphs here are built with ``onnx.helper`` (no torch), their counts derived
by hand from the ONNX operator definitions; the zoo round trip checks the ONNX
count against the symbolic core on exported networks, layer by layer.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import mbcost  # noqa: E402
from mbcost.cli import main  # noqa: E402
from mbcost.errors import MbcostError  # noqa: E402


def _init(name, *dims):
    import numpy as np

    return numpy_helper.from_array(np.zeros(dims, dtype=np.float32), name)


def small_graph(path, batch=1, extra_node=None):
    """input 1x4x16x16 -> Conv 3x3, 8 out, groups 2, stride 2, dilation 2, pads (1,1,2,2), bias
    -> BN -> Relu -> MaxPool 2x2 s2 -> GlobalAveragePool -> Flatten -> Gemm 8x5 (+bias)."""
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="/stem/Conv", group=2, strides=[2, 2],
                         dilations=[2, 2], pads=[1, 1, 2, 2], kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization", ["c", "s", "t", "m", "v"], ["n"], name="/bn/BatchNormalization"),
        helper.make_node("Relu", ["n"], ["r"], name="/act/Relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["p"], ["g"], name="/gap/GlobalAveragePool"),
        helper.make_node("Flatten", ["g"], ["f"], name="/Flatten"),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="/fc/Gemm", transB=1),
    ]
    if extra_node is not None:
        nodes.append(extra_node)
    out = "y" if extra_node is None else extra_node.output[0]
    graph = helper.make_graph(
        nodes, "small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 4, 16, 16])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
        [_init("w", 8, 2, 3, 3), _init("b", 8), _init("s", 8), _init("t", 8), _init("m", 8), _init("v", 8),
         _init("fw", 5, 8), _init("fb", 5)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


# by hand: conv output side = (16 + 1 + 2 - 2*(3-1) - 1) // 2 + 1 = 8; pool 4 x 4
CONV = 1 * 8 * 8 * 8 * (2 * 3 * 3)  # output elements x (C/G x Kh x Kw)
FC = 8 * 5
BN = 8 * 8 * 8
RELU = 8 * 8 * 8
POOL = 8 * 4 * 4 * (2 * 2)
GAP = 8 * 4 * 4


def test_hand_built_graph_counts_by_hand(tmp_path):
    path = small_graph(tmp_path / "small.onnx")
    a = mbcost.analyze(str(path))
    assert a.total.mult_adds == CONV + FC
    assert [r.name for r in a.layers] == ["stem", "bn", "act", "pool", "gap", "(model)", "fc"]
    assert (a.total.weights, a.total.biases, a.total.norm) == (8 * 2 * 9 + 5 * 8, 8 + 5, 16)  # BN stats: buffers
    every = mbcost.analyze(str(path), count=("conv", "fc", "bn", "pool", "act"))
    assert every.total.mult_adds == CONV + FC + BN + RELU + POOL + GAP
    rows = {r.name: r for r in every.layers}
    assert rows["stem"].output_dims == (1, 8, 8, 8) and rows["stem"].category == "Group Conv 3×3"
    assert rows["pool"].mult_adds == POOL and rows["gap"].mult_adds == GAP


def test_symbolic_batch_needs_input(tmp_path, capsys):
    path = small_graph(tmp_path / "dyn.onnx", batch="N")
    assert main(["table", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--input" in err and "N" in err
    a = mbcost.analyze(str(path), input_size=(2, 4, 16, 16))
    assert a.total.mult_adds == 2 * CONV + 2 * FC


@pytest.mark.parametrize("op", ["ConvTranspose", "LSTM"])
def test_unknown_operator_is_named(tmp_path, capsys, op):
    node = helper.make_node(op, ["y"], ["z"], name="/odd/Thing")
    path = small_graph(tmp_path / "odd.onnx", extra_node=node)
    assert main(["table", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert op in err and ("/odd/Thing" in err or "shape inference" in err)


def test_operator_not_in_the_table_is_named_and_the_total_incomplete(tmp_path, capsys):
    node = helper.make_node("Hardmax", ["y"], ["z"], name="/odd/Hardmax")
    path = small_graph(tmp_path / "hardmax.onnx", extra_node=node)
    a = mbcost.analyze(str(path))
    assert not a.complete and a.not_counted == {"Hardmax": {"calls": 1, "rows": ["odd"]}}
    assert a.to_dict()["not_counted"] == {"Hardmax": {"calls": 1, "rows": ["odd"]}}
    assert main(["table", str(path)]) == 0
    assert "TOTAL INCOMPLETE" in capsys.readouterr().out


@pytest.mark.parametrize("content", [b"", b"hello, not a model", bytes(range(256)) * 20])
def test_not_onnx_is_one_line(tmp_path, capsys, content):
    path = tmp_path / "fake.onnx"
    path.write_bytes(content)
    assert main(["table", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not an ONNX model" in err


def test_missing_and_folder(tmp_path, capsys):
    assert main(["table", str(tmp_path / "none.onnx")]) == 2
    assert "no such ONNX file" in capsys.readouterr().err
    folder = tmp_path / "dir.onnx"
    folder.mkdir()
    assert main(["table", str(folder)]) == 2
    assert "folder" in capsys.readouterr().err


def test_onnx_settings_are_refused(tmp_path, capsys):
    path = small_graph(tmp_path / "small.onnx")
    assert main(["table", str(path), "--alpha", "0.5"]) == 2
    assert "--alpha applies to specs only" in capsys.readouterr().err
    with pytest.raises(MbcostError, match="fixed"):
        mbcost.analyze(str(path), alpha=0.5)


def test_counting_onnx_imports_no_torch(tmp_path):
    path = small_graph(tmp_path / "small.onnx")
    script = ("import sys, io, contextlib; from mbcost.cli import main\n"
              "with contextlib.redirect_stdout(io.StringIO()):\n"
              f"    assert main(['table', {str(path)!r}, '--format', 'json']) == 0\n"
              "print('loaded:' + ' '.join(m for m in ('torch', 'fvcore', 'matplotlib', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "loaded:"


# -- the zoo exported and read back: the ONNX count equals the symbolic one, layer by layer -------------------

ZOO = ["mobilenet_v1", "resnet18", "mobilenet_v2", "efficientnet_b0", "mobilenet_v3_small", "shufflenet_v2_x0_5",
       "squeezenet"]


@pytest.mark.parametrize("name", ZOO)
def test_zoo_through_onnx_equals_symbolic(tmp_path, name):
    pytest.importorskip("torch")
    from mbcost.graphs.rowmatch import differences

    path = tmp_path / f"{name}.onnx"
    assert main(["export", name, "--alpha", "0.75", "--res", "192", "--output", str(path)]) == 0
    for count in (("conv", "fc"), ("conv", "fc", "bn", "pool", "act")):
        spec = mbcost.analyze(name, alpha=0.75, resolution=192, count=count, params="all")
        graph = mbcost.analyze(str(path), count=count)
        assert graph.total.mult_adds == spec.total.mult_adds
        assert (graph.total.weights, graph.total.biases, graph.total.norm) == \
            (spec.total.weights, spec.total.biases, spec.total.norm)
        assert differences(spec, graph) == []


def test_export_onnx_is_deterministic(tmp_path):
    pytest.importorskip("torch")
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    for p in (a, b):
        assert main(["export", "mobilenet_v1", "--alpha", "0.25", "--res", "128", "--output", str(p)]) == 0
    assert a.read_bytes() == b.read_bytes()
