from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

# One intra-op thread for torch (and onnxruntime's OpenMP), here and in every CLI
# subprocess (the environment is inherited): the tests count and build small
# networks, where a thread pool only spins; with pytest-xdist's workers sharing two
# cores, torch's default pool made the CPU passes 5 to 20 times slower. Set before
# torch is imported; a value already set is kept.
os.environ.setdefault("OMP_NUM_THREADS", "1")
if "torch" in sys.modules:  # pragma: no cover - imported by a plugin before this file
    sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = ROOT / "tables" / "published"
DATA = Path(__file__).resolve().parent / "data"


def published(name: str) -> list[dict]:
    """Rows of a published-results CSV (tables/published/NAME.csv), as printed."""
    with open(PUBLISHED / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# The paper's Table 1, transcribed independently of tables/mobilenet_v1.spec and
# of the parser: (stride of the depthwise layer, input channels, output channels)
# for each depthwise separable block after the first full convolution.
TABLE1_BLOCKS = [(1, 32, 64), (2, 64, 128), (1, 128, 128), (2, 128, 256), (1, 256, 256), (2, 256, 512)] + [
    (1, 512, 512)
] * 5 + [(2, 512, 1024), (1, 1024, 1024)]


def mobilenet_oracle(alpha=1, res=224, classes=1000):
    """Mult-Adds and weights of MobileNet v1 from the paper's formulas alone:
    conv D_K²·M·N·D_F², dw D_K²·M·D_F², pw M·N·D_F², FC M·N (TF 'same' padding:
    a stride-2 layer halves the side, rounding up)."""
    a = Fraction(str(alpha))

    def ch(c):
        return math.floor(a * c)

    side = -(-res // 2)
    mult_adds = 3 * 3 * 3 * ch(32) * side * side
    weights = 3 * 3 * 3 * ch(32)
    for stride, m, n in TABLE1_BLOCKS:
        side = -(-side // stride)
        mult_adds += 3 * 3 * ch(m) * side * side + ch(m) * ch(n) * side * side
        weights += 3 * 3 * ch(m) + ch(m) * ch(n)
    mult_adds += ch(1024) * classes
    weights += ch(1024) * classes
    return mult_adds, weights


def mobilenet_roofline_oracle(alpha=1, res=224, ridge=0, bytes_per_element=1, classes=1000):
    """MobileNet v1's roofline cost Σ max(MACs, RP·bytes) from Table 1 alone, each
    costed row's bytes written from the definition: (weights + biases + input +
    output elements) × bytes per element. Batch norm is folded (its parameters
    move nothing, and a conv followed by batch norm has no bias); the average
    pool and the softmax have neither Mult-Adds (conv + fc counted) nor weights,
    so they are not costed; the FC layer has N biases."""
    a = Fraction(str(alpha))

    def ch(c):
        return math.floor(a * c)

    rows = []  # (MACs, elements moved)
    side = -(-res // 2)
    rows.append((27 * ch(32) * side * side, 27 * ch(32) + res * res * 3 + side * side * ch(32)))
    for stride, m, n in TABLE1_BLOCKS:
        before, side = side, -(-side // stride)
        rows.append((9 * ch(m) * side * side, 9 * ch(m) + before * before * ch(m) + side * side * ch(m)))
        rows.append((ch(m) * ch(n) * side * side, ch(m) * ch(n) + side * side * (ch(m) + ch(n))))
    rows.append((ch(1024) * classes, ch(1024) * classes + classes + ch(1024) + classes))
    return sum(max(Fraction(macs), Fraction(ridge) * elements * bytes_per_element) for macs, elements in rows)


def run_cli(*args: str, env: dict | None = None, cwd: str | Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m mbcost ARGS`` in a fresh process (stdout is a pipe)."""
    full_env = dict(os.environ)
    full_env.pop("FORCE_COLOR", None)
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", "mbcost", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=120)


@pytest.fixture
def cli():
    return run_cli


def run_here(*args: str) -> subprocess.CompletedProcess:
    """``mbcost ARGS`` in this process (``mbcost.cli.main``), answered like
    :func:`run_cli`: for tests about what a command prints, not about the process
    (a fresh process costs torch's import, 2 to 3 s of CPU, every time). stdout and
    stderr are pipes as there: not a terminal, so plain text."""
    import contextlib
    import io

    from mbcost.cli import main

    out, err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    texts = []
    for stream in (out, err):
        stream.flush()
        texts.append(stream.buffer.getvalue().decode("utf-8"))
    return subprocess.CompletedProcess(["mbcost", *args], code, texts[0], texts[1])


@pytest.fixture
def cli_here():
    return run_here
