"""The paper's descendants (issue 12): the new layer kinds against hand-derived
costs, the depth multiplier against an EfficientNet cost model written out
here from the paper and torchvision's rules (not from mbcost's code), and one
block of each new network by hand. torchvision's published parameter counts
and GFLOPS are in tests/test_torchvision_variants.py."""

from __future__ import annotations

import math

import pytest

import mbcost
from mbcost.errors import MbcostError, SpecError
from mbcost.core.network import Network

ALL = "conv,fc,bn,pool,act"


def rows(text: str, **settings):
    return mbcost.analyze(Network.from_text(text), **settings).layers


# -- the kinds ------------------------------------------------------------------------

def test_squeeze_excite_by_hand():
    # MobileNetV3's first SE: 72 channels, squeeze _make_divisible(72 // 4 = 18, 8) = 24
    # (16 would be below 90% of 18), ReLU, expand, hard-sigmoid gate
    (se,) = rows("input 28x28x72\nse reduce=4 divisor=8 gate=hsigmoid\n")
    assert se.mult_adds == 72 * 24 + 24 * 72 == 3456  # the two 1x1 convs on a 1x1 map
    assert (se.weights, se.biases, se.norm) == (2 * 72 * 24, 24 + 72, 0)
    assert se.output == se.input
    (counted,) = rows("input 28x28x72\nse reduce=4 divisor=8 gate=hsigmoid\n", count=ALL)
    # + the global pool (28·28·72 additions) + ReLU on 24 and the gate on 72; the multiply: never
    assert counted.mult_adds == 3456 + 28 * 28 * 72 + 24 + 72
    # EfficientNet's: squeeze c_in // 4 of the block's input, written reduce=4t after an expansion by t
    (b0_se,) = rows("input 56x56x144\nse reduce=24 act=silu\n")  # t = 6, c_in = 24: 24 // 4 = 6
    assert b0_se.filter == "SE 144 → 6 → 144" and b0_se.weights == 2 * 144 * 6


@pytest.mark.parametrize("kind", ["hswish", "hsigmoid", "silu", "swish", "sigmoid"])
def test_activations_free_by_default_one_per_element_under_act(kind):
    (free,) = rows(f"input 7x5x3\n{kind}\n")
    (counted,) = rows(f"input 7x5x3\n{kind}\n", count=ALL)
    assert (free.mult_adds, counted.mult_adds) == (0, 7 * 5 * 3)
    (conv,) = rows(f"input 7x5x3\nconv 1x1x3x4 +bn +{kind}\n", count=ALL)
    assert conv.mult_adds == 7 * 5 * 3 * 4 + 2 * (7 * 5 * 4)  # conv, batch norm, the activation


def test_shuffle_and_split_cost_nothing_and_move_channels():
    text = ("input 8x8x6\nshuffle groups=3\nconcat {\n  branch { split parts=3 take=1 }\n"
            "  branch { split parts=3 take=3 }\n}\n")
    layers = rows(text, count=ALL)
    assert all(r.mult_adds == 0 and r.params == 0 for r in layers)
    assert [r.output.c for r in layers] == [6, 2, 2, 4]
    assert [r.filter for r in layers[1:3]] == ["channels 0:2", "channels 4:6"]


def test_channel_shuffle_permutes_as_shufflenet_defines_it():
    torch = pytest.importorskip("torch")
    from mbcost.adapters.torch_modules import build_module

    net = Network.from_text("input 1x1x6\nshuffle groups=2\n")
    module = build_module(net.evaluate(), "cpu")
    x = torch.arange(6.0).reshape(1, 6, 1, 1)
    # C = 2·3: output channel j·2 + g is input channel g·3 + j
    assert module(x).flatten().tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]


