"""The attention kinds (``mqa``, ``mhsa``), ``layerscale`` and ``gelu``: costs by
hand, the torch build checked three ways, width scaling, errors."""

from __future__ import annotations

import pytest

import mbcost
from mbcost.cli import main

SPEC = """\
model attn
input 14x14x32
mqa 32x48 heads=4 key=16 kv_stride=2
layerscale
mhsa 48x40 heads=2 key=8 value=12
gelu
"""


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "attn.spec"
    path.write_text(SPEC)
    return str(path)


def test_mqa_costs_by_hand(spec):
    """14 x 14 = 196 query positions, keys/values at 7 x 7 = 49 after the stride-2
    depthwise 3x3 (TensorFlow 'same': ceil(14 / 2)), M = 32, N = 48, 4 heads of 16."""
    table = mbcost.analyze(spec, count=("conv", "fc", "bn"), params="all")
    mqa = table.layers[0]
    queries = 196 * 32 * 64
    keys_values = 49 * 32 * 16 + 49 * 32 * 16
    output = 196 * 64 * 48
    downsampling = 2 * 3 * 3 * 32 * 49
    products = 4 * 196 * 49 * 16 + 4 * 196 * 49 * 16
    norms = 2 * 49 * 32
    assert mqa.mult_adds == queries + keys_values + output + downsampling + products + norms
    assert mqa.weights == 32 * 64 + 32 * 16 * 2 + 64 * 48 + 2 * 9 * 32
    assert (mqa.biases, mqa.norm) == (0, 4 * 32)
    assert (mqa.output.h, mqa.output.w, mqa.output.c) == (14, 14, 48)
    # the paper's convention (conv, fc): no norms; conv only: no products either
    assert mbcost.analyze(spec).layers[0].mult_adds == queries + keys_values + output + downsampling + products
    assert mbcost.analyze(spec, count=("conv",)).layers[0].mult_adds == \
        queries + keys_values + output + downsampling


def test_mhsa_and_layerscale_by_hand(spec):
    """MHSA: every head has its own key and value (2 heads: keys 2·8, values 2·12)."""
    table = mbcost.analyze(spec, params="all")
    scale, mhsa, gelu = table.layers[1], table.layers[2], table.layers[3]
    assert (scale.mult_adds, scale.weights) == (0, 48)
    l = p = 196
    expected = l * 48 * 16 + p * 48 * (16 + 24) + l * 24 * 40 + 2 * l * p * 8 + 2 * l * p * 12
    assert mhsa.mult_adds == expected
    assert mhsa.weights == 48 * 16 + 48 * 40 + 24 * 40
    assert gelu.mult_adds == 0
    assert mbcost.analyze(spec, count=("conv", "fc", "act")).layers[3].mult_adds == 196 * 40


def test_formulas_in_named_factors_by_hand(spec):
    """A table cell writes an attention row's formula in named factors (the one in
    numbers is too long beside a name on an 80-column terminal), each defined with
    its value. The MQA: M = 32 -> N = 48, so the queries' and the output's products
    differ; the keys' and values' branches are equal (downsampling, batch norm,
    projection). The MHSA: keys 2·8, values 2·12 wide, no downsampling."""
    table = mbcost.analyze(spec, count=("conv", "fc", "bn"))
    mqa, mhsa = table.layers[0].named_formula, table.layers[2].named_formula
    assert mqa.text == "L·M·C + L·C·N + 2·P·M·(3·3+1+dk) + 2·L·P·C"
    assert [(s, v, how) for s, v, how, _ in mqa.symbols] == [
        ("L", 196, "14·14"), ("P", 49, "7·7"), ("M", 32, ""), ("N", 48, ""), ("C", 64, "4·16"), ("dk", 16, "")]
    l, p, m, n, c, dk = 196, 49, 32, 48, 64, 16
    assert l * m * c + l * c * n + 2 * p * m * (9 + 1 + dk) + 2 * l * p * c == table.layers[0].mult_adds
    assert mhsa.text == "L·M·C + L·V·N + P·M·C + P·M·V + L·P·C + L·P·V"
    assert [(s, v) for s, v, _, _ in mhsa.symbols] == [("L", 196), ("P", 196), ("M", 48), ("N", 40), ("C", 16),
                                                        ("V", 24)]
    # conv only: no products; fc only: the products alone
    assert mbcost.analyze(spec, count=("conv",)).layers[0].named_formula.text == "L·M·C + L·C·N + 2·P·M·(3·3+dk)"
    assert mbcost.analyze(spec, count=("fc",)).layers[0].named_formula.text == "2·L·P·C"
    # the CSV and JSON keep the formula in numbers
    assert table.layers[0].formula.startswith("196·32·64 + ")


def test_width_keeps_heads_and_key_widths(spec):
    """alpha 0.5: the input line's 32 channels are never scaled, N = int(0.5·48) = 24;
    the 4 heads of 16 and the key/value widths are kept."""
    table = mbcost.analyze(spec, alpha=0.5)
    mqa = table.layers[0]
    assert mqa.output.c == 24
    assert mqa.weights == 32 * 64 + 32 * 32 + 64 * 24 + 2 * 9 * 32


def test_three_way_check(spec, capsys):
    pytest.importorskip("torch")
    assert main(["check", spec, "--count", "conv,fc,bn,act"]) == 0
    assert "agrees on every layer" in capsys.readouterr().out


@pytest.mark.parametrize("line, message", [
    ("mqa 32x48 key=16", "needs heads="),
    ("mqa 32x48 heads=4", "needs key="),
    ("mqa / s2 32x48 heads=4 key=16", "stride 1"),
    ("mhsa 32 heads=4 key=16", "takes a shape"),
    ("mqa 32x48 heads=4 key=16 qstride=2", "no option 'qstride'"),
    ("mqa 30x48 heads=4 key=16", "32"),
])
def test_errors_are_one_line(tmp_path, capsys, line, message):
    path = tmp_path / "bad.spec"
    path.write_text(f"input 14x14x32\n{line}\n")
    assert main(["table", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "bad.spec:2:" in err and "Traceback" not in err


def test_onnx_route_equals_the_spec(spec, tmp_path):
    """Exported to ONNX and counted there (MatMul, Conv, BatchNormalization handles
    written from the ONNX definitions): the same integers, row by row, ``act``
    included: torch.onnx.export writes GELU as Div, Erf, Add and Mul, which the ONNX
    reader takes back as one GELU (mbcost.graphs.fusion)."""
    pytest.importorskip("torch")
    from mbcost.graphs.rowmatch import differences

    path = tmp_path / "attn.onnx"
    assert main(["export", spec, "--output", str(path)]) == 0
    for count in (("conv", "fc"), ("conv", "fc", "bn", "pool"), ("conv", "fc", "bn", "pool", "act")):
        ours = mbcost.analyze(spec, count=count, params="all")
        graph = mbcost.analyze(str(path), count=count)
        assert graph.total.mult_adds == ours.total.mult_adds
        assert (graph.total.weights, graph.total.biases, graph.total.norm) == \
            (ours.total.weights, ours.total.biases, ours.total.norm)
        assert differences(ours, graph) == []
