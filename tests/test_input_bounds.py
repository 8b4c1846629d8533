"""Issue 22: every number is read with a digit limit, every accepted input costs
near-linear work, every refused size is refused before the work: one line with
file:line:col, never a traceback. Expected values are hand-derived."""

from __future__ import annotations

import random

import pytest

from mbcost import analyze
from mbcost.attachments.memory import MAX_LISTED, liveness, memory
from mbcost.core.graph import INPUT, Graph
from mbcost.core.network import MAX_MAP_DIGITS, Network
from mbcost.errors import MbcostError, SpecError
from mbcost.language.lexer import MAX_LINE_CHARS, MAX_SPEC_CHARS
from mbcost.language.parser import parse_spec
from mbcost.numbers import MAX_DIGITS

HUGE = "9" * 4000  # past Python's 4,300-digit conversion limit once doubled; here one past ours


@pytest.mark.parametrize("text,where", [
    (f"input 8x8x3\nconv 1x1x3x{HUGE}\n", (2, 12)),                         # a dimension
    (f"input 8x8x3\n{HUGE}x conv 1x1x3x3\n", (2, 1)),                        # a repeat count
    (f"input 8x8x3\nconv 1x1x3x3 @ {HUGE}\n", (2, 16)),                      # a plain number
    (f"input 8x8x3\nblock b(c) {{ conv 1x1x?x{{c}} }}\nb({HUGE})\n", (3, 3)),  # a call argument
    (f"input 8x8x3\nblock b(c) {{ conv 1x1x?x{{c}} }}\nb(c={HUGE})\n", (3, 5)),
    (f"input 8x8x3\nconv / s{HUGE} 1x1x3x3\n", (2, 9)),                      # a stride
    (f"input 8x8x3\nstage {HUGE} {{ conv 1x1x3x3 }}\n", (2, 7)),             # a stage count
    (f"input {HUGE}x8x3\nconv 1x1x3x3\n", (1, 7)),                           # the input size
    (f"input 8x8x3\nconv 1x1x3x3 groups={HUGE}\n", (2, 21)),                 # an option
    (f"input 8x8x3\nconv 1x1x3x3\n", None),
])
def test_numbers_past_the_digit_limit_are_refused_where_written(text, where):
    if where is None:
        parse_spec(text)
        return
    with pytest.raises(SpecError) as info:
        Network.from_text(text, source="n.spec")
    assert (info.value.line, info.value.col) == where
    assert f"at most {MAX_DIGITS}" in str(info.value)


def test_a_number_of_max_digits_is_read_exactly():
    n = int("9" * MAX_DIGITS)
    a = analyze(Network.from_text(f"input 2x2x3\nconv 1x1x3x{n}\n"))
    assert a.total.mult_adds == 3 * n * 2 * 2


def test_products_that_could_not_be_printed_are_refused_at_the_layer():
    # each dw mult=10^99 multiplies the channels by 10^99: after k layers H·W·C = 64·3·10^(99k),
    # 99k + 3 digits: 1,488 after the 15th, 1,587 after the 16th
    text = "input 8x8x3\n100x { dw 3x3x? mult=1" + "0" * 99 + " pad=1 }\n"
    with pytest.raises(SpecError) as info:
        Network.from_text(text, source="m.spec")
    assert (info.value.line, info.value.col) == (2, 8)
    message = str(info.value)
    assert "layer dw16" in message and "1,587 digits" in message and f"at most {MAX_MAP_DIGITS:,}" in message
    # the renderer's case: N·N of two 399-digit channel counts is printed exactly
    n = int("9" * 399)
    a = analyze(Network.from_text(f"input 1x1x3\nconv 1x1x3x{n}\nconv 1x1x{n}x{n}\n"))
    assert a.total.mult_adds == 3 * n + n * n
    assert len(str(a.total.mult_adds)) == 799  # (10^399 - 1)^2 + 3(10^399 - 1) = 10^798 + 10^399 - 2


def test_a_long_line_is_refused_before_the_rest_is_read():
    text = "input 8x8x3\n" + "conv " * 350_000 + "\n" + "@@@ garbage\n"
    with pytest.raises(SpecError) as info:
        parse_spec(text, "l.spec")
    assert (info.value.line, info.value.col) == (2, MAX_LINE_CHARS + 1)
    assert f"at most {MAX_LINE_CHARS:,}" in str(info.value)


