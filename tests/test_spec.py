"""The layer-spec language: syntax, shape inference, per-layer costs, errors.

Expected costs are hand-derived from the formulas in the layer modules'
docstrings (and the paper's), written out in each test.
"""

from __future__ import annotations

import pytest
from conftest import DATA

from mbcost import analyze
from mbcost.errors import MbcostError, SpecError
from mbcost.core.network import Network


def costs(text: str, **kw):
    return analyze(Network.from_text(text, source="t.spec"), **kw)


def error_of(text: str, **kw) -> SpecError:
    with pytest.raises(SpecError) as info:
        costs(text, **kw)
    return info.value


def test_comments_blank_lines_and_paper_notation():
    a = costs("""
    # a comment line
    input 224 × 224 × 3      # the paper's notation, with spaces and ×
    Conv / s2   3 × 3 × 3 × 32   @ 224 × 224 × 3
    """)
    (row,) = a.layers
    assert (row.output.h, row.output.w, row.output.c) == (112, 112, 32)
    assert row.mult_adds == 3 * 3 * 3 * 32 * 112 * 112
    assert row.formula == "3·3·3·32·112·112"


def test_rectangular_kernel_explicit_padding_and_stride():
    a = costs("input 20x30x8\nconv / s2x1 1x7x8x16 pad=0x3\n")
    (row,) = a.layers
    # rows: (20 - 1)//2 + 1 = 10 ; cols: (30 + 6 - 7)//1 + 1 = 30
    assert row.output.as_list() == [10, 30, 16]
    assert row.mult_adds == 1 * 7 * 8 * 16 * 10 * 30
    assert row.weights == 1 * 7 * 8 * 16


def test_same_and_valid_padding():
    same = costs("input 15x15x4\nconv s2 3x3x4x4\n").layers[0]
    valid = costs("input 15x15x4\nconv s2 3x3x4x4 pad=valid\n").layers[0]
    assert same.output.h == 8  # ceil(15 / 2)
    assert valid.output.h == 7  # (15 - 3)//2 + 1