@pytest.mark.parametrize("text,message", [
    ("input 8x8x4\nse reduce=8\n", "rounds to 0 channels"),
    ("input 8x8x5\nsplit parts=2 take=1\n", "split parts=2 does not divide its 5 input channels"),
    ("input 8x8x6\nshuffle groups=4\n", "shuffle groups=4 does not divide its 6 input channels"),
    ("input 8x8x6\nsplit parts=2 take=3\n", "there are only 2 parts"),
    ("input 8x8x6\nse\n", "needs its squeeze rule"),
    ("input 8x8x6\nse reduce=2 gate=tanh\n", "gate= is one of sigmoid, hsigmoid"),
    ("input 8x8x6\nadd {\n  branch { relu }\n  branch { conv 1x1x6x3 }\n}\n", "added branches need identical shapes"),
    ("input 8x8x6\nshuffle groups=" + "9" * 5000 + "\n", "a number of 5,000 digits; at most 400"),
    ("input 8x8x6\nconv 1x1x6x6 groups=" + "9" * 5000 + "\n", "a number of 5,000 digits; at most 400"),
])
def test_bad_new_kinds_say_what_and_where(text, message):
    with pytest.raises(SpecError, match=message) as info:
        Network.from_text(text)
    assert info.value.line is not None


def test_bad_input_on_the_command_line(cli, tmp_path):
    spec = tmp_path / "bad.spec"
    spec.write_text("input 8x8x4\nse reduce=8\n")
    for args, message in ((("table", str(spec)), "bad.spec:2:4: layer se1: its squeeze width"),
                          (("table", "efficientnet_b0", "--depth-mult", "0"), "depth multiplier must be positive"),
                          (("table", "efficientnet_b0", "--depth-mult", "-1"), "depth multiplier must be positive"),
                          (("table", "mobilenet_v1", "--depth-mult", "2"), "no 'stage N { ... }' to deepen"),
                          (("table", "efficientnet_b2", "--alpha", "0.5"), "give efficientnet_b0 --alpha")):
        res = cli(*args)
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert res.stderr.startswith("mbcost: error: ") and message in res.stderr.splitlines()[0], res.stderr


# -- stages and the depth multiplier --------------------------------------------------

def test_stage_is_first_block_then_the_rest():
    text = "input 8x8x4\nstage 3 {\n  conv 1x1x4x8\n  conv 1x1x8x8\n}\n"
    assert [(r.input.c, r.output.c) for r in rows(text)] == [(4, 8), (8, 8), (8, 8)]
    # ceil(D·3): 1.1 -> 4, 0.5 -> 2, 0.1 -> 1 (never fewer than one block)
    for depth, n in ((1.1, 4), (0.5, 2), (0.1, 1), (2, 6)):
        assert len(rows(text, depth_mult=depth)) == n


