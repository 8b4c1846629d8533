"""Docs that cannot drift: every ``$ mbcost ...`` console block in README.md and
docs/*.md is run, in this process, and its output compared with the block
(plain text, as in a pipe; only runs of spaces and the length of ``---`` rules
are normalised, so a column's width may change but not a word or a number).

A ```python block whose first line is ``# NAME.py`` is a file the doc asks the
reader to write: it is written to a scratch folder, the current folder of that
doc's commands. Commands that need torch are skipped where it is missing.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

from mbcost.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def _blocks(doc: Path) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The doc's (command, output) console blocks and its files (name -> text)."""
    commands, files = [], {}
    for lang, body in FENCE.findall(doc.read_text(encoding="utf-8")):
        first, _, rest = body.partition("\n")
        if lang == "python" and re.fullmatch(r"# [\w.]+\.py", first):
            files[first[2:]] = body
        elif first.startswith("$ mbcost"):
            assert lang == "console", f"{doc.name}: a '$ mbcost' block is fenced ```console: {first}"
            assert "\n$ " not in "\n" + rest, f"{doc.name}: one command per console block: {first}"
            commands.append((first[2:], rest))
    return commands, files


CASES = [(doc, command, shown, files) for doc in DOCS for command, shown, files in
         [(c, s, _blocks(doc)[1]) for c, s in _blocks(doc)[0]]]


def _normal(text: str) -> list[str]:
    lines = []
    for line in text.rstrip("\n").split("\n"):
        line = re.sub(r" {2,}", "  ", line.rstrip())
        lines.append("---" if re.fullmatch(r"[- ]*-[- ]*", line) else line)  # a table's rule
    return lines


def test_the_docs_have_console_examples():
    docs = {doc.name for doc, *_ in CASES}
    assert {"README.md", "checking.md"} <= docs
    assert len(CASES) >= 4


@pytest.mark.parametrize("doc,command,shown,files", CASES,
                         ids=[f"{c[0].name}: {c[1]}" for c in CASES])
def test_console_block_is_what_the_command_prints(doc, command, shown, files, tmp_path, monkeypatch, capsys):
    if "--torch" in command or "--check" in command:
        pytest.importorskip("torch")
        pytest.importorskip("fvcore")
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    try:
        code = main(shlex.split(command)[1:])
    finally:
        for name in files:  # a later doc's file of the same name is its own
            sys.modules.pop(name[:-3], None)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""  # no progress or status in a pipe
    assert _normal(out) == _normal(shown), f"{doc.name}: '{command}' prints something else now"


def test_normalising_keeps_words_and_numbers():
    """The comparison is not blind: a changed number or word still fails it."""
    assert _normal("a    b\n----  --\n") == _normal("a  b\n---------  ------")
    assert _normal("Total  1,319,648") != _normal("Total  1,319,649")
    assert _normal("Conv / s1") != _normal("Conv / s2")
