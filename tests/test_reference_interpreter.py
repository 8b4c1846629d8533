"""mbcost against the independent reference interpreter (tests/reference_interpreter.py,
written from docs/spec-format.md alone) on 600 random networks, and hand-derived
cases for the reference itself.

A random network is spec TEXT: every spelling of a kind, after-rules, +ops,
residuals, concats, blocks with parameters, repeats, pools, a classifier; at a
random width, resolution, channel rounding and counting convention. Per row, the
name, output shape, Mult-Adds, weights, biases, norm parameters and category
must be equal; a network one rejects, the other must reject too."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
import reference_interpreter as ref

from mbcost import analyze
from mbcost.errors import MbcostError
from mbcost.core.network import Network

DW_SPELLINGS = ["dw 3x3x?", "conv dw 3x3x?", "conv 3x3x? dw", "dwconv 3x3x?", "conv2d 3x3x? dw", "dw 5x5x?"]
AFTER = ["", "after conv dw: bn relu", "after dw: bn relu6", "after conv: bn relu", "after conv dw pw: bn",
         "after pw: relu", "after conv dw: bn relu\nafter dw: none"]


def generate(rng: random.Random) -> tuple[str, ref.Settings]:
    c0, side = rng.choice([3, 8, 16]), rng.choice([16, 24, 32, 33])
    lines = [f"input {side}x{side}x{c0}"]
    if rng.random() < 0.25:
        lines.append("width divisor=8")
    lines += [x for x in rng.choice(AFTER).split("\n") if x]
    if rng.random() < 0.5:
        lines.append("block sep(c, s) {\n  dw 3x3x? stride={s}\n  conv 1x1x?x{c}\n}")
    has_block = any(x.startswith("block sep") for x in lines)
    channels = rng.choice([8, 16, 24])
    lines.append(f"stem: conv / s2 3x3x{c0}x{channels}" + rng.choice(["", " +bn +relu", " +relu6", " bias=no"]))
    known = True  # whether `channels` (declared) is what the last layer makes at any alpha
    for _ in range(rng.randint(1, 7)):
        pick = rng.random()
        if pick < 0.18:
            n = rng.choice([8, 12, 16, 32])
            k = rng.choice(["1x1", "3x3", "1x3", "5x5"])
            extra = rng.choice(["", " s2", " stride=2", " pad=valid", " pad=1", " groups=2", " dil=2", " +bn",
                                " noshrink"])
            lines.append(f"conv {k}x?x{n}{extra}")
            channels, known = n, True
        elif pick < 0.34:
            lines.append(rng.choice(DW_SPELLINGS) + rng.choice(["", " s2", " mult=2", " +bn +relu", " pad=valid"]))
            if "mult=2" in lines[-1]:
                known = False
        elif pick < 0.44:
            n = rng.choice([8, 16, 24])
            lines.append(f"pw ?x{n}" + rng.choice(["", " +bn", " groups=2"]))
            channels, known = n, True
        elif pick < 0.52:
            lines.append(rng.choice(["maxpool / s2 2x2", "avgpool 3x3 pad=1", "maxpool / s2 3x3 ceil=yes",
                                     "adaptive avgpool 4x4", "adaptive maxpool 3x5", "relu", "bn", "relu6",
                                     "dropout p=0.2"]))
        elif pick < 0.64 and known:
            e = rng.choice([16, 32])
            lines.append(rng.choice(["", "res: "]) + "residual {\n  conv 1x1x?x%d +bn +relu\n  dw 3x3x?\n"
                         "  conv 1x1x?x%d +bn\n}" % (e, channels))
        elif pick < 0.76:
            a, b = rng.choice([8, 16]), rng.choice([8, 24])
            lines.append("concat {\n  branch left { conv 1x1x?x%d }\n  branch {\n    maxpool / s1 3x3 pad=1\n"
                         "    conv 1x1x?x%d\n  }\n}" % (a, b))
            known = False
        elif pick < 0.86 and has_block:
            n = rng.choice([8, 16])
            lines.append(rng.choice(["", "2x ", "blk: "]) + f"sep({n}, {rng.choice([1, 2])})")
            channels, known = n, True
        else:
            n = rng.choice([8, 16])
            lines.append(f"{rng.choice([2, 3])}x conv 3x3x?x{n}")
            channels, known = n, True
    lines.append(rng.choice(["gap", "gmp", "avgpool 4x4 global" if False else "gap"]))
    if rng.random() < 0.3:
        lines.append("dropout")
    classes = rng.choice([10, 1000])
    lines.append(f"fc ?x{classes}" + rng.choice(["", " logits"]))
    if rng.random() < 0.3:
        lines.append("softmax")
    settings = ref.Settings(
        alpha=Fraction(rng.choice(["1", "0.75", "0.5", "0.35", "1.4", "0.25"])),
        resolution=rng.choice([None, None, side - 3, side + 8, 9]),
        divisor=rng.choice([None, None, 8, 1]),
        min_depth=rng.choice([None, 0, 8]),
        classes=rng.choice([None, None, 7]),
        count=frozenset(rng.choice([{"conv", "fc"}, {"conv", "fc", "bn"}, {"conv", "fc", "pool", "act"},
                                    {"conv", "fc", "bn", "pool", "act"}])),
    )
    return "\n".join(lines) + "\n", settings


def mbcost_rows(text: str, s: ref.Settings):
    a = analyze(Network.from_text(text, source="random.spec"), alpha=str(s.alpha), resolution=s.resolution,
                divisor=s.divisor, min_depth=s.min_depth, classes=s.classes, count=sorted(s.count))
    return [(r.name, r.output.h, r.output.w, r.output.c, r.mult_adds, r.weights, r.biases, r.norm, r.category)
            for r in a.layers]


def reference_rows(text: str, s: ref.Settings):
    return [(r.name, r.h, r.w, r.c, r.mult_adds, r.weights, r.biases, r.norm, r.category)
            for r in ref.evaluate(text, s)]


def compare(text: str, s: ref.Settings) -> str:
    """'' when mbcost and the reference agree, else what differs."""
    try:
        expected = reference_rows(text, s)
    except ref.Rejected as why:
        try:
            mbcost_rows(text, s)
        except MbcostError:
            return ""
        return f"the reference rejects ({why}), mbcost accepts"
    try:
        got = mbcost_rows(text, s)
    except MbcostError as exc:
        return f"mbcost rejects ({exc}), the reference accepts"
    if got != expected:
        diff = next((g, e) for g, e in zip(got + [None] * len(expected), expected + [None] * len(got)) if g != e)
        return f"first differing row: mbcost {diff[0]} vs reference {diff[1]}"
    return ""


SEEDS = range(600)
CHUNK = 50


@pytest.mark.parametrize("start", range(0, len(SEEDS), CHUNK))
def test_mbcost_agrees_with_the_reference_on_random_networks(start):
    accepted = 0
    for seed in SEEDS[start:start + CHUNK]:
        text, settings = generate(random.Random(seed))
        problem = compare(text, settings)
        assert not problem, f"seed {seed}: {problem}\n{settings}\n{text}"
        try:
            ref.evaluate(text, settings)
            accepted += 1
        except ref.Rejected:
            pass
    assert accepted >= CHUNK // 2  # most random networks exist: the comparison is not vacuous


def test_the_random_networks_cover_the_language():
    texts = [generate(random.Random(seed))[0] for seed in SEEDS]
    for construct in DW_SPELLINGS + ["residual {", "concat {", "sep(", "after dw:", "after conv dw:", "+bn",
                                      "adaptive avgpool", "width divisor=8", "groups=2", "ceil=yes", "logits"]:
        assert any(construct in t for t in texts), construct


# -- the reference itself, by hand ----------------------------------------------------

def test_reference_by_hand():
    text = ("input 8x8x4\nafter dw: bn relu\nconv 3x3x4 dw\nconv / s2 3x3x4x8\nresidual {\n  pw ?x8 +bn\n}\n"
            "gap\nfc ?x10\n")
    rows = ref.evaluate(text, ref.Settings(count=frozenset({"conv", "fc", "bn"})))
    assert [r.name for r in rows] == ["dw1", "conv1", "pw1", "add1", "gap1", "fc1"]
    dw, conv, pw, add, gap, fc = rows
    assert (dw.mult_adds, dw.weights, dw.biases, dw.norm) == (3 * 3 * 4 * 64 + 256, 36, 0, 8)
    assert (conv.h, conv.mult_adds, conv.weights, conv.biases) == (4, 3 * 3 * 4 * 8 * 16, 288, 8)
    assert (pw.mult_adds, pw.norm, pw.biases) == (8 * 8 * 16 + 8 * 16, 16, 0)
    assert (fc.mult_adds, fc.weights, fc.biases) == (80, 80, 10)
    half = ref.evaluate(text, ref.Settings(alpha=Fraction(1, 2)))
    assert half[1].c == 4 and half[-1].c == 10  # int(0.5 x 8); the classifier keeps its 10 outputs
