"""Syntax tree of a spec.

A spec is a :class:`SpecTree`: header settings plus a body, a list of nodes. A node
is a :class:`LayerStmt` (one layer line) or a :class:`Repeat` (a body repeated).
Nodes that hold a body are the extension point for composite constructs (parallel
branches joined by concatenation, residual additions, calls of named blocks): each
is one more node class holding one or more bodies, and the evaluator walks bodies
recursively with the current shape, so adding one touches no existing node.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Loc:
    line: int
    col: int


@dataclass
class LayerStmt:
    """One layer line: ``[label:] KIND [/ sN] [DIMS] [flags] [key=value] [+post] [@ SIZE]``."""

    kind: str  # canonical keyword, e.g. "conv", "dw", "avgpool"
    written: str  # the type as written, e.g. "Conv dw"
    loc: Loc
    label: str | None = None
    stride: tuple[int, int] | None = None
    stride_loc: Loc | None = None
    dims: tuple[int, ...] | None = None
    dims_loc: Loc | None = None
    flags: dict[str, Loc] = field(default_factory=dict)
    options: dict[str, tuple[str, Loc]] = field(default_factory=dict)
    post: tuple[str, ...] | None = None  # explicit "+bn +relu" (None: use `after` rules)
    post_loc: Loc | None = None
    input_size: tuple[int, ...] | None = None  # the "@ H x W x C" annotation
    input_loc: Loc | None = None


@dataclass
class Repeat:
    """``N x { body }`` or ``N x layer``: the body N times in sequence."""

    count: int
    body: list[Node]
    loc: Loc


Node = LayerStmt | Repeat


@dataclass
class SpecTree:
    source: str  # file name, or "<spec>"
    lines: list[str]  # the text, for error carets
    body: list[Node]
    name: str | None = None
    description: str = ""
    input: tuple[int, int, int] | None = None
    input_loc: Loc | None = None
    classes: int | None = None
    classes_loc: Loc | None = None