def _r8(v: float) -> int:
    """torchvision's _make_divisible(v, 8), written out."""
    new = max(8, int(v + 4) // 8 * 8)
    return new + 8 if new < 0.9 * v else new


def efficientnet_oracle(width: float, depth: float, res: int) -> tuple[int, int]:
    """Mult-Adds (conv + fc) and every parameter of EfficientNet from Table 1 of
    the paper and torchvision's rules (channels _make_divisible(c·w, 8), ceil(n·d)
    layers, SE squeeze max(1, c_in // 4), head 4 x the last channels), with
    PyTorch's k // 2 padding: a stride-2 layer halves H rounding up."""
    stages = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
              (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]
    h = math.ceil(res / 2)
    c = _r8(32 * width)
    macs, params = 27 * c * h * h, 27 * c + 2 * c
    for t, k, s, _, out, n in stages:
        out = _r8(out * width)
        for i in range(math.ceil(n * depth)):
            e = c * t
            if t != 1:
                macs += c * e * h * h
                params += c * e + 2 * e
            h2 = math.ceil(h / 2) if (s == 2 and i == 0) else h
            macs += k * k * e * h2 * h2
            params += k * k * e + 2 * e
            sq = max(1, c // 4)
            macs += 2 * e * sq
            params += 2 * e * sq + sq + e
            macs += e * out * h2 * h2
            params += e * out + 2 * out
            h, c = h2, out
    head = 4 * c
    macs += c * head * h * h + head * 1000
    params += c * head + 2 * head + head * 1000 + 1000
    return macs, params


@pytest.mark.parametrize("name,width,depth,res", [
    ("efficientnet_b0", 1.0, 1.0, 224), ("efficientnet_b1", 1.0, 1.1, 240), ("efficientnet_b2", 1.1, 1.2, 260),
    ("efficientnet_b4", 1.4, 1.8, 380), ("efficientnet_b7", 2.0, 3.1, 600)])
def test_depth_multiplier_is_exact(name, width, depth, res):
    macs, params = efficientnet_oracle(width, depth, res)
    by_flags = mbcost.analyze("efficientnet_b0", alpha=width, depth_mult=depth, resolution=res, params="all")
    preset = mbcost.analyze(name, params="all")
    assert by_flags.total.mult_adds == preset.total.mult_adds == macs
    assert by_flags.total.params == preset.total.params == params


def test_b1_is_b0_with_one_more_block_in_each_stage_but_the_fourth():
    # ceil(1.1·n) for n = 1, 2, 2, 3, 3, 4, 1: 2, 3, 3, 4, 4, 5, 2 -- one more block in every stage
    b0 = [r.name for r in mbcost.analyze("efficientnet_b0").layers if r.name.endswith(".add1")]
    b1 = [r.name for r in mbcost.analyze("efficientnet_b1").layers if r.name.endswith(".add1")]
    # residual blocks: sum(n - 1) = 9 in B0, sum(ceil(1.1·n) - 1) = 16 in B1
    assert (len(b0), len(b1)) == (9, 16)


# -- one block of each network, by hand ---------------------------------------------------

def _named(model: str) -> dict:
    return {r.name: r for r in mbcost.analyze(model, params="all").layers}


def test_resnet50_first_bottleneck_by_hand():
    r = _named("resnet50")
    # 56x56: 1x1 64->64, 3x3 64->64 (pad 1), 1x1 64->256, shortcut 1x1 64->256, all without bias, with BN
    block = [r["bottleneck_down1.main.conv1"], r["bottleneck_down1.main.conv2"], r["bottleneck_down1.main.conv3"],
             r["bottleneck_down1.shortcut.conv1"]]
    assert [x.mult_adds for x in block] == [56 * 56 * 64 * 64, 56 * 56 * 9 * 64 * 64, 56 * 56 * 64 * 256,
                                            56 * 56 * 64 * 256]
    assert sum(x.params for x in block) == 64 * 64 + 9 * 64 * 64 + 64 * 256 + 64 * 256 + 2 * (64 + 64 + 256 + 256)
    # v1.5: the stride is on the 3x3 of conv3_1: 56 -> 28 there, the first 1x1 stays at 56
    assert r["bottleneck_down2.main.conv1"].output.h == 56 and r["bottleneck_down2.main.conv2"].output.h == 28


def test_mobilenet_v3_large_bneck_with_se_by_hand():
    r = _named("mobilenet_v3_large")
    # bneck 5x5, exp 72, out 40, SE, ReLU, s2 on 56x56x24: 1x1 24->72, 5x5 dw stride 2, SE 72->24->72, 1x1 72->40
    assert r["conv7"].mult_adds == 56 * 56 * 24 * 72
    assert r["dw4"].mult_adds == 28 * 28 * 25 * 72 and r["dw4"].output.h == 28
    assert r["se1"].mult_adds == 2 * 72 * 24 and r["se1"].params == 2 * 72 * 24 + 24 + 72
    assert r["conv8"].mult_adds == 28 * 28 * 72 * 40


def test_shufflenet_v2_units_by_hand():
    r = _named("shufflenet_v2_x1_0")
    # stride-2 unit 24 -> 116 at 56x56: left dw 3x3 s2 + 1x1 24->58; right 1x1 24->58 at 56, dw s2, 1x1 58->58
    left = r["unit_down1.left.dw1"].mult_adds + r["unit_down1.left.conv1"].mult_adds
    right = sum(r[f"unit_down1.right.{n}"].mult_adds for n in ("conv1", "dw1", "conv2"))
    assert left == 28 * 28 * 9 * 24 + 28 * 28 * 24 * 58
    assert right == 56 * 56 * 24 * 58 + 28 * 28 * 9 * 58 + 28 * 28 * 58 * 58
    # stride-1 unit: half (58 channels) passes through the split; the other half is convolved
    assert r["unit1.left.split1"].output.c == r["unit1.right.split1"].output.c == 58
    assert r["unit1.concat1"].output.c == 116 and r["unit1.shuffle1"].mult_adds == 0


def test_mnasnet_width_presets_keep_the_last_1280():
    for name, first in (("mnasnet0_5", 16), ("mnasnet0_75", 24), ("mnasnet1_3", 40)):
        layers = mbcost.analyze(name).layers
        assert layers[0].output.c == first  # _round_to_multiple_of(32·alpha, 8)
        assert [x for x in layers if x.kind == "conv"][-1].output.c == 1280  # 'fixed'


def test_presets_are_reachable_from_their_base_and_refuse_other_widths():
    b2 = mbcost.analyze("efficientnet_b2")
    assert (b2.input.h, b2.input.c) == (260, 3)
    assert b2.total.mult_adds == mbcost.analyze("efficientnet_b0", alpha=1.1, depth_mult=1.2,
                                                resolution=260).total.mult_adds
    assert mbcost.analyze("efficientnet_b2", resolution=288).input.h == 288  # torchvision's eval crop
    with pytest.raises(MbcostError, match="efficientnet_b0 --alpha/--depth-mult"):
        mbcost.analyze("efficientnet_b2", alpha=0.5)


def test_sweep_third_axis_equals_analyze(cli):
    res = cli("sweep", "efficientnet_b0", "--alpha", "1,1.2", "--res", "224,300", "--depth-mult", "1,1.4", "-f", "json")
    assert res.returncode == 0, res.stderr
    import json

    data = json.loads(res.stdout)
    assert data["depth_mults"] == [1.4, 1]
    for block in data["sweeps"]:
        for row in block["rows"]:
            a = mbcost.analyze("efficientnet_b0", alpha=row["alpha"], resolution=row["resolution"],
                               depth_mult=block["depth_mult"])
            assert (row["mult_adds"], row["params"]) == (a.total.mult_adds, a.total.params)
    b3 = next(r for r in data["sweeps"][0]["rows"] if (r["alpha"], r["resolution"]) == (1.2, 300))
    assert b3["mult_adds"] == mbcost.analyze("efficientnet_b3").total.mult_adds  # B3 = (1.2, 1.4, 300)
    text = cli("sweep", "efficientnet_b0", "--alpha", "1", "--res", "224", "--depth-mult", "1,2").stdout
    assert "sweep of 2 configurations (2 depth multipliers × 1 alpha × 1 resolution)" in text


FAMILY = ["mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_b0", "mnasnet1_0", "shufflenet_v2_x0_5",
          "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "resnet18", "resnet34", "resnet50",
          "resnet101", "resnet152"]
PRESETS = ["efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5",
           "efficientnet_b6", "efficientnet_b7", "mnasnet0_5", "mnasnet0_75", "mnasnet1_3"]


@pytest.mark.parametrize("name", FAMILY + PRESETS)
def test_three_way_check_passes_on_the_family_at_three_settings(name):
    """symbolic = fvcore = FlopCounterMode, parameters and shapes, on every new network: at its default, and
    (the bases) at alpha 0.75 x 192 and alpha 1.3 x 256 with every operation counted, and deepened.
    One network per test, so that parallel workers share them out."""
    pytest.importorskip("fvcore")
    from mbcost.attachments.check import check

    result = check([name])
    assert result.ok, result.failure_message()
    if name in FAMILY:
        result = check([name], alphas=["0.75", "1.3"], resolutions=[192, 256], count=ALL)
        assert result.ok, result.failure_message()
    if name in ("efficientnet_b0", "resnet50", "shufflenet_v2_x1_0"):
        result = check([name], depth_mult="1.5")
        assert result.ok, result.failure_message()
