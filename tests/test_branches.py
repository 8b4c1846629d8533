"""Parallel branches (concat), residual additions and named blocks."""

from __future__ import annotations

import pytest

from mbcost import analyze
from mbcost.errors import SpecError
from mbcost.core.network import Network

FIRE = """
input 55x55x96
after conv: relu
block fire(s, e1, e3) {
  squeeze: conv 1x1x?x{s}
  concat {
    branch e1x1 { conv 1x1x{s}x{e1} }
    branch e3x3 { conv 3x3x{s}x{e3} pad=1 }
  }
}
fire2: fire(16, 64, 64)
fire3: fire(s=16, e1=64, e3=64)
"""


def test_fire_blocks_hand_derived():
    a = analyze(Network.from_text(FIRE))
    names = [r.name for r in a.layers]
    assert names == ["fire2.squeeze", "fire2.e1x1.conv1", "fire2.e3x3.conv1", "fire2.concat1",
                     "fire3.squeeze", "fire3.e1x1.conv1", "fire3.e3x3.conv1", "fire3.concat1"]
    hw = 55 * 55
    fire2 = 96 * 16 * hw + 16 * 64 * hw + 9 * 16 * 64 * hw
    fire3 = 128 * 16 * hw + 16 * 64 * hw + 9 * 16 * 64 * hw  # squeeze sees the 64 + 64 concat
    assert a.total.mult_adds == fire2 + fire3
    concat = a.layers[3]
    assert concat.output.as_list() == [55, 55, 128] and concat.mult_adds == 0 and concat.type == "Concat"
    assert a.total.biases == 2 * (16 + 64 + 64)  # no batch norm: convs keep their bias


def test_sources_form_a_dag():
    inst = Network.from_text(FIRE).evaluate()
    assert inst[0].sources == (-1,)
    assert inst[1].sources == (0,) and inst[2].sources == (0,)  # both branches read the squeeze
    assert inst[3].sources == (1, 2)
    assert inst[4].sources == (3,)


def test_residual_and_width_multiplier():
    spec = """
    input 14x14x32
    block ir(t, c) {
      residual {
        conv 1x1x{c}x{t} +bn +relu6
        dw 3x3x{t} +bn +relu6
        conv 1x1x{t}x{c} +bn
      }
    }
    conv 1x1x32x32
    2x ir(192, 32)
    """
    a = analyze(Network.from_text(spec))
    per_block = 32 * 192 * 196 + 9 * 192 * 196 + 192 * 32 * 196
    assert a.total.mult_adds == 32 * 32 * 196 + 2 * per_block
    assert [r.name for r in a.layers if r.type == "Add"] == ["ir1.add1", "ir2.add1"]
    half = analyze(Network.from_text(spec), alpha=0.5)
    assert half.layers[1].output.c == 96 and half.layers[3].output.c == 16


@pytest.mark.parametrize("text,line,words", [
    ("input 8x8x4\nconcat {\n  branch { conv 3x3x4x4 }\n  branch { conv 3x3x4x4 pad=valid }\n}\n", 4,
     "branch b2 gives 6×6×4 but branch b1 gives 8×8×4"),
    ("input 8x8x4\nblock b(c) {\n residual {\n  conv 1x1x?x{c}\n }\n}\nb(8)\n", 3,
     "b1.add1: the residual body gives 8×8×8 but its input is 8×8×4"),
    ("input 8x8x4\nblock inc(c) {\n concat {\n  branch left { conv 3x3x4x{c} }\n  branch right { conv 5x5x4x{c} pad=valid }\n }\n}\ninc3a: inc(8)\n",
     5, "inc3a.concat1: branch right gives 4×4×8 but branch left gives 8×8×8"),
    ("input 8x8x4\nblock inc(c) {\n concat {\n  branch left { conv 3x3x5x{c} }\n }\n}\ninc3a: inc(8)\n",
     4, "layer inc3a.left.conv1: its filter takes 5 input channels"),
    ("input 8x8x4\nfire(1)\n", 2, "unknown block 'fire'"),
    ("input 8x8x4\nblock f(a, b) { conv 1x1x?x{a} }\nf(1)\n", 3, "needs b"),
    ("input 8x8x4\nblock f(a) { conv 1x1x?x{a} }\nf(1, 2)\n", 3, "takes 1 arguments"),
    ("input 8x8x4\nblock f(a) { conv 1x1x?x{b} }\nf(1)\n", 2, "unknown parameter '{b}' in this block"),
    ("input 8x8x4\nconv 1x1x?x{b}\n", 2, "unknown parameter '{b}' outside a block"),
    ("input 8x8x4\nconv 1x1x4x?\n", 2, "only the input channels can be '?'"),
    ("input 8x8x4\nblock f(a) { f(a={a}) }\nf(1)\n", 2, "nest deeper"),
    ("input 8x8x4\nconcat {\n  conv 1x1x4x4\n}\n", 3, "expected 'branch'"),
])
def test_branch_and_block_errors_are_located(text, line, words):
    with pytest.raises(SpecError) as info:
        analyze(Network.from_text(text, source="t.spec"))
    assert info.value.line == line, str(info.value)
    assert words in info.value.message


def test_stride_as_a_block_parameter():
    spec = """
    input 16x16x8
    block down(c, s) {
      dw 3x3x? stride={s}
      pw ?x{c}
    }
    down(16, 2)
    down(32, 1)
    maxpool 2x2 stride=2
    """
    a = analyze(Network.from_text(spec))
    assert [r.output.as_list() for r in a.layers] == [[8, 8, 8], [8, 8, 16], [8, 8, 16], [8, 8, 32], [4, 4, 32]]
    assert a.layers[0].mult_adds == 3 * 3 * 8 * 8 * 8
    with pytest.raises(SpecError, match="stride given twice"):
        Network.from_text("input 8x8x3\nconv / s2 3x3x3x8 stride=2\n")
