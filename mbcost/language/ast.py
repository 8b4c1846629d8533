"""Syntax tree of a spec.

A spec is a :class:`SpecTree`: header settings, named block definitions and a
body, a list of nodes. A node is a :class:`LayerStmt` (one layer line) or a node
holding bodies: :class:`Repeat`, :class:`Concat` (parallel branches joined along
the channels), :class:`Residual` (an identity shortcut added to the body's
output) and :class:`BlockCall` (a named block with arguments). The evaluator walks
bodies recursively with the current shape, so a new construct is one more node.
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


@dataclass
class Branch:
    """One path of a :class:`Concat`: ``branch [NAME] { body }`` or ``branch LAYER``."""

    label: str | None
    body: list[Node]
    loc: Loc


@dataclass
class Concat:
    """``[NAME:] concat { branch {...} branch {...} }``: the branches all take the
    same input; their outputs are joined along the channels. ``op`` "add":
    ``add { branch ... }``, the outputs (of one shape) are summed instead (a
    residual with a projection shortcut)."""

    label: str | None
    branches: list[Branch]
    loc: Loc
    op: str = "concat"


@dataclass
class Stage:
    """``stage N { FIRST REST... }``: a stage of N blocks, the first statement
    once and the rest N - 1 times (FIRST alone: N times). ``--depth-mult D``
    makes it ceil(D·N) blocks (EfficientNet's rule)."""

    count: int
    first: list[Node]
    rest: list[Node]
    loc: Loc


@dataclass
class Residual:
    """``[NAME:] residual { body }``: output = input + body(input), same shapes."""

    label: str | None
    body: list[Node]
    loc: Loc


@dataclass
class BlockDef:
    """``block NAME(p1, p2, ...) { body }``: a reusable block; ``{p1}`` in its
    dimensions and option values is replaced by each call's arguments."""

    name: str
    params: list[str]
    body: list[Node]
    loc: Loc


@dataclass
class BlockCall:
    """``[NAME:] block_name(arg, ..., key=arg)``: the block's layers, named
    ``NAME.layer`` (nested modules in the torch build)."""

    label: str | None
    block: str
    args: list[tuple[object, Loc]]
    kwargs: dict[str, tuple[object, Loc]]
    loc: Loc


Node = LayerStmt | Repeat | Concat | Residual | BlockCall | Stage


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
    blocks: dict[str, BlockDef] = field(default_factory=dict)
    #: The spec's own width rule (``width divisor=8 min_depth=8``): how channel
    #: counts round under alpha unless --divisor/--min-depth say otherwise.
    width_divisor: int = 1
    width_min_depth: int = 0
