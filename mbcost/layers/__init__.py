"""The layer kinds. Each module defines one family in one place (syntax, shape
rule, cost formula, torch module) and registers its keywords here."""

from __future__ import annotations

from mbcost.layers import conv, elementwise, fc, merge, pool
from mbcost.layers.base import COUNTABLE, PAPER_COUNT, Context, Instance, LayerDef, Part, Shape

_MODULES = (conv, fc, pool, elementwise, merge)

#: keyword (lower case) -> canonical kind
KEYWORDS: dict[str, str] = {}
#: (first word, second word) -> canonical kind, e.g. ("conv", "dw") -> "dw"
TWO_WORD_KEYWORDS: dict[tuple[str, str], str] = {}
#: (kind, flag) -> canonical kind, e.g. ("conv", "dw") -> "dw" for ``conv 3x3x32 dw``
FLAG_KINDS: dict[tuple[str, str], str] = {}
#: canonical kind -> the module's ``define(stmt, name, ctx)``
DEFINE = {}
for _module in _MODULES:
    KEYWORDS.update(_module.KEYWORDS)
    TWO_WORD_KEYWORDS.update(_module.TWO_WORD_KEYWORDS)
    FLAG_KINDS.update(getattr(_module, "FLAG_KINDS", {}))
    for _kind in set(_module.KEYWORDS.values()) | set(_module.TWO_WORD_KEYWORDS.values()):
        DEFINE[_kind] = _module.define

POST_OPS = elementwise.POST_OPS

__all__ = ["COUNTABLE", "PAPER_COUNT", "Context", "Instance", "LayerDef", "Part", "Shape",
           "KEYWORDS", "TWO_WORD_KEYWORDS", "FLAG_KINDS", "DEFINE", "POST_OPS"]
