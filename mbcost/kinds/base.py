"""What every layer kind shares: shapes, cost parts, the evaluation context.

A layer kind (one module in this package, registered as a
:class:`~mbcost.kinds.registry.Kind`) defines, in one place:

* its syntax: keywords, how many dimensions, which flags and options
  (``Kind.define`` turns a parsed line into a :class:`LayerDef`);
* its shape rule and cost formula (:meth:`LayerDef.resolve` gives an
  :class:`Instance` with concrete input and output shapes, whose :meth:`parts`
  are the Mult-Adds and parameters, with the formula written out);
* its torch module (``Instance.torch_module``, importing torch inside the method,
  never on the symbolic path).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from mbcost.core.conventions import fmt_alpha
from mbcost.errors import SpecError
from mbcost.kinds.registry import KINDS
from mbcost.language.ast import LayerStmt, Loc
from mbcost.language.lexer import is_ascii_digits



@dataclass(frozen=True)
class Shape:
    """A feature map, height x width x channels (a vector is 1 x 1 x C)."""

    h: int
    w: int
    c: int

    @property
    def numel(self) -> int:
        return self.h * self.w * self.c

    def as_list(self) -> list[int]:
        return [self.h, self.w, self.c]

    def __str__(self) -> str:
        return f"{self.h}×{self.w}×{self.c}"


@dataclass(frozen=True)
class Part:
    """One costed piece of a layer, grouped by ``category`` in the breakdown
    (``Conv 1×1``, ``Conv DW 3×3``, ``Fully Connected``, ``BatchNorm`` ...)."""

    category: str
    mult_adds: int = 0
    weights: int = 0
    biases: int = 0
    norm: int = 0
    formula: str = ""
    #: Spatial positions the cost is paid at (Ho·Wo for a conv, 1 for an FC):
    #: ``mult_adds`` = (a term set by the channels, i.e. by alpha) × positions (set
    #: by the resolution). The sweep uses this split to vectorize exactly.
    positions: int = 1


@dataclass(frozen=True)
class NamedFormula:
    """A row's formula in named factors, for a table cell that the formula in
    numbers does not fit (an attention row's four products of three or four
    numbers each): ``text`` multiplies out to the row's Mult-Adds with the values
    of ``symbols``, each (symbol, value, how the value is made or "", meaning):
    ``("L", 576, "24·24", "query positions (H·W)")``; ``remarks``: what the
    numbers left in the text are (``"3·3: the depthwise convs ..."``)."""

    text: str
    symbols: tuple[tuple[str, int, str, str], ...]
    remarks: tuple[str, ...] = ()


def dot(*factors: int) -> str:
    """The formula with numbers substituted: ``3·3·32·112·112``."""
    return "·".join(str(f) for f in factors)


@dataclass
class Context:
    """How a spec is evaluated: width scaling, class count, what is counted.

    Counting conventions are not here: they apply to :meth:`Instance.parts`.
    ``nominal`` is the spec as written (alpha 1, its own resolution): only then
    are the declared input channels and ``@`` input sizes checked against the
    inferred shapes."""

    source: str
    lines: list[str]
    nominal: bool = True
    alpha: Fraction = Fraction(1)
    min_depth: int = 0
    divisor: int = 1
    classes: int | None = None

    def error(self, message: str, loc: Loc | None) -> SpecError:
        line = loc.line if loc else None
        text = self.lines[line - 1] if line and 0 < line <= len(self.lines) else None
        return SpecError(message, source=self.source, line=line, col=loc.col if loc else None, text=text)

    def scale(self, channels: int, never_thinner: bool = False) -> int:
        """Width multiplier applied to a channel count (see docs/spec-format.md);
        ``never_thinner``: alpha below 1 does not thin it (``max(1, alpha)``)."""
        alpha = max(self.alpha, Fraction(1)) if never_thinner else self.alpha
        return scale_channels(channels, alpha, self.min_depth, self.divisor)


def scale_channels(channels: int, alpha: Fraction, min_depth: int = 0, divisor: int = 1) -> int:
    """``int(alpha·c)`` in exact arithmetic, then the optional minimum depth; with a
    divisor > 1, the nearest multiple of it (never below 90% of alpha·c), as in the
    reference MobileNet implementations."""
    value = Fraction(alpha) * channels
    if divisor > 1:
        floor = max(min_depth, divisor)
        rounded = max(floor, math.floor(value + Fraction(divisor, 2)) // divisor * divisor)
        if rounded < Fraction(9, 10) * value:
            rounded += divisor
        return rounded
    return max(min_depth, math.floor(value))


@dataclass
class LayerDef:
    """A layer as the spec defines it (declared numbers, before alpha/rho)."""

    name: str
    stmt: LayerStmt
    post: tuple[str, ...] = ()
    classifier: bool = False

    #: True for layers with weights: candidates for the classifier (the last one).
    weighted = False
    #: True for a fully connected layer: a network whose last weighted layer is one
    #: has a classifier even without a ``classes`` line.
    fully_connected = False
    #: The type as Table 1 prints it ("Conv", "Conv dw", "FC", "Avg Pool").
    type_name = "?"

    def resolve(self, x: Shape, ctx: Context) -> Instance:  # pragma: no cover - abstract
        raise NotImplementedError

    def fail(self, ctx: Context, message: str, loc: Loc | None = None) -> SpecError:
        """An error naming this layer, at the given spot of its line."""
        return ctx.error(f"layer {self.name}: {message}", loc or self.stmt.loc)

    def out_channels(self, declared: int, ctx: Context) -> int:
        """Declared output channels at this width: classes for the classifier."""
        if self.classifier:
            return ctx.classes if ctx.classes is not None else declared
        if "fixed" in self.stmt.flags:  # a width the reference keeps at every alpha (MnasNet's last 1280)
            return declared
        channels = ctx.scale(declared, never_thinner="noshrink" in self.stmt.flags)
        if channels <= 0:
            raise self.fail(
                ctx,
                f"width multiplier {fmt_alpha(ctx.alpha)} leaves {channels} of its {declared} channels"
                " (set a minimum depth)",
            )
        return channels

    def check_in_channels(self, declared: int | None, x: Shape, ctx: Context) -> None:
        """A declared input channel count must match; ``?`` (None) takes any."""
        if ctx.nominal and declared is not None and declared != x.c:
            raise self.fail(
                ctx,
                f"its filter takes {declared} input channels but its input has {x.c} ({x})",
                self.stmt.dims_loc,
            )


@dataclass
class Instance:
    """A layer with concrete shapes: what a table row, a cost and a torch module
    are made from. ``layer.name`` is unique in the network; names of layers inside
    a named block are dotted (``fire2.squeeze``), which the torch builder turns
    into nested modules so that counters' per-module names equal spec names."""

    layer: LayerDef
    input: Shape
    output: Shape
    stride: tuple[int, int] = (1, 1)
    filter: str = ""
    #: Indices (in the evaluation's list) of the instances whose outputs feed this
    #: one; -1 is the network input. A sequential network has ``(i - 1,)``; a
    #: concatenation or residual addition has several. The list is in execution
    #: (topological) order, so it is a DAG any consumer can walk front to back.
    sources: tuple[int, ...] = ()

    @property
    def kernel(self) -> tuple[int, int] | None:
        """The window (kh, kw) a conv or pool slides; None for other kinds."""
        return None

    def main_parts(self, count: frozenset) -> list[Part]:
        return []

    def parts(self, count: frozenset) -> list[Part]:
        """The row's cost: its own, then its post ops' (``+bn +relu``) on its output."""
        return self.main_parts(count) + [KINDS[op].part(self.output, count) for op in self.layer.post]

    def named_formula(self, count: frozenset) -> NamedFormula | None:
        """The row's formula in named factors where the kind writes one (attention),
        else None: the formula in numbers (``parts``) is short enough."""
        return None


