"""The README shows what the commands print: each ``$ mbcost ...`` console block
is the command's output today (piped, plain text)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```console\n\$ (mbcost [^\n]*)\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_main_command_output_follows_the_setup_commands():
    text = README.read_text(encoding="utf-8")
    setup = text.index("<!-- test-command -->")
    shown = text.index("<!-- main-output -->")
    image = text.index("](docs/img/tradeoff.png)")
    assert setup < shown < image < text.index("## Commands")
    assert BLOCKS and BLOCKS[0][0] == "mbcost table --alpha 0.5 --res 160"
    assert (README.parent / "docs/img/tradeoff.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("command,shown", BLOCKS, ids=[b[0] for b in BLOCKS])
def test_console_blocks_are_true(cli, command, shown):
    res = cli(*shlex.split(command)[1:])
    assert res.returncode == 0, res.stderr
    assert res.stdout == shown
