"""The layer-kind registry: every reader (parser, compiler, torch build, torch-model
describer, docs) sees the same kinds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import mbcost.kinds  # noqa: F401  (registers every kind)
from mbcost import analyze
from mbcost.errors import SpecError
from mbcost.kinds import registry
from mbcost.core.network import Network

DOC = Path(__file__).resolve().parent.parent / "docs" / "spec-format.md"


def _doc_block(name: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {name}:[^\n]*-->\n(.*?)\n<!-- /{name} -->", text, re.S)
    assert match, f"docs/spec-format.md has no {name} block"
    return match.group(1)


def test_the_docs_tables_are_the_registrys():
    assert _doc_block("kinds-table") == registry.kinds_table()
    assert _doc_block("costs-table") == registry.costs_table()


@pytest.mark.parametrize("name", sorted(registry.KEYWORDS))
def test_every_keyword_parses_to_its_kind(name):
    kind = registry.KEYWORDS[name]
    spec = {"fc": "input 1x1x8\n{w} 8x4\n", "conv": "input 8x8x4\n{w} 3x3x4x4\n", "dw": "input 8x8x4\n{w} 3x3x4\n",
            "pw": "input 8x8x4\n{w} 4x8\n", "avgpool": "input 8x8x4\n{w} 2x2\n", "maxpool": "input 8x8x4\n{w} 2x2\n",
            "adaptive_avgpool": "input 8x8x4\n{w} 2x2\n", "adaptive_maxpool": "input 8x8x4\n{w} 2x2\n",
            "se": "input 8x8x4\n{w} reduce=2\n", "split": "input 8x8x4\n{w} parts=2 take=1\n",
            "mqa": "input 8x8x4\n{w} 4x4 heads=2 key=2\n", "mhsa": "input 8x8x4\n{w} 4x4 heads=2 key=2\n"}
    text = spec.get(kind, "input 8x8x4\n{w}\n").format(w=name)
    (row,) = analyze(Network.from_text(text)).layers
    assert row.kind == kind


def test_two_word_and_flag_spellings():
    for (first, second), kind in registry.PHRASES.items():
        shape = {"dw": " 3x3x4", "pw": " 4x8", "fc": " 8x4", "avgpool": " 2x2", "maxpool": " 2x2",
                 "adaptive_avgpool": " 2x2", "adaptive_maxpool": " 2x2"}.get(kind, "")
        size = "1x1x8" if kind == "fc" else "8x8x4"
        (row,) = analyze(Network.from_text(f"input {size}\n{first} {second}{shape}\n")).layers
        assert row.kind == kind
    assert registry.FLAG_SPELLINGS == {("conv", "dw"): "dw"}


def test_a_spelling_cannot_be_claimed_twice():
    with pytest.raises(registry.RegistryError, match="'relu' spells both relu and relu_again"):
        registry.register(registry.Kind("relu_again", lambda *a: None, keywords=("relu",)))
    assert "relu_again" not in registry.KINDS


def test_post_kinds_are_the_ones_that_follow_a_row():
    assert mbcost.kinds.POST_OPS == {"bn", "relu", "relu6", "hswish", "hsigmoid", "silu", "sigmoid", "gelu"}
    with pytest.raises(SpecError, match="expected one of bn, gelu, hsigmoid, hswish, relu, relu6, sigmoid, silu after"):
        Network.from_text("input 8x8x4\nconv 3x3x4x4 +softmax\n")


def test_torch_modules_are_described_by_the_kind_they_correspond_to():
    torch = pytest.importorskip("torch")
    from mbcost.adapters.torch_model import describe_module

    nn = torch.nn
    assert describe_module(nn.Conv2d(8, 8, 3, groups=8)) == ("Conv dw", "Conv DW 3×3", "3 × 3 × 8 dw", (1, 1))
    assert describe_module(nn.Conv2d(8, 16, 1, stride=2)) == ("Conv", "Conv 1×1", "1 × 1 × 8 × 16", (2, 2))
    assert describe_module(nn.Linear(8, 4)) == ("FC", "Fully Connected", "8 × 4", (1, 1))
    assert describe_module(nn.MaxPool2d(3, 2)) == ("Max Pool", "Max Pool", "Pool 3 × 3", (2, 2))
    assert describe_module(nn.BatchNorm2d(4))[1] == "BatchNorm"
    assert describe_module(nn.ReLU6())[1] == "ReLU6"
    assert describe_module(nn.GELU()) == ("GELU", "GELU", "", (1, 1))  # no kind: its class name
