"""The registry of layer kinds: the one place the parser, the compiler, the torch
build, the torch-model describer and the docs look a kind up.

A layer kind is one :class:`Kind` object, defined and registered by one module of
this package (``conv.py`` registers ``conv``, ``dw`` and ``pw``; ``adaptive_pool.py``
registers ``adaptive_avgpool`` and ``adaptive_maxpool``; ...). Importing
:mod:`mbcost.kinds` imports every module of the package, so adding a kind is
adding its module (and its test): nothing else lists the kinds.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class KindDoc:
    """A kind's rows in docs/spec-format.md's tables (kept in sync by a test)."""

    shape: str = "none"  # the shape written, e.g. "Kh x Kw x M x N"
    options: str = ""  # options and flags, e.g. "pad=, groups=G"
    output: str = "same shape"
    mult_adds: str = "never"  # the cost formula and when it is counted
    weights: str = ""
    biases: str = ""
    norm: str = ""


@dataclass(frozen=True)
class Kind:
    """One layer kind.

    ``define(stmt, name, ctx)`` checks a parsed line's syntax and returns its
    :class:`~mbcost.kinds.base.LayerDef` (whose ``resolve`` is the shape rule and
    whose instances give the cost parts, with formulas, and build the torch
    module, importing torch lazily). ``category`` is the breakdown label
    (Table 2's "Type") of a kind whose label does not depend on its shape.
    ``post``: the kind can follow a layer on its row (``+bn``, ``after conv: relu``),
    and then ``part(shape, count)`` gives its cost and ``torch_module(channels)``
    its module. ``torch_classes``: names of the ``torch.nn`` classes it
    corresponds to, and ``describe_torch(module)`` the (type, category, filter,
    stride) of such a module, so that a user's torch model is tabled with the
    same labels as a spec."""

    name: str
    define: Callable
    keywords: tuple[str, ...] = ()
    phrases: tuple[tuple[str, str], ...] = ()  # two-word spellings: ("avg", "pool")
    #: (kind as written, flag) that make a line this kind: ("conv", "dw") for ``conv 3x3x32 dw``
    flag_spellings: tuple[tuple[str, str], ...] = ()
    category: str = ""
    type_name: str = ""  # as Table 1 prints it
    post: bool = False
    role: str = ""  # its child's name in a row's torch Unit ("bn", "act")
    part: Callable | None = None
    torch_module: Callable | None = None
    torch_classes: tuple[str, ...] = ()
    torch_exact: bool = False  # match the class itself only, not its subclasses
    describe_torch: Callable | None = None
    doc: KindDoc = field(default_factory=KindDoc)
    rank: int = 50  # its place in the docs' tables (convolutions first)


KINDS: dict[str, Kind] = {}
#: torch module class -> its kind (kind_of_torch_module's answers; emptied by register)
_KIND_OF_CLASS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
KEYWORDS: dict[str, str] = {}  # spelling -> kind name
PHRASES: dict[tuple[str, str], str] = {}
FLAG_SPELLINGS: dict[tuple[str, str], str] = {}


class RegistryError(Exception):
    """Two kinds claim one name or spelling: a programming error, raised at import."""


def register(kind: Kind) -> Kind:
    """Add ``kind`` to the registry (each name and spelling once)."""
    if kind.name in KINDS:
        raise RegistryError(f"layer kind '{kind.name}' is registered twice")
    for word in kind.keywords:
        if word in KEYWORDS:
            raise RegistryError(f"'{word}' spells both {KEYWORDS[word]} and {kind.name}")
    for phrase in kind.phrases:
        if phrase in PHRASES:
            raise RegistryError(f"'{' '.join(phrase)}' spells both {PHRASES[phrase]} and {kind.name}")
    if kind.post and (kind.part is None or kind.torch_module is None):
        raise RegistryError(f"post kind '{kind.name}' needs part() and torch_module()")
    KINDS[kind.name] = kind
    _KIND_OF_CLASS.clear()
    KEYWORDS.update(dict.fromkeys(kind.keywords, kind.name))
    PHRASES.update(dict.fromkeys(kind.phrases, kind.name))
    FLAG_SPELLINGS.update(dict.fromkeys(kind.flag_spellings, kind.name))
    return kind


def post_kinds() -> frozenset[str]:
    """Kinds that can follow a layer on its row (``+bn +relu``)."""
    return frozenset(name for name, kind in KINDS.items() if kind.post)


def kind_of_torch_module(module) -> Kind | None:
    """The registered kind a torch module corresponds to, by its class names
    (looked up once per class: a model asks for every module)."""
    cls = type(module)
    if cls not in _KIND_OF_CLASS:
        _KIND_OF_CLASS[cls] = _kind_of_class(cls)
    return _KIND_OF_CLASS[cls]


def _kind_of_class(cls) -> Kind | None:
    mro = [cls.__name__] + [c.__name__ for c in cls.__mro__[1:]]
    for kind in KINDS.values():
        if kind.describe_torch is None:
            continue
        names = mro[:1] if kind.torch_exact else mro
        if any(n in kind.torch_classes for n in names):
            return kind
    return None


def kinds_table() -> str:
    """docs/spec-format.md's table of layer kinds, from the registry."""
    lines = ["| kind | spellings | shape written | options and flags | output |", "|---|---|---|---|---|"]
    for kind in _in_doc_order():
        if not kind.keywords and not kind.phrases:
            continue  # written as a construct (concat { }, residual { }), not as a line
        lines.append(f"| `{kind.name}` | {_spellings(kind)} | {kind.doc.shape} | {kind.doc.options} |"
                     f" {kind.doc.output} |")
    return "\n".join(lines)


def costs_table() -> str:
    """docs/spec-format.md's table of costs per kind, from the registry."""
    lines = ["| kind | Mult-Adds | weights | biases | norm |", "|---|---|---|---|---|"]
    for kind in _in_doc_order():
        d = kind.doc
        lines.append(f"| `{kind.name}` | {d.mult_adds} | {d.weights} | {d.biases} | {d.norm} |")
    return "\n".join(lines)


def _in_doc_order() -> list[Kind]:
    return sorted(KINDS.values(), key=lambda k: (k.rank, k.name))


def _spellings(kind: Kind) -> str:
    words = [f"`{w}`" for w in kind.keywords] + [f"`{a} {b}`" for a, b in kind.phrases]
    words += [f"`{a} ... {flag}`" for a, flag in kind.flag_spellings]
    if kind.post:
        words.append(f"`+{kind.name}`")
    return ", ".join(words)


def rewrite_docs(path: str) -> None:
    """Replace the kinds and costs tables of docs/spec-format.md (between their
    ``<!-- kinds-table ... -->`` markers) with the registry's."""
    import re

    from mbcost.kinds import registry  # the registered module (also when this one runs as __main__)

    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    for name, table in (("kinds-table", registry.kinds_table()), ("costs-table", registry.costs_table())):
        text = re.sub(rf"(<!-- {name}:[^\n]*-->\n).*?(\n<!-- /{name} -->)",
                      lambda m, table=table: m.group(1) + table + m.group(2), text, flags=re.S)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


if __name__ == "__main__":  # python -m mbcost.kinds.registry docs/spec-format.md
    import sys

    rewrite_docs(sys.argv[1] if len(sys.argv) > 1 else "docs/spec-format.md")
