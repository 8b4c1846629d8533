from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

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