# -- option helpers shared by the kinds -------------------------------------

def check_syntax(
    stmt: LayerStmt,
    ctx: Context,
    *,
    dims: tuple[int, ...],
    flags: tuple[str, ...] = (),
    options: tuple[str, ...] = (),
    what: str,
    example: str,
    infer_at: dict[int, int] | None = None,
) -> None:
    """Reject a line whose shape, flags or options this kind does not take.
    ``infer_at`` maps a shape's length to the position (the input channels), or
    positions, that may be written ``?``."""
    if stmt.dims is None and 0 not in dims:
        raise ctx.error(f"{what} needs a shape, e.g. '{example}'", stmt.loc)
    if stmt.dims is not None:
        if dims == (0,):
            raise ctx.error(f"{what} takes no shape", stmt.dims_loc)
        if len(stmt.dims) not in dims:
            raise ctx.error(f"{what} takes a shape like '{example}', got {len(stmt.dims)} numbers", stmt.dims_loc)
        allowed = (infer_at or {}).get(len(stmt.dims))
        allowed = allowed if isinstance(allowed, tuple) else (allowed,)
        if any(d is None for i, d in enumerate(stmt.dims) if i not in allowed):
            raise ctx.error(f"{what}: only the input channels can be '?'", stmt.dims_loc)
        if any(d is not None and d <= 0 for d in stmt.dims):
            raise ctx.error(f"{what}: every number of its shape must be positive", stmt.dims_loc)
    for flag, loc in stmt.flags.items():
        if flag not in flags:
            allowed = f" (allowed: {', '.join(flags)})" if flags else ""
            raise ctx.error(f"{what} does not take '{flag}'{allowed}", loc)
    for key, (_, loc) in stmt.options.items():
        if key not in options:
            allowed = f" (allowed: {', '.join(options)})" if options else ""
            raise ctx.error(f"{what} has no option '{key}'{allowed}", loc)


