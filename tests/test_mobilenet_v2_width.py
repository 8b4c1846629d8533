"""MobileNetV2 at other widths is the reference implementations' network (issue
9.2): widths rounded to multiples of 8, expansions t x the rounded input, the last
1x1 conv never below 1280; against TF-Slim's 22 published checkpoints."""

from __future__ import annotations

import math

import pytest
from conftest import published

import mbcost
from mbcost.errors import SpecError
from mbcost.core.network import Network

ROWS = published("mobilenet_v2_checkpoints")


def make_divisible(v, divisor=8):
    """The reference rounding, written here from its description: nearest multiple,
    at least the divisor, and never below 90% of v."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['alpha']}-{r['resolution']}")
def test_tf_slim_published_macs_and_params(row):
    total = mbcost.analyze("mobilenet_v2", alpha=row["alpha"], resolution=int(row["resolution"])).total
    # TF-Slim prints MACs truncated to whole millions (every one of the 22 rows), and
    # parameters as the weights rounded to 2 decimals.
    assert math.floor(total.mult_adds / 1e6) == int(row["mult_adds_millions"])
    assert round(total.weights / 1e6, 2) == float(row["params_millions"])


def test_widths_by_hand_at_035():
    a = mbcost.analyze("mobilenet_v2", alpha=0.35)
    convs = [r for r in a.layers if r.kind == "conv"]
    assert convs[0].output.c == make_divisible(32 * 0.35) == 16  # 11.2 -> 8 is below 90%: 16
    assert a.layers[2].output.c == make_divisible(16 * 0.35) == 8  # the t=1 block's projection
    assert a.layers[3].output.c == 6 * 8  # expansion: 6 x the ROUNDED 8, not 0.35 x 96
    last = [r for r in a.layers if r.kind == "conv"][-1]
    assert last.output.c == 1280  # max(1, alpha) x 1280
    fc = a.layers[-2]
    assert (fc.input.c, fc.output.c) == (1280, 1000)


def test_above_one_the_last_conv_widens():
    last = [r for r in mbcost.analyze("mobilenet_v2", alpha=1.4).layers if r.kind == "conv"][-1]
    assert last.output.c == make_divisible(1280 * 1.4) == 1792


def test_the_rule_is_stated_and_can_be_overridden(cli):
    plain = mbcost.analyze("mobilenet_v2", alpha=0.35, divisor=1)
    assert plain.layers[0].output.c == 11  # int(0.35 x 32)
    res = cli("table", "mobilenet_v2", "--alpha", "0.35")
    assert "channels under alpha: nearest multiple of 8, never below 90% of alpha·c (the spec's 'width' rule)" \
        in res.stdout
    res = cli("table", "mobilenet_v2", "--alpha", "0.35", "--divisor", "1")
    assert "channels under alpha" not in res.stdout


def test_alpha_one_is_unchanged():
    assert mbcost.analyze("mobilenet_v2", params="all").total.params == 3_504_872  # torchvision


@pytest.mark.parametrize("text,message", [
    ("width", "needs divisor=N"),
    ("width divisor=0", "must be a whole number >= 1"),
    ("width size=8", "takes divisor= and min_depth="),
])
def test_bad_width_headers(text, message):
    with pytest.raises(SpecError, match=message):
        Network.from_text(f"input 8x8x3\n{text}\nconv 3x3x3x8\n")


def test_expand_needs_a_question_mark_output():
    with pytest.raises(SpecError, match="write them '\\?'"):
        Network.from_text("input 8x8x8\nconv 1x1x8x48 expand=6\n")
    (row,) = mbcost.analyze(Network.from_text("input 8x8x8\npw ?x? expand=3\n"), alpha=0.5).layers
    assert row.output.c == 24  # 3 x the 8 image channels, whatever alpha


def test_torch_build_agrees_at_other_widths():
    pytest.importorskip("fvcore")
    from mbcost.attachments.check import check

    assert check(["mobilenet_v2"], alphas=["0.35", "1.4"], resolutions=[96]).ok