def test_a_spec_past_the_size_limit_is_refused_unread(tmp_path):
    with pytest.raises(SpecError, match=f"at most {MAX_SPEC_CHARS:,}"):
        parse_spec("#\n" * (MAX_SPEC_CHARS // 2 + 1))
    path = tmp_path / "big.spec"
    path.write_bytes(b"#" * (4 * MAX_SPEC_CHARS + 1))
    with pytest.raises(MbcostError, match="this file is larger"):
        Network.from_file(path)


def test_many_post_ops_on_one_line_are_all_kept():
    n = (MAX_LINE_CHARS - 20) // 4
    tree = parse_spec("input 8x8x3\nconv 1x1x3x3" + " +bn" * n + "\n")
    assert tree.body[0].post == ("bn",) * n


def test_the_one_line_block_forms_of_the_docs_parse():
    text = ("input 8x8x16\n"
            "add { branch main { conv 1x1x16x16 } branch shortcut { relu } }\n"
            "concat { branch a { conv 1x1x16x8 } branch b { relu } branch c { conv 1x1x16x4 } }\n")
    a = analyze(Network.from_text(text))
    names = [r.name for r in a.layers]
    assert names == ["main.conv1", "shortcut.relu1", "add1", "a.conv1", "b.relu1", "c.conv1", "concat1"]
    assert a.layers[-1].output.c == 8 + 16 + 4
    # 16·16·64 + 16·8·64 + 16·4·64 Mult-Adds
    assert a.total.mult_adds == 64 * (256 + 128 + 64)
    one = analyze(Network.from_text("input 8x8x16\nadd { branch relu branch conv 1x1x16x16 @ 8x8x16 }\n"))
    assert [r.name for r in one.layers] == ["b1.relu1", "b2.conv1", "add1"]
    with pytest.raises(SpecError) as info:  # a layer after a branch's '}' on the same line is still refused
        parse_spec("input 8x8x16\nconcat { branch a { relu } relu }\n")
    assert info.value.col == 28


def test_a_wide_concat_writes_a_short_filter_text():
    text = "input 4x4x3\nconcat {\n" + "branch conv 1x1x3x3\n" * 20 + "}\n"
    a = analyze(Network.from_text(text))
    assert a.layers[-1].filter == "3 + 3 + 3 + … (20 branches)"
    small = analyze(Network.from_text("input 4x4x3\nconcat {\nbranch relu\nbranch conv 1x1x3x5\n}\n"))
    assert small.layers[-1].filter == "3 + 5"


def _alive_by_definition(sources, step):
    """Tensors t <= step whose last reader (or t itself) is at or after ``step``."""
    last = {t: t for t in range(len(sources))}
    for i, src in enumerate(sources):
        for s in src:
            last[s] = max(last.get(s, i), i)
    return tuple(t for t in [INPUT, *range(step + 1)] if t in last and last[t] >= step)


def test_the_liveness_sweep_equals_the_definition_on_random_dags():
    rng = random.Random(22)
    for _ in range(30):
        n = rng.randint(1, 40)
        sources = [tuple(sorted(set(rng.choices(range(-1, i), k=rng.randint(1, 3))))) for i in range(n)]
        sizes = [rng.randint(1, 100) for _ in range(n)]
        steps = liveness(sources, sizes, 7)
        size = dict(enumerate(sizes), **{"-1": 7})
        for i, step in enumerate(steps):
            want = _alive_by_definition(sources, i)
            assert step.alive == want[:MAX_LISTED] and step.count == len(want)
            assert step.elements == sum(7 if t == INPUT else size[t] for t in want)
            assert Graph(sources).alive(i) == want


def test_a_wide_concat_lists_its_first_alive_tensors_and_counts_all():
    k = MAX_LISTED + 10
    text = "input 2x2x3\nconcat {\n" + "branch relu\n" * k + "}\n"
    a = analyze(Network.from_text(text))
    report = memory(a)
    peak = report.layers[-2]  # the last branch: the input and all k branch outputs alive
    assert peak.alive[:2] == ("input", "b1.relu1")
    assert len(peak.alive) == MAX_LISTED + 1 and peak.alive[-1] == f"… ({k + 1:,} tensors)"
    assert peak.alive_bytes == 4 * 12 * (k + 1)  # every alive tensor counted, listed or not
