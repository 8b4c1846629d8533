"""The symbolic path never imports the heavy libraries."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "fvcore", "matplotlib", "pandas", "onnx")

SCRIPT = """
import sys, io, contextlib
from mbcost.cli import main
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    code = main({args!r})
assert code == 0, code
print(" ".join(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize("args", [
    ["table", "--alpha", "0.5", "--res", "160"],
    ["table", "--format", "json"],
    ["table", "--format", "csv", "--by-type"],
    ["layer", "--k", "3", "--m", "64", "--n", "128", "--df", "112"],
    ["models"],
    ["roofline", "mobilenet_v1", "mobilenet_v4_hybrid_medium", "--format", "json"],
])
def test_symbolic_commands_import_no_heavy_library(args):
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(args=args, heavy=HEAVY)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_to_frame_imports_pandas_only_when_asked():
    pd = pytest.importorskip("pandas")
    import mbcost

    frame = mbcost.analyze("mobilenet_v1").to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert int(frame["mult_adds"].sum()) == mbcost.analyze("mobilenet_v1").total.mult_adds
    assert list(frame["name"])[:3] == ["conv1", "dw1", "conv2"]
