"""Property (issue 9, bounded work): deeply nested, hugely repeated or hugely
sized specs give a result or the project's own error, within a time and memory
bound, never another exception."""

from __future__ import annotations


from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzz_cases
from mbcost import analyze
from mbcost.errors import MbcostError
from mbcost.core.network import Network

# A bound that catches a blow-up (an expansion that runs for minutes), not a speed test: the largest accepted
# network (20,000 rows) takes 5-10 s here under tracemalloc, more on a loaded machine (benchmarks/RESULTS.md).
SECONDS = 30.0
PEAK_BYTES = 400 * 2**20

OPEN = st.sampled_from(["residual {", "concat {\nbranch {", "2x {", "1000x {", "999x {"])
CLOSE = {"residual {": "}", "concat {\nbranch {": "}\n}", "2x {": "}", "1000x {": "}", "999x {": "}"}
NUMBERS = st.one_of(st.integers(1, 64), st.integers(10**15, 10**20), st.integers(10**300, 10**400))
LEAF = st.one_of(
    st.just("relu"),
    NUMBERS.map(lambda n: f"conv 1x1x?x{n}"),
    NUMBERS.map(lambda n: f"dw 3x3x? mult={n % 5 + 1}"),
    st.sampled_from(["maxpool / s2 2x2", "bn", "gap", "adaptive avgpool 2x2"]),
)


@st.composite
def nested_specs(draw):
    depth = draw(st.integers(0, 300))
    opens = [draw(OPEN) for _ in range(depth)]
    body = "\n".join(draw(st.lists(LEAF, min_size=1, max_size=3)))
    side = draw(st.one_of(st.integers(1, 64), st.integers(10**8, 10**12)))
    text = f"input {side}x{side}x{draw(NUMBERS)}\n" + "\n".join(opens) + "\n" + body + "\n"
    return text + "\n".join(CLOSE[o] for o in reversed(opens)) + "\n"


@st.composite
def block_chains(draw):
    n = draw(st.integers(1, 40))
    counts = [draw(st.integers(1, 1000)) for _ in range(n)]
    lines = ["input 8x8x4"]
    for i, count in enumerate(counts):
        inner = f"b{i + 1}()" if i + 1 < n else draw(LEAF)
        lines.append(f"block b{i}() {{\n{count}x {{\n{inner}\n}}\n}}")
    return "\n".join(lines + ["b0()"]) + "\n"


def bounded(text: str) -> None:
    with fuzz_cases.bounded(SECONDS, PEAK_BYTES):
        try:
            net = Network.from_text(text, source="bound.spec")
            analyze(net, count="conv,fc,bn,pool,act", params="all")
            analyze(net, alpha="0.5", resolution=7)
        except MbcostError:
            pass


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(nested_specs())
def test_deep_nesting_big_repeats_and_huge_numbers_are_bounded(text):
    bounded(text)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(block_chains())
def test_chains_of_block_calls_are_bounded(text):
    bounded(text)


def test_the_largest_accepted_network_is_analysed_in_bounded_memory():
    from mbcost.core.network import MAX_LAYERS

    per = MAX_LAYERS // 1000
    text = "input 8x8x4\n1000x {\n" + "relu\n" * per + "}\n"
    bounded(text)
    too_big = "input 8x8x4\n1000x {\n" + "relu\n" * (per + 1) + "}\n"
    try:
        Network.from_text(too_big)
    except MbcostError as exc:
        assert f"at most {MAX_LAYERS:,}" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("not refused")
