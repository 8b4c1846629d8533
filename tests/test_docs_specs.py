"""Every spec example the docs show parses (issue 22): the fenced spec blocks of
docs/ and README.md, and the one-line forms written inline in the text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mbcost.core.network import Network
from mbcost.language.parser import HEADERS, parse_spec

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^```([a-z]*)\n(.*?)^```", re.S | re.M)
#: What a spec's first statement can be (a fenced block that starts otherwise is a
#: shell session, output, JSON or a grammar).
SPEC_START = re.compile(r"^(?:" + "|".join(HEADERS) + r"|block|stage|conv|\d+x)\b")


def spec_blocks():
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            lang, body = match.groups()
            lines = [ln for ln in body.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
            if lang in ("", "spec") and lines and SPEC_START.match(lines[0].strip()):
                line = text[:match.start()].count("\n") + 2
                yield pytest.param(body, id=f"{doc.name}:{line}")


BLOCKS = list(spec_blocks())


def test_the_docs_have_spec_examples():
    assert len(BLOCKS) >= 3  # the MobileNet excerpt, branches and blocks, stages


@pytest.mark.parametrize("body", BLOCKS)
def test_every_fenced_spec_example_parses(body):
    tree = parse_spec(body, "docs")
    if tree.input is not None and "(excerpt)" not in body:
        Network.from_text(body, "docs")  # a whole example: compiled and checked too


def inline_forms():
    text = " ".join((ROOT / "docs" / "spec-format.md").read_text(encoding="utf-8").split())
    return sorted({m for m in re.findall(r"`((?:concat|add) \{[^`]*\})`", text) if "branch" in m})


#: What the docs' "..." stands for, by where it is written (input 4x4x8).
ELLIPSES = [("branch main { ... } branch shortcut { conv", "branch main { conv / s2 1x1x8x8 } branch shortcut { conv"),
            ("{ ... }", "{ relu }"),
            ("branch ...", "branch relu"), (" ... }", "\nrelu }")]


def test_the_inline_one_line_forms_parse():
    forms = inline_forms()
    assert any(f.startswith("add { branch main") for f in forms), forms
    for form in forms:
        if form.startswith("add") and form.count("branch") < 2:
            continue  # 'add { branch ... }' names the construct in a table; an add has two branches
        concrete = form.replace("{cin}", "8").replace("{c}", "8")
        for written, meant in ELLIPSES:
            concrete = concrete.replace(written, meant)
        net = Network.from_text(f"input 4x4x8\n{concrete}\n", "docs")  # parsed, compiled and checked
        assert net.nominal[-1].layer.name in ("add1", "concat1")
