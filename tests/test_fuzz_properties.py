"""Issue 22, grammar-aware properties: any spec the grammar (and a fuzzer's
mutations) can write, and any symbolic command line, gives a result or one
clean error, each case within a time and memory bound. The generators are
tests/fuzz_cases.py, shared with benchmarks/fuzz.py (which runs thousands)."""

from __future__ import annotations

import contextlib
import io
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzz_cases
from mbcost.cli import main
from mbcost.errors import MbcostError

# Bounds that catch a blow-up (minutes, gigabytes), not speed: a case takes milliseconds to a second here.
SECONDS = 20.0
PEAK_BYTES = 300 * 2**20


def bounded():
    return fuzz_cases.bounded(SECONDS, PEAK_BYTES)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_any_grammar_spec_is_answered_or_refused_in_one_line(seed):
    from mbcost import analyze
    from mbcost.attachments.memory import memory
    from mbcost.core.network import Network
    from mbcost.documents.render import render_text
    from mbcost.documents.views import cost_document

    text = fuzz_cases.spec(random.Random(seed))
    with bounded():
        try:
            analysis = analyze(Network.from_text(text, source="fuzz.spec"), count="conv,fc,bn,pool,act",
                               params="all")
            doc = cost_document(analysis, memory=memory(analysis))
            for fmt in ("csv", "json"):
                assert render_text(doc, fmt, False)
        except MbcostError as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 1000, str(exc)[:200]


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_any_symbolic_command_line_is_answered_or_one_line(seed):
    args = fuzz_cases.cli_args(random.Random(seed))
    out, err = io.StringIO(), io.StringIO()
    with bounded(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    assert code in (0, 1, 2), args
    if code == 2:  # one line; a spec's error may quote its source line under it, with a caret (as a compiler does)
        lines = err.getvalue().splitlines()
        assert lines[0].startswith("mbcost: error: "), err.getvalue()
        assert len(lines) == 1 or len(lines) == 3 and set(lines[2].strip()) == {"^"}, err.getvalue()
