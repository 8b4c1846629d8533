"""A spec compiled into named layer definitions, evaluated at a configuration.

``Network`` holds the definitions (names assigned, classifier found, the spec
checked once as written). ``Network.evaluate(config)`` walks them with a shape
and returns one :class:`~mbcost.layers.Instance` per layer. Pure Python: no
torch, no terminal, no files beyond reading the spec.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

from mbcost.errors import MbcostError, SpecError
from mbcost.layers import COUNTABLE, DEFINE, PAPER_COUNT, Context, Instance, LayerDef, Shape
from mbcost.spec.ast import LayerStmt, Repeat, SpecTree
from mbcost.spec.parser import parse_spec

#: How parameters are totalled. The paper counts weights only.
PARAM_CONVENTIONS = {
    "weights": "weights only (paper convention; biases and batch-norm scale/shift not counted)",
    "weights+biases": "weights and biases (batch-norm scale/shift not counted)",
    "all": "weights, biases and batch-norm scale/shift (all trainable parameters)",
}


def to_fraction(value, what: str) -> Fraction:
    """An exact number from a float, int, string or Fraction ("0.75" -> 3/4)."""
    try:
        number = Fraction(str(value)) if not isinstance(value, Fraction) else value
    except (ValueError, ZeroDivisionError):
        raise MbcostError(f"{what} must be a number, got {value!r}") from None
    if number <= 0:
        raise MbcostError(f"{what} must be positive, got {value}")
    return number


@dataclass(frozen=True)
class Config:
    """Width and resolution settings and counting conventions for one evaluation.

    alpha: width multiplier (any positive number). resolution: input side in pixels
    (int) or (height, width); rho: resolution multiplier, a fraction of the spec's
    own input size (give one or neither). min_depth, divisor: channel rounding
    (see :func:`mbcost.layers.base.scale_channels`). classes: overrides the
    classifier's outputs. count: which operations' Mult-Adds are counted.
    params: which parameters the params column totals (PARAM_CONVENTIONS).
    """

    alpha: Fraction = Fraction(1)
    resolution: tuple[int, int] | None = None
    rho: Fraction | None = None
    min_depth: int = 0
    divisor: int = 1
    classes: int | None = None
    count: frozenset = PAPER_COUNT
    params: str = "weights"

    @classmethod
    def make(cls, alpha=1, resolution=None, rho=None, min_depth=0, divisor=1, classes=None,
             count=PAPER_COUNT, params="weights") -> Config:
        """Validate user-given settings into a Config (MbcostError on bad values)."""
        alpha = to_fraction(alpha, "alpha")
        if resolution is not None and rho is not None:
            raise MbcostError("give a resolution or rho, not both")
        if resolution is not None:
            if isinstance(resolution, (tuple, list)):
                resolution = tuple(int(r) for r in resolution)
            else:
                resolution = (resolution, resolution)
            if len(resolution) != 2 or any(r <= 0 for r in resolution):
                raise MbcostError(f"resolution must be positive, got {resolution[0]}")
        if rho is not None:
            rho = to_fraction(rho, "rho")
        if min_depth < 0:
            raise MbcostError(f"minimum depth must be >= 0, got {min_depth}")
        if divisor < 1:
            raise MbcostError(f"divisor must be >= 1, got {divisor}")
        if classes is not None and classes <= 0:
            raise MbcostError(f"classes must be positive, got {classes}")
        if isinstance(count, str):
            count = [c.strip() for c in count.split(",") if c.strip()]
        count = frozenset(count)
        unknown = sorted(count - set(COUNTABLE))
        if unknown or not count:
            raise MbcostError(
                f"cannot count {', '.join(unknown) or 'nothing'}: choose from {', '.join(COUNTABLE)}"
            )
        if params not in PARAM_CONVENTIONS:
            raise MbcostError(f"unknown parameter convention '{params}': choose from {', '.join(PARAM_CONVENTIONS)}")
        return cls(alpha, resolution, rho, min_depth, divisor, classes, count, params)


@dataclass
class Network:
    """A parsed and checked spec."""

    tree: SpecTree
    layers: list[LayerDef] = field(default_factory=list)
    nominal: list[Instance] = field(default_factory=list)

    @classmethod
    def from_text(cls, text: str, source: str = "<spec>", name: str | None = None) -> Network:
        tree = parse_spec(text, source)
        if name and not tree.name:
            tree.name = name
        net = cls(tree)
        net.layers = _compile(tree)
        net.nominal = net._run(net._context(Config(), nominal=True), net.input_shape(Config()), check=True)
        return net

    @classmethod
    def from_file(cls, path: str | Path) -> Network:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise MbcostError(f"{path}: not a UTF-8 text file") from None
        except OSError as exc:
            raise MbcostError(f"cannot read spec {path}: {exc.strerror or exc}") from None
        return cls.from_text(text, source=str(path), name=path.stem)

    @property
    def name(self) -> str:
        return self.tree.name or "spec"

    @property
    def description(self) -> str:
        return self.tree.description

    def input_shape(self, config: Config) -> Shape:
        if self.tree.input is None:
            raise SpecError("the spec has no 'input' line (e.g. 'input 224x224x3')", source=self.tree.source)
        h, w, c = self.tree.input
        if config.resolution is not None:
            h, w = config.resolution
        elif config.rho is not None:
            h, w = (math.floor(config.rho * side + Fraction(1, 2)) for side in (h, w))
            if h <= 0 or w <= 0:
                raise MbcostError(f"rho {float(config.rho)} leaves no pixels of the {self.tree.input[0]}-pixel input")
        return Shape(h, w, c)

    def evaluate(self, config: Config = Config()) -> list[Instance]:
        """One Instance per layer at ``config`` (shape errors name the layer)."""
        if replace(config, count=PAPER_COUNT, params="weights") == Config():
            return self.nominal  # counting conventions do not change shapes
        ctx = self._context(config, nominal=False)
        return self._run(ctx, self.input_shape(config), check=False)

    def _context(self, config: Config, nominal: bool) -> Context:
        return Context(self.tree.source, self.tree.lines, nominal=nominal, alpha=config.alpha,
                       min_depth=config.min_depth, divisor=config.divisor, classes=config.classes)

    def _run(self, ctx: Context, x: Shape, check: bool) -> list[Instance]:
        out = []
        for layer in self.layers:
            stmt = layer.stmt
            if check and stmt.input_size is not None and tuple(stmt.input_size) != (x.h, x.w, x.c):
                given = "×".join(str(v) for v in stmt.input_size)
                raise ctx.error(
                    f"input size mismatch at layer {layer.name}: the spec says {given}, the layers before give {x}",
                    stmt.input_loc,
                )
            inst = layer.resolve(x, ctx)
            inst.sources = (len(out) - 1,)
            out.append(inst)
            x = inst.output
        return out


def _compile(tree: SpecTree) -> list[LayerDef]:
    """Expand repeats, name every layer, find the classifier, check 'classes'."""
    ctx = Context(tree.source, tree.lines)
    layers: list[LayerDef] = []
    counters: dict[str, int] = {}
    labels: set[str] = set()

    def name_for(stmt: LayerStmt, suffix: str) -> str:
        if stmt.label:
            name = stmt.label + suffix
            if name in labels:
                raise ctx.error(f"layer name '{stmt.label}' is used twice", stmt.loc)
        else:
            while True:
                counters[stmt.kind] = counters.get(stmt.kind, 0) + 1
                name = f"{stmt.kind}{counters[stmt.kind]}"
                if name not in labels:
                    break
        labels.add(name)
        return name

    def walk(body, suffix: str) -> None:
        for node in body:
            if isinstance(node, Repeat):
                for i in range(1, node.count + 1):
                    walk(node.body, f"{suffix}_{i}")
            else:
                layers.append(DEFINE[node.kind](node, name_for(node, suffix), ctx))

    walk(tree.body, "")
    if not layers:
        raise SpecError("the spec defines no layers", source=tree.source)
    flagged = [layer for layer in layers if "logits" in layer.stmt.flags]
    if len({id(layer.stmt) for layer in flagged}) > 1:
        raise ctx.error("only one layer can be marked 'logits'", flagged[-1].stmt.flags["logits"])
    weighted = [layer for layer in layers if layer.weighted]
    classifier = flagged[-1] if flagged else (weighted[-1] if weighted else None)
    if classifier is not None:
        classifier.classifier = True
        declared = getattr(classifier, "out_declared", 0)
        if tree.classes is not None and declared and declared != tree.classes:
            raise ctx.error(
                f"the classifier {classifier.name} has {declared} outputs but 'classes' says {tree.classes}",
                classifier.stmt.dims_loc,
            )
    return layers