def test_groups_depthwise_pointwise():
    a = costs("input 8x8x32\nconv 3x3x32x64 groups=4\ndw 3x3x64\npw 64x10\n")
    grouped, depthwise, pointwise = a.layers
    assert grouped.mult_adds == 3 * 3 * (32 // 4) * 64 * 8 * 8
    assert grouped.category == "Group Conv 3×3"
    assert depthwise.mult_adds == 3 * 3 * 64 * 8 * 8 and depthwise.weights == 3 * 3 * 64
    assert depthwise.category == "Conv DW 3×3"
    assert pointwise.mult_adds == 64 * 10 * 8 * 8 and pointwise.category == "Conv 1×1"


def test_depthwise_channel_multiplier_and_dilation():
    a = costs("input 9x9x8\ndw 3x3x8 mult=2 dil=2 pad=valid\n")
    (row,) = a.layers
    assert row.output.as_list() == [5, 5, 16]  # 9 - (2*2 + 1) + 1 = 5
    assert row.mult_adds == 3 * 3 * 1 * 16 * 5 * 5


def test_pooling_flatten_fc_and_free_layers():
    a = costs("""
    input 8x8x4
    maxpool / s2 2x2
    avgpool 3x3 pad=1
    flatten
    fc 64x10
    relu
    dropout p=0.5
    bn
    softmax
    """)
    pool, avg, flat, fc, relu, drop, bn, soft = a.layers
    assert pool.output.as_list() == [4, 4, 4]
    assert avg.output.as_list() == [4, 4, 4]
    assert flat.output.as_list() == [1, 1, 64]
    assert fc.mult_adds == 64 * 10 and fc.weights == 640 and fc.biases == 10
    assert [r.mult_adds for r in (pool, avg, flat, relu, drop, bn, soft)] == [0] * 7
    assert bn.norm == 2 * 10 and bn.params == 0  # weights-only convention


def test_global_pool_adapts_and_checks_its_written_kernel():
    text = "input 32x32x8\nconv s2 3x3x8x8\navgpool 16x16 global\n"
    assert costs(text).layers[-1].output.as_list() == [1, 1, 8]
    assert costs(text, resolution=64).layers[-1].input.h == 32  # adapts away from the spec's size
    err = error_of("input 32x32x8\nconv s2 3x3x8x8\navgpool 7x7 global\n")
    assert (err.line, err.col) == (3, 9) and "7×7" in err.message and "16×16×8" in err.message


def test_post_ops_from_after_rule_and_plus_syntax():
    a = costs("input 4x4x3\nafter conv: bn relu\nconv 3x3x3x8\nconv 1x1x8x8 +bn\nfc_in: gap\nfc 8x2\n",
              count="conv,fc,bn,act", params="all")
    c1, c2, gap, fc = a.layers
    assert c1.biases == 0 and c1.norm == 16  # bias dropped before batch norm
    # conv + BN (1 per element) + ReLU (1 per element)
    assert c1.mult_adds == 3 * 3 * 3 * 8 * 16 + 16 * 8 + 16 * 8
    assert c2.mult_adds == 8 * 8 * 16 + 16 * 8  # +bn replaces the rule: no relu
    assert fc.biases == 2 and c1.params == 3 * 3 * 3 * 8 + 16
    assert gap.name == "fc_in"


def test_counting_conventions():
    text = "input 4x4x2\nconv 3x3x2x2 +bn +relu\nmaxpool / s2 2x2\ngap\nfc 2x3\n"
    paper = costs(text)
    assert paper.total.mult_adds == 3 * 3 * 2 * 2 * 16 + 2 * 3
    counted = costs(text, count="conv,fc,bn,pool,act")
    extra = 32 + 32 + 2 * 2 * 2 * 2 * 2 + 2 * 2 * 2  # bn, relu, 2x2 max pool, global pool
    assert counted.total.mult_adds == paper.total.mult_adds + extra
    assert "batch norm" in counted.counted_text() and "paper" in paper.counted_text()


def test_repetition_single_line_and_block_names():
    a = costs("input 4x4x8\n3x dw 3x3x8\n2x {\n  dw 3x3x8\n  blk: pw 8x8\n}\n")
    assert [r.name for r in a.layers] == ["dw1", "dw2", "dw3", "dw4", "blk_1", "dw5", "blk_2"]


def test_classifier_not_scaled_and_classes_header():
    a = costs("input 8x8x3\nclasses 10\nconv 3x3x3x32\ngap\nfc 32x10\n", alpha=0.5)
    assert a.layers[0].output.c == 16 and a.layers[-1].input.c == 16 and a.layers[-1].output.c == 10
    err = error_of("input 8x8x3\nclasses 10\nconv 3x3x3x32\ngap\nfc 32x12\n")
    assert err.line == 5 and "12 outputs" in err.message


@pytest.mark.parametrize("alpha,expected", [(0.75, 24), (0.29, 9), (1.4, 44), (0.1, 3)])
def test_width_multiplier_is_exact_int_of_alpha_c(alpha, expected):
    # int(0.29 * 32) is 9 in exact arithmetic (9.28); 1.4 * 32 = 44.8 -> 44
    a = costs("input 8x8x3\nconv 3x3x3x32\nconv 1x1x32x4 logits\n", alpha=alpha)
    assert a.layers[0].output.c == expected


def test_min_depth_and_divisor():
    text = "input 8x8x3\nconv 3x3x3x32\nconv 1x1x32x4 logits\n"
    assert costs(text, alpha=0.1, min_depth=8).layers[0].output.c == 8
    # divisor 8: nearest multiple of 8 to 0.35*32 = 11.2 is 8, below 90% of 11.2 -> 16
    assert costs(text, alpha=0.35, divisor=8).layers[0].output.c == 16
    assert costs(text, alpha=0.5, divisor=8).layers[0].output.c == 16


def test_table1_as_printed_is_found_inconsistent():
    path = DATA / "mobilenet_v1_table1_as_printed.spec"
    with pytest.raises(SpecError) as info:
        Network.from_file(path)
    err = info.value
    # The "Conv dw / s2" at 7x7x1024 (line 25) makes the next row's input 4x4.
    assert err.line == 26 and err.col == 42
    assert "7×7×1024" in err.message and "4×4×1024" in err.message
    lines = path.read_text(encoding="utf-8").splitlines()
    assert "Conv dw / s2" in lines[24] and "1024 dw" in lines[24]
    assert "^" in err.detail()


def test_table1_as_printed_with_the_stride_fixed_matches_the_shipped_spec():
    text = (DATA / "mobilenet_v1_table1_as_printed.spec").read_text(encoding="utf-8")
    fixed = text.replace("Conv dw / s2     3 × 3 × 1024", "Conv dw / s1     3 × 3 × 1024")
    assert analyze(Network.from_text(fixed)).total == analyze("mobilenet_v1").total


# -- errors: each names file:line:col ---------------------------------------

@pytest.mark.parametrize("text,line,col,words", [
    ("input 8x8x3\nconv 3x3x3x16 groups=3\n", 2, 15, "groups=3"),
    ("input 8x8x3\nconv 3x3x0x16\n", 2, 6, "positive"),
    ("input 8x8x3\nconv -3x3x3x16\n", 2, 6, "unexpected character"),
    ("input 8x8x3\nconv / s0 3x3x3x16\n", 2, 8, "stride"),
    ("input 8x8x3\nconvv 3x3x3x16\n", 2, 1, "unknown layer type 'convv'"),
    ("input 8x8x3\nconv 3x3x3\n", 2, 6, "shape like"),
    ("input 8x8x3\nconv 3x3x4x16\n", 2, 6, "takes 4 input channels"),
    ("input 8x8x3\nconv 3x3x3x16 pad=valid\nconv 9x9x16x4 pad=valid\n", 3, 1, "larger than its 6×6 input"),
    ("input 8x8x3\nconv 3x3x3x16 @ 8x8x4\n", 2, 17, "input size mismatch"),
    ("input 8x8x3\nconv 3x3x3x16 wat=1\n", 2, 15, "no option 'wat'"),
    ("input 8x8x3\n2x {\nconv 3x3x3x3\n", 2, 4, "never closed"),
    ("input 8x8x3\n}\n", 2, 1, "without a matching"),
    ("input 8x8\n", 1, 7, "H x W x C"),
    ("input 8x8x3\nfc 3x10\n", 2, 1, "1×1×C input"),
    ("input 8x8x3\nconv 3x3x3x16 +softmax\n", 2, 16, "after '+'"),
    ("input 8x8x3\nx: conv 3x3x3x3\nx: conv 3x3x3x3\n", 3, 4, "used twice"),
])
def test_spec_errors_are_located(text, line, col, words):
    err = error_of(text)
    assert (err.line, err.col) == (line, col), str(err)
    assert words in err.message
    assert str(err).startswith(f"t.spec:{line}:{col}: ")


def test_vanishing_feature_map_at_low_resolution_names_the_layer():
    text = "input 32x32x3\nconv s2 3x3x3x8\nmaxpool 5x5\n"
    assert costs(text).layers[-1].output.h == 12
    err = error_of(text, resolution=6)
    assert "layer maxpool1" in err.message and "3×3 input" in err.message and err.line == 3


@pytest.mark.parametrize("kw,words", [
    ({"alpha": 0}, "alpha must be positive"),
    ({"alpha": -1}, "alpha must be positive"),
    ({"resolution": 0}, "resolution must be positive"),
    ({"rho": -0.5}, "rho must be positive"),
    ({"resolution": 160, "rho": 0.5}, "not both"),
    ({"count": "conv,flops"}, "cannot count flops"),
    ({"params": "most"}, "unknown parameter convention"),
])
def test_bad_settings(kw, words):
    with pytest.raises(MbcostError, match=words):
        analyze("mobilenet_v1", **kw)


def test_alpha_too_small_names_the_layer():
    with pytest.raises(SpecError, match="layer conv1: width multiplier 0.01 leaves 0"):
        analyze("mobilenet_v1", alpha=0.01)
    assert analyze("mobilenet_v1", alpha=0.01, min_depth=1).total.mult_adds > 0


@pytest.mark.parametrize("line", ["conv 3x3x4 dw", "dw 3x3x4", "conv dw 3x3x4", "dwconv 3x3x4", "conv2d 3x3x4 dw",
                                  "Conv dw / s1 3 × 3 × 4 dw"])
@pytest.mark.parametrize("rule", ["dw", "conv dw"])
def test_every_depthwise_spelling_is_the_dw_kind(line, rule):
    # issue 9.1: `conv 3x3x4 dw` was a conv for after-rules and names (a bias, no
    # batch norm, named conv1). Hand-derived: 8×8×4 input, depthwise 3×3 stride 1:
    # 3·3·4·8·8 = 2,304 Mult-Adds, 36 weights; with batch norm counted, + 8·8·4 =
    # 256 Mult-Adds and 2·4 = 8 norm parameters; no bias since batch norm follows.
    a = costs(f"input 8x8x4\nafter {rule}: bn relu\n{line}\n", count="conv,fc,bn", params="all")
    (row,) = a.layers
    assert row.name == "dw1"
    assert row.category == "Conv DW 3×3"
    assert (row.mult_adds, row.weights, row.biases, row.norm) == (2304 + 256, 36, 0, 8)


def test_after_conv_rule_does_not_reach_a_depthwise_line():
    # `after conv:` names the conv kind; `conv 3x3x4 dw` is the dw kind, like `dw 3x3x4`:
    # no batch norm, so it keeps its bias (4).
    a = costs("input 8x8x4\nafter conv: bn relu\nconv 3x3x4 dw\n", params="all")
    (row,) = a.layers
    assert (row.name, row.weights, row.biases, row.norm) == ("dw1", 36, 4, 0)
