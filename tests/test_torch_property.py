"""Property: for random valid networks written as spec text (kernel sizes
including rectangular ones, strides, padding modes, groups including depthwise,
channel counts, input sizes, alpha, post ops, pools, the mobile family's
squeeze-and-excitation, hard-swish/hard-sigmoid/SiLU/sigmoid, channel shuffle,
channel split and summed branches, an FC after a global pool),
every layer's Mult-Adds agree three ways -- symbolic, fvcore, FlopCounterMode --
and every layer's parameters equal the torch module's.

The oracles are the independent counters: fvcore with its own default handles
and PyTorch's FlopCounterMode, run here directly on the built module, besides
``check_network`` (which also compares every row)."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mbcost.adapters.torch_modules import build_module, input_tensor, materialize  # noqa: E402
from mbcost.attachments.check import check_network  # noqa: E402
from mbcost.core.network import Config, Network  # noqa: E402

QUARTERS = [Fraction(1), Fraction(3, 4), Fraction(1, 2), Fraction(1, 4)]
OTHER_ALPHAS = [Fraction(3, 10), Fraction(6, 10), Fraction(13, 10), Fraction(3, 2)]
COUNTS = ["conv,fc", "conv,fc", "conv,fc,bn", "conv,fc,bn,pool,act", "conv,pool", "fc,act"]


def out_len(size: int, k: int, s: int, pad, dil: int = 1, ceil: bool = False) -> int | None:
    """Output length of one axis (the spec-format rules, written out here)."""
    span = (k - 1) * dil + 1
    if pad == "same":
        return -(-size // s)
    p = 0 if pad == "valid" else pad
    if size + 2 * p < span:
        return None
    if ceil:
        out = -(-(size + 2 * p - span) // s) + 1
        if (out - 1) * s >= size + p:
            out -= 1
        return out
    return (size + 2 * p - span) // s + 1


@st.composite
def networks(draw):
    alpha = draw(st.sampled_from(QUARTERS) | st.sampled_from(OTHER_ALPHAS))

    def scale(c: int) -> int:
        return math.floor(alpha * c)

    h, w = draw(st.integers(3, 40)), draw(st.integers(3, 40))
    c = draw(st.sampled_from([1, 3, 4, 8]))
    lines = [f"input {h}x{w}x{c}"]
    nom, real = c, c  # channels as written (alpha 1) and at alpha

    def padding():
        choice = draw(st.sampled_from(["same", "valid", "n", "hxw"]))
        if choice == "n":
            p = draw(st.integers(0, 2))
            return f"pad={p}", (p, p)
        if choice == "hxw":
            ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
            return f"pad={ph}x{pw}", (ph, pw)
        return f"pad={choice}", (choice, choice)

    def post():
        ops = draw(st.sampled_from(["", "+bn", "+relu", "+bn +relu", "+bn +relu6", "+relu6", "+bn +hswish",
                                    "+silu", "+bn +hsigmoid", "+sigmoid"]))
        return f" {ops}" if ops else ""

    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["conv", "conv", "dw", "pw", "group", "pool", "pool", "elementwise", "se",
                                     "shuffle", "split", "sum"]))
        sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        stride = f"s{sh}" if sh == sw else f"s{sh}x{sw}"
        if kind == "elementwise":
            lines.append(draw(st.sampled_from(["bn", "relu", "relu6", "dropout p=0.1", "hswish", "hsigmoid",
                                               "silu", "sigmoid"])))
            continue
        if kind == "se":  # S = C // R (at this width), rounded to a multiple of D where given
            reduce = draw(st.sampled_from([1, 2, 4]))
            if real // reduce == 0:
                continue
            divisor = draw(st.sampled_from(["", " divisor=4", " divisor=8"]))
            gate = draw(st.sampled_from(["", " gate=hsigmoid"]))
            act = draw(st.sampled_from(["", " act=silu", " act=hswish"]))
            lines.append(f"se reduce={reduce}{divisor}{gate}{act}")
            continue
        if kind == "shuffle":
            options = [g for g in (2, 3, 4) if nom % g == 0 and real % g == 0]
            if options:
                lines.append(f"shuffle groups={draw(st.sampled_from(options))}")
            continue
        if kind == "split":  # ShuffleNetV2's split: two halves, one through an activation, joined again
            if nom % 2 == 0 and real % 2 == 0:
                lines += ["concat {", "  branch { split parts=2 take=1 }", "  branch {", "    split parts=2 take=2",
                          "    hswish", "  }", "}"]
            continue
        if kind == "sum":  # summed branches of one shape
            lines += ["add {", "  branch { relu6 }", "  branch { sigmoid }", "}"]
            continue
        kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
        text, (ph, pw) = padding()
        if kind == "pool":
            ceil = draw(st.booleans()) and ph != "same"  # padding over half the window is allowed
            ho, wo = out_len(h, kh, sh, ph, ceil=ceil), out_len(w, kw, sw, pw, ceil=ceil)
            if not ho or not wo:
                continue
            mode = draw(st.sampled_from(["maxpool", "avgpool"]))
            lines.append(f"{mode} / {stride} {kh}x{kw} {text}" + (" ceil=yes" if ceil else ""))
            h, w = ho, wo
            continue
        dil = draw(st.sampled_from([1, 1, 1, 2])) if kind in ("conv", "group") else 1
        if kind == "pw":
            kh = kw = 1
        ho, wo = out_len(h, kh, sh, ph, dil), out_len(w, kw, sw, pw, dil)
        if not ho or not wo:
            continue
        extra = f" dil={dil}" if dil > 1 else ""
        if kind == "dw":
            mult = draw(st.sampled_from([1, 1, 2]))
            extra += f" mult={mult}" if mult > 1 else ""
            lines.append(f"dw / {stride} {kh}x{kw}x{nom} {text}{extra}{post()}")
            nom, real = nom * mult, real * mult
        else:
            groups = 1
            if kind == "group":
                options = [g for g in (2, 3, 4) if nom % g == 0 and real % g == 0]
                groups = draw(st.sampled_from(options)) if options else 1
            candidates = [n for n in range(groups, 49, groups) if scale(n) > 0 and scale(n) % groups == 0]
            if not candidates:
                groups, candidates = 1, [n for n in range(1, 49) if scale(n) > 0]
            n = draw(st.sampled_from(candidates))
            extra += f" groups={groups}" if groups > 1 else ""
            if kind == "pw":
                lines.append(f"pw / {stride} {nom}x{n} {text}{extra}{post()}")
            else:
                lines.append(f"conv / {stride} {kh}x{kw}x{nom}x{n} {text}{extra}{post()}")
            nom, real = n, scale(n)
        h, w = ho, wo
    head = draw(st.sampled_from(["none", "gap", "global", "gmp", "flatten"]))
    if head != "none" and (head != "flatten" or h * w * nom <= 512):
        lines.append({"gap": "gap", "gmp": "gmp", "global": f"avgpool {h}x{w} global",
                      "flatten": "flatten"}[head])
        m = nom if head != "flatten" else h * w * nom
        classes = draw(st.integers(1, 20))
        lines.append(f"fc {m}x{classes}{post()}")
        if draw(st.booleans()):
            lines.append("softmax")
    count = draw(st.sampled_from(COUNTS))
    return "\n".join(lines) + "\n", alpha, count


def plain_fvcore(module, x):
    """fvcore with nothing but its default handles: conv and linear Mult-Adds."""
    from fvcore.nn import FlopCountAnalysis

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = FlopCountAnalysis(module, (x,))
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        ops = analysis.by_operator()
    return ops.get("conv", 0), ops.get("linear", 0) + ops.get("addmm", 0)


@settings(max_examples=120, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(networks())
def test_symbolic_equals_fvcore_equals_flop_counter(case):
    from torch.utils.flop_counter import FlopCounterMode

    text, alpha, count = case
    net = Network.from_text(text, source="prop.spec")
    config = Config.make(alpha=alpha, count=count)
    result = check_network(net, config)
    for row in result.layers:
        assert row.fvcore == row.symbolic, (text, row.name)
        if row.flop_counter is not None:
            assert row.flop_counter == row.symbolic, (text, row.name)
        assert row.params == row.torch_params, (text, row.name)
        assert row.torch_output == row.output, (text, row.name)

    # the two counters on their own: fvcore's default handles, FlopCounterMode's FLOPs / 2
    instances = net.evaluate(config)
    conv = sum(p.mult_adds for i in instances for p in i.parts(frozenset({"conv"})))
    fc = sum(p.mult_adds for i in instances for p in i.parts(frozenset({"fc"})))
    module = build_module(instances)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(input_tensor(instances))
    assert counter.get_total_flops() == 2 * (conv + fc), text
    materialize(module)
    assert plain_fvcore(module, input_tensor(instances, "cpu")) == (conv, fc), text
    # parameters: the module's own, straight from its convolutions and linear layers
    weights = sum(m.weight.numel() for m in module.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    assert weights == sum(r.params.weights for r in result.layers), text
