"""Property: any text either parses (and evaluates) or raises the project's spec
error; never another exception."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mbcost import analyze
from mbcost.errors import MbcostError
from mbcost.kinds import KEYWORDS
from mbcost.core.network import Network

# Fragments of the language, so that generated text often gets deep into the parser.
WORDS = sorted(KEYWORDS) + ["input", "model", "classes", "after", "description", "global", "dw", "logits",
                            "s1", "s2", "s2x1", "pad=same", "pad=valid", "pad=1", "pad=1x2", "groups=2",
                            "mult=2", "bias=no", "dil=2", "p=0.5", "ceil=yes", "+bn", "+relu", "@", "{", "}",
                            "/", ":", "5x", "2×", "3x3x8x8", "1x1x8x16", "8x8x3", "3 × 3 × 8 dw", "7x7", "8x10",
                            "0", "-1", "#", "\n", "\n", "\n", "conv dw", "avg pool"]
fragments = st.lists(st.sampled_from(WORDS) | st.text(max_size=4), max_size=30).map(" ".join)
texts = st.one_of(st.text(max_size=200), fragments, fragments.map(lambda t: "input 16x16x8\n" + t))


def check(text: str) -> None:
    try:
        net = Network.from_text(text, source="prop.spec")
        analyze(net, alpha=0.5, resolution=9)
    except MbcostError:
        pass


@settings(max_examples=600, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_any_text_parses_or_raises_spec_error(text):
    check(text)


LAYERS = st.sampled_from([
    "conv 3x3x8x8", "conv / s2 3x3x8x8", "dw 3x3x8", "conv dw / s2 3x3x8 dw", "pw 8x8", "conv 1x5x8x8 pad=valid",
    "conv 3x3x8x8 groups=4", "maxpool / s2 2x2", "avgpool 3x3 pad=1", "relu", "bn", "dropout", "conv 3x3x8x8 +bn +relu",
])


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(LAYERS, min_size=1, max_size=8), st.integers(1, 40), st.sampled_from([0.25, 0.5, 1, 1.4]))
def test_valid_networks_evaluate_or_report_vanishing_maps(layers, side, alpha):
    text = f"input {side}x{side}x8\n" + "\n".join(layers) + "\n"
    try:
        result = analyze(Network.from_text(text), alpha=alpha)
    except MbcostError as exc:
        assert "vanishes" in str(exc) or "groups" in str(exc)
        return
    assert result.total.mult_adds == sum(r.mult_adds for r in result.layers)
    assert all(r.output.h >= 1 and r.output.w >= 1 for r in result.layers)
