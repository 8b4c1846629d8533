"""What a person sees on a real terminal (a pseudo-terminal made by `script`):
nothing is cut at 80, 100, 120 and 200 columns (issue 11)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a pseudo-terminal")

COMMANDS = [
    "compare vgg16 mobilenet",
    "table --alpha 0.5 --res 160 --formula",
    "table googlenet --memory --formula",
    "paper --table 9",
    "sweep",
    "pick --max-madds 150M",
    "pick --all --max-madds 300M",
    "compare efficientnet",
    "table mobilenet_v3_large",
]


def on_terminal(args: str, columns: int) -> str:
    # The pseudo-terminal's own size decides the width, as for a person at a terminal: a COLUMNS or
    # LINES the test runner inherited (CI sets them) would override it.
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(NO_COLOR="1", PYTHONPATH=os.pathsep.join(sys.path))
    command = f"stty cols {columns} rows 60; {sys.executable} -m mbcost {args}"
    out = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True, text=True, env=env,
                         timeout=120)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.stdout).replace("\r", "")  # what a person reads


@pytest.mark.parametrize("columns", [80, 100, 120, 200])
@pytest.mark.parametrize("args", COMMANDS)
def test_nothing_is_cut(args, columns):
    text = on_terminal(args, columns)
    assert any(w in text for w in ("Total", "Showing", "Configurations", "Table", "Comparison")), text[:500]
    assert "\u2026" not in text  # no ellipsis anywhere
    lines = [line for line in text.splitlines() if line.strip()]
    assert max(len(line.rstrip()) for line in lines) <= columns


@pytest.mark.parametrize("columns", [80, 120])
def test_model_names_stay_whole(columns):
    text = on_terminal("pick --all --max-madds 300M --top 5", columns)
    for name in ("mobilenet_v3_large", "shufflenet_v2_x1_5", "mnasnet0_75"):
        assert name in text


def test_a_narrow_terminal_says_which_columns_it_left_out():
    text = on_terminal("compare vgg16 mobilenet", 80)
    assert "left out to fit 80 columns:" in text and "vgg16" in text and "mobilenet_v1" in text
    assert "left out" not in on_terminal("compare vgg16 mobilenet", 200)
