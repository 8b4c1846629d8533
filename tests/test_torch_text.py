"""Issue 22: a ``--torch`` argument is bounded in length before it is parsed, its
arguments are literals (never run), and every parse failure is one line quoting
at most 100 characters of it."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mbcost.adapters.torch_model import MAX_TARGET_CHARS, parse_target
from mbcost.errors import MbcostError


def quoted_parts(message: str) -> list[str]:
    return re.findall(r"'((?:[^'\\]|\\.)*)'", message)


@pytest.mark.parametrize("text", [
    "m:f(" + "-" * 5000 + "1)",          # RecursionError in the parser before
    "m:f(" + "1+" * 20000 + "1)",        # MemoryError before
    "x" * 100_000,                       # echoed twice, whole, before
    "m:f(" + "-" * 990 + "1)",           # deep, but under the length limit
    "m:f(" + "(" * 900 + ")",
    "m:f(" + "[" * 300 + "]" * 300 + ")",
    "m:f(\x00)", "m:1", "m:", ":f", "m:f(*a)", "m:f(**k)", "m:lambda: 0", "m:f(__import__('os'))",
])
def test_bad_targets_are_one_short_line(text):
    with pytest.raises(MbcostError) as info:
        parse_target(text)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300, message
    assert all(len(q) <= 100 for q in quoted_parts(message)), message


def test_literal_arguments_are_read_not_run():
    assert parse_target("pkg.mod:build(0.5, classes=10, sizes=[1, (2, 3)], name='x')") == (
        "pkg.mod", "build", (0.5, ), {"classes": 10, "sizes": [1, (2, 3)], "name": "x"})
    assert parse_target("file.py:a.b.c") == ("file.py", "a.b.c", (), {})
    with pytest.raises(MbcostError, match=f"longer than {MAX_TARGET_CHARS:,} characters"):
        parse_target("m:f(" + "1," * MAX_TARGET_CHARS + ")")


ATOMS = st.sampled_from(["m", "pkg.mod", "f", "a.b", ":", "(", ")", "[", "]", "{", "}", ",", "=", "-", "+", "*",
                         "**", "1", "0.5", "'s'", "None", "True", "x=", "lambda", "__import__", "\x00", " ", "9" * 50])


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.lists(ATOMS, max_size=60).map("".join))
def test_any_target_text_parses_to_literals_or_one_line(text):
    try:
        where, attr, args, kwargs = parse_target(text)
    except MbcostError as exc:
        assert "\n" not in str(exc) and all(len(q) <= 100 for q in quoted_parts(str(exc)))
        return

    def literal(v):
        if isinstance(v, (list, tuple, set)):
            return all(literal(x) for x in v)
        if isinstance(v, dict):
            return all(literal(k) and literal(x) for k, x in v.items())
        return v is None or isinstance(v, (bool, int, float, complex, str, bytes))

    assert where and attr and literal(args) and literal(kwargs)
