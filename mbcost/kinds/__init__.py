"""The layer kinds. Each module of this package defines kinds (syntax, shape
rule, cost formula, category, torch module) and registers them in
:mod:`mbcost.kinds.registry`; importing the package imports every module, so a
new kind is a new module and nothing else lists it."""

from __future__ import annotations

import importlib
import pkgutil

from mbcost.core.conventions import COUNTABLE, PAPER_COUNT
from mbcost.kinds.base import Context, Instance, LayerDef, Part, Shape
from mbcost.kinds.registry import FLAG_SPELLINGS, KEYWORDS, KINDS, PHRASES, Kind, post_kinds

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")

POST_OPS = post_kinds()

__all__ = ["COUNTABLE", "PAPER_COUNT", "Context", "Instance", "LayerDef", "Part", "Shape", "Kind", "KINDS",
           "KEYWORDS", "PHRASES", "FLAG_SPELLINGS", "POST_OPS"]