def opt_pair(stmt: LayerStmt, key: str, ctx: Context, default: tuple[int, int], *, minimum: int = 1):
    if key not in stmt.options:
        return default
    raw, loc = stmt.options[key]
    parts = raw.lower().replace("×", "x").split("x")
    values = [int(p) for p in parts] if all(_whole(p) for p in parts) else []
    if len(values) not in (1, 2) or any(v < minimum for v in values):
        raise ctx.error(f"{key} must be a whole number >= {minimum} or HxW, got '{raw}'", loc)
    return (values[0], values[-1])


def opt_int(stmt: LayerStmt, key: str, ctx: Context, default: int, *, minimum: int = 1) -> int:
    if key not in stmt.options:
        return default
    raw, loc = stmt.options[key]
    if not _whole(raw) or int(raw) < minimum:
        got = f"{len(raw):,} digits" if len(raw) > 100 else f"'{raw}'"
        raise ctx.error(f"{key} must be a whole number >= {minimum} (at most 100 digits), got {got}", loc)
    return int(raw)


def _whole(text: str) -> bool:
    """ASCII digits, at most 100 of them (Python refuses to read past 4,300)."""
    return is_ascii_digits(text) and len(text) <= 100


def opt_bool(stmt: LayerStmt, key: str, ctx: Context, default: bool | None) -> bool | None:
    if key not in stmt.options:
        return default
    raw, loc = stmt.options[key]
    if raw.lower() in ("yes", "true", "1", "on"):
        return True
    if raw.lower() in ("no", "false", "0", "off"):
        return False
    raise ctx.error(f"{key} must be yes or no, got '{raw}'", loc)


def opt_stride(stmt: LayerStmt, ctx: Context) -> tuple[int, int]:
    """``/ s2`` as written, or ``stride=2`` / ``stride={s}`` (a block parameter)."""
    if "stride" in stmt.options:
        if stmt.stride is not None:
            raise ctx.error("stride given twice ('/ sN' and 'stride=')", stmt.options["stride"][1])
        return opt_pair(stmt, "stride", ctx, (1, 1))
    return stmt.stride or (1, 1)


def opt_padding(stmt: LayerStmt, ctx: Context, default: str):
    """``pad=same`` (TensorFlow's, the default for convolutions), ``pad=valid``
    (none, the default for pooling), ``pad=N`` or ``pad=HxW`` (explicit, both sides)."""
    if "pad" not in stmt.options:
        return default
    raw, _ = stmt.options["pad"]
    if raw.lower() in ("same", "valid"):
        return raw.lower()
    return opt_pair(stmt, "pad", ctx, (0, 0), minimum=0)


def window_output(size: int, kernel: int, stride: int, padding, axis: int, dilation: int = 1, ceil: bool = False):
    """Output length and (before, after) padding of one spatial axis, or None
    when the (dilated) kernel is larger than the padded input."""
    span = (kernel - 1) * dilation + 1
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + span - size, 0)
        return out, (total // 2, total - total // 2)
    pad = 0 if padding == "valid" else padding[axis]
    padded = size + 2 * pad
    if padded < span:
        return None
    if ceil:
        out = -(-(padded - span) // stride) + 1
        # as PyTorch and Caffe: the last window must start inside the input or left padding
        if (out - 1) * stride >= size + pad:
            out -= 1
    else:
        out = (padded - span) // stride + 1
    return out, (pad, pad)


def spatial(layer: LayerDef, x: Shape, kernel, stride, padding, ctx: Context, dilation=(1, 1), ceil=False):
    """Output height, width and padding (top, bottom, left, right) of a window op."""
    rows = window_output(x.h, kernel[0], stride[0], padding, 0, dilation[0], ceil)
    cols = window_output(x.w, kernel[1], stride[1], padding, 1, dilation[1], ceil)
    if rows is None or cols is None:
        raise layer.fail(
            ctx,
            f"its {kernel[0]}×{kernel[1]} window is larger than its {x.h}×{x.w} input"
            f"{'' if padding == 'valid' else ' (padded)'}; the feature map vanishes",
        )
    return rows[0], cols[0], rows[1] + cols[1]


def stride_text(stride: tuple[int, int]) -> str:
    return f"s{stride[0]}" if stride[0] == stride[1] else f"s{stride[0]}x{stride[1]}"
