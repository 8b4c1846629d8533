"""A spec compiled into named layer definitions, evaluated at a configuration.

``Network`` holds the compiled definitions (repeats expanded, block calls bound
to their arguments, names assigned, classifier found, the spec checked once as
written). ``Network.evaluate(config)`` walks them with a shape and returns one
:class:`~mbcost.kinds.Instance` per layer, in execution order, each with the
indices of the instances feeding it (a DAG). Pure Python: no torch, no terminal,
no files beyond reading the spec.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

from mbcost.core.conventions import COUNTABLE, PAPER_COUNT, PARAM_CONVENTIONS
from mbcost.errors import MbcostError, SpecError
from mbcost.kinds import KINDS, Context, Instance, LayerDef, Shape
from mbcost.kinds.merge import MergeDef, merge
from mbcost.language.ast import BlockCall, Concat, LayerStmt, Loc, Repeat, Residual, SpecTree, Stage
from mbcost.language.lexer import MAX_SPEC_CHARS, Param
from mbcost.language.parser import parse_spec
from mbcost.numbers import NumberError, whole_value
from mbcost.options import scale

#: A deeper network than this many times its stages is not a network anyone runs
#: (EfficientNet-B7 is 3.1); the row limit (MAX_LAYERS) bounds it too.
MAX_DEPTH_MULT = 100


def to_fraction(value, what: str) -> Fraction:
    """An exact number from a float, int, string or Fraction ("0.75" -> 3/4):
    finite, positive, at most 10^300 (a width or resolution multiplier no
    network passes; its counts stay exact and printable)."""
    return scale(value, what)


@dataclass(frozen=True)
class Config:
    """Width and resolution settings and counting conventions for one evaluation.

    alpha: width multiplier (any positive number). resolution: input side in pixels
    (int) or (height, width); rho: resolution multiplier, a fraction of the spec's
    own input size (give one or neither). min_depth, divisor: channel rounding
    (see :func:`mbcost.kinds.base.scale_channels`). classes: overrides the
    classifier's outputs. count: which operations' Mult-Adds are counted.
    params: which parameters the params column totals (PARAM_CONVENTIONS).
    depth_mult: the depth multiplier: every ``stage N`` of the spec has ceil(D·N)
    blocks (EfficientNet's rule); a spec without stages takes only 1.
    """

    alpha: Fraction = Fraction(1)
    resolution: tuple[int, int] | None = None
    rho: Fraction | None = None
    min_depth: int | None = None  # None: the spec's own rule ('width' header; else 0)
    divisor: int | None = None  # None: the spec's own rule ('width' header; else 1)
    classes: int | None = None
    count: frozenset = PAPER_COUNT
    params: str = "weights"
    depth_mult: Fraction = Fraction(1)

    @classmethod
    def make(cls, alpha=1, resolution=None, rho=None, min_depth=None, divisor=None, classes=None,
             count=PAPER_COUNT, params="weights", depth_mult=1) -> Config:
        """Validate user-given settings into a Config (MbcostError on bad values)."""
        alpha = to_fraction(alpha, "alpha")
        try:
            for value, what in ((resolution, "resolution"), (min_depth, "minimum depth"), (divisor, "divisor"),
                                (classes, "classes")):
                for v in value if isinstance(value, (tuple, list)) else (value,):
                    if isinstance(v, int):
                        whole_value(v, what)
        except NumberError as exc:
            raise MbcostError(str(exc)) from None
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
        if min_depth is not None and min_depth < 0:
            raise MbcostError(f"minimum depth must be >= 0, got {min_depth}")
        if divisor is not None and divisor < 1:
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
        params = "weights" if params is None else params  # the paper's convention, for specs
        if params not in PARAM_CONVENTIONS:
            raise MbcostError(f"unknown parameter convention '{params}': choose from {', '.join(PARAM_CONVENTIONS)}")
        depth_mult = to_fraction(depth_mult, "the depth multiplier")
        if depth_mult > MAX_DEPTH_MULT:
            raise MbcostError(f"the depth multiplier must be at most {MAX_DEPTH_MULT}, got {float(depth_mult):g}")
        return cls(alpha, resolution, rho, min_depth, divisor, classes, count, params, depth_mult)


@dataclass
class ConcatNode:
    """Compiled ``concat``: branches (lists of nodes) joined by ``merge``."""

    merge: MergeDef
    branches: list[list]


@dataclass
class ResidualNode:
    """Compiled ``residual``: ``merge`` adds the body's output to its input."""

    merge: MergeDef
    body: list


@dataclass
class Network:
    """A parsed and checked spec."""

    tree: SpecTree
    nodes: list = field(default_factory=list)
    nominal: list[Instance] = field(default_factory=list)
    #: A preset (efficientnet_b2): the base spec's name and its width, depth and
    #: resolution coefficients, baked in (see :meth:`preset`).
    preset_of: str | None = None
    base_alpha: Fraction = Fraction(1)
    base_depth: Fraction = Fraction(1)

    @classmethod
    def from_text(cls, text: str, source: str = "<spec>", name: str | None = None) -> Network:
        tree = parse_spec(text, source)
        if name and not tree.name:
            tree.name = name
        net = cls(tree)
        net.nodes = _Compiler(tree).compile()
        net.nominal = net._evaluate(net._context(Config(), nominal=True), net.input_shape(Config()), check=True)
        return net

    @classmethod
    def from_file(cls, path: str | Path) -> Network:
        path = Path(path)
        limit = 4 * MAX_SPEC_CHARS  # UTF-8 takes at most 4 bytes a character
        try:
            with path.open("rb") as file:
                data = file.read(limit + 1)  # never more: a larger file is refused unread
            if len(data) > limit:
                raise MbcostError(f"{path}: a spec is at most {MAX_SPEC_CHARS:,} characters; this file is larger")
            text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
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

    @property
    def layers(self) -> list[LayerDef]:
        """Every layer definition (merges included), in execution order."""
        return list(_walk(self.nodes))

    @property
    def classes(self) -> int | None:
        classifier = next((d for d in self.layers if d.classifier), None)
        return getattr(classifier, "out_declared", None) if classifier else None

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

    @property
    def has_stages(self) -> bool:
        return _has_stage(self.tree.body) or any(_has_stage(b.body) for b in self.tree.blocks.values())

    def deepened(self, depth_mult: Fraction) -> Network:
        """This network with every ``stage N`` made ceil(D·N) blocks deep."""
        depth_mult = Fraction(depth_mult)
        if depth_mult == 1:
            return self
        if not self.has_stages:
            raise MbcostError(f"{self.name} has no 'stage N {{ ... }}' to deepen: a depth multiplier other than 1"
                              " applies to specs that mark their stages (e.g. efficientnet_b0, resnet50)")
        cache = self.__dict__.setdefault("_deepened", {})
        if depth_mult not in cache:
            net = Network(self.tree)
            net.nodes = _Compiler(self.tree, depth_mult).compile()
            net.nominal = net._evaluate(net._context(Config(), nominal=True), net.input_shape(Config()), check=False)
            cache[depth_mult] = net
        return cache[depth_mult]

    def preset(self, name: str, description: str, alpha=1, depth_mult=1, resolution: int | None = None) -> Network:
        """This spec at published width, depth and resolution coefficients, as a
        network of its own (EfficientNet-B2 is B0 at width 1.1, depth 1.2, 260
        px): its rows, totals and checks are those of ``analyze(base, alpha=...,
        depth_mult=..., resolution=...)``. Only --res and the conventions apply
        to a preset; its alpha and depth are its definition."""
        alpha, depth_mult = Fraction(str(alpha)), Fraction(str(depth_mult))
        deep = self.deepened(depth_mult)
        h, w, c = self.tree.input
        tree = replace(self.tree, name=name, description=description,
                       input=(resolution, resolution, c) if resolution else (h, w, c))
        net = Network(tree, nodes=deep.nodes, preset_of=self.name, base_alpha=alpha, base_depth=depth_mult)
        net.nominal = net._evaluate(net._context(Config(), nominal=False), net.input_shape(Config()), check=False)
        return net

    def evaluate(self, config: Config = Config()) -> list[Instance]:
        """One Instance per layer at ``config`` (shape errors name the layer)."""
        if self.preset_of is not None and (config.alpha != 1 or config.depth_mult != 1):
            raise MbcostError(
                f"{self.name} is {self.preset_of} at alpha {float(self.base_alpha):g}, depth multiplier "
                f"{float(self.base_depth):g} and {self.tree.input[0]} px: to change its width or depth, give "
                f"{self.preset_of} --alpha/--depth-mult (and --res) instead")
        if config.classes is not None and not any(d.classifier for d in self.layers):
            raise MbcostError(
                f"--classes {config.classes}: {self.name} has no classifier (its last layer with weights is not a "
                "fully connected one and it has no 'classes' line or 'logits' flag), so there is no class count to "
                "set; mark the classifier 'logits' or add a 'classes N' line")
        if config.depth_mult != 1:
            return self.deepened(config.depth_mult).evaluate(replace(config, depth_mult=Fraction(1)))
        if replace(config, count=PAPER_COUNT, params="weights") == Config():
            return self.nominal  # counting conventions do not change shapes
        ctx = self._context(config, nominal=False)
        x = self.input_shape(config)
        instances = self._evaluate(ctx, x, check=False)
        if (x.h, x.w) != tuple(self.tree.input[:2]) and self._has_fc:
            self._check_fc_inputs(instances, ctx, x)
        return instances

    @property
    def _has_fc(self) -> bool:
        return any(layer.fully_connected for layer in self.layers)

    def _check_fc_inputs(self, instances: list[Instance], ctx: Context, x: Shape) -> None:
        """A fully connected layer takes a fixed number of inputs. If this
        resolution changes that number, the network it makes is not the spec's
        (nor any published one): refuse, naming the layer, rather than print it."""
        h, w, c = self.tree.input
        own = self._evaluate(ctx, Shape(h, w, c), check=False)  # this width, the spec's own resolution
        for inst, ref in zip(instances, own):
            if not inst.layer.fully_connected or inst.input.c == ref.input.c:
                continue
            feed = own[ref.sources[0]] if ref.sources and ref.sources[0] >= 0 else None
            size = f"{feed.input.h}x{feed.input.w}" if feed is not None and feed.input.h * feed.input.w > 1 else ""
            hint = (f" Pool to a fixed size before it ('adaptive avgpool {size}', as torchvision's VGG and AlexNet"
                    " do) or globally, so that it exists at any resolution." if size else "")
            raise inst.layer.fail(
                ctx,
                f"at {x.h}×{x.w} its input has {inst.input.c:,} values, at the spec's own {h}×{w} {ref.input.c:,}:"
                f" a fully connected layer is made for one input size, so this resolution makes a network that"
                f" does not exist.{hint}",
            )

    def _context(self, config: Config, nominal: bool) -> Context:
        return Context(self.tree.source, self.tree.lines, nominal=nominal, alpha=config.alpha * self.base_alpha,
                       min_depth=self.min_depth(config), divisor=self.divisor(config), classes=config.classes)

    def divisor(self, config: Config) -> int:
        """The channel divisor in force: --divisor, else the spec's 'width' rule."""
        return config.divisor if config.divisor is not None else self.tree.width_divisor

    def min_depth(self, config: Config) -> int:
        """The minimum depth in force: --min-depth, else the spec's 'width' rule."""
        return config.min_depth if config.min_depth is not None else self.tree.width_min_depth

    def _evaluate(self, ctx: Context, x: Shape, check: bool) -> list[Instance]:
        out: list[Instance] = []
        _run(self.nodes, x, -1, out, ctx, check)
        return out


#: The most digits a feature map's size (H·W·C) may have: a row's counts multiply
#: a map by at most a kernel (two numbers of MAX_DIGITS) and another map, so they
#: stay below Python's 4,300-digit limit on printing an integer.
MAX_MAP_DIGITS = 1500
MAX_MAP_BITS = int(MAX_MAP_DIGITS * 3.3219)


def _run(nodes: list, x: Shape, src: int, out: list[Instance], ctx: Context, check: bool) -> tuple[Shape, int]:
    """Evaluate ``nodes`` from shape ``x`` produced by instance ``src``; append
    the instances to ``out``; return the last output shape and its producer."""
    for node in nodes:
        if isinstance(node, ConcatNode):
            ends = [_run(branch, x, src, out, ctx, check) for branch in node.branches]
            inst = node.merge.resolve_many([shape for shape, _ in ends], ctx)
            inst.sources = tuple(index for _, index in ends)
        elif isinstance(node, ResidualNode):
            shape, index = _run(node.body, x, src, out, ctx, check)
            inst = node.merge.resolve_many([x, shape], ctx)
            inst.sources = (src, index)
        else:
            stmt = node.stmt
            if check and stmt.input_size is not None and tuple(stmt.input_size) != (x.h, x.w, x.c):
                given = "×".join(str(v) for v in stmt.input_size)
                raise ctx.error(
                    f"input size mismatch at layer {node.name}: the spec says {given}, the layers before give {x}",
                    stmt.input_loc,
                )
            inst = node.resolve(x, ctx)
            inst.sources = (src,)
        if inst.output.numel.bit_length() > MAX_MAP_BITS:
            digits = int(inst.output.numel.bit_length() * 0.30103) + 1
            raise inst.layer.fail(ctx, f"its output map has H·W·C of about {digits:,} digits; at most"
                                       f" {MAX_MAP_DIGITS:,}, so that every count of the network can be printed")
        out.append(inst)
        x, src = inst.output, len(out) - 1
    return x, src


def _has_stage(nodes: list) -> bool:
    for node in nodes:
        if isinstance(node, Stage):
            return True
        inner = getattr(node, "body", None) or [n for b in getattr(node, "branches", []) for n in b.body]
        if inner and _has_stage(inner):
            return True
    return False


def _walk(nodes: list):
    for node in nodes:
        if isinstance(node, ConcatNode):
            for branch in node.branches:
                yield from _walk(branch)
            yield node.merge
        elif isinstance(node, ResidualNode):
            yield from _walk(node.body)
            yield node.merge
        else:
            yield node


_PARAM_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_DEPTH = 32
#: The largest network a spec may expand to, in layers (rows), counted before
#: anything is expanded: generous for real networks (the zoo's largest has a few
#: hundred rows), and small enough to analyse in well under a minute.
MAX_LAYERS = 20_000
#: How deeply constructs and block calls together may nest in the expanded
#: network (each level is a few frames of the compiler's and the evaluator's
#: recursion; Python allows about 1,000).
MAX_EXPANDED_DEPTH = 100


@dataclass
class _Scope:
    prefix: str
    counters: dict[str, int] = field(default_factory=dict)


class _Compiler:
    """Expand repeats and block calls, name every layer, find the classifier."""

    def __init__(self, tree: SpecTree, depth_mult: Fraction = Fraction(1)) -> None:
        self.tree = tree
        self.ctx = Context(tree.source, tree.lines)
        self.names: set[str] = set()
        self.depth = 0
        self.depth_mult = depth_mult

    def stage_count(self, n: int) -> int:
        """Blocks in a stage of ``n`` at the depth multiplier: ceil(D·n) (EfficientNet's rule)."""
        return math.ceil(self.depth_mult * n)

    def compile(self) -> list:
        self.check_size()
        nodes = self.body(self.tree.body, _Scope(""), {}, "")
        layers = list(_walk(nodes))
        if not layers:
            raise SpecError("the spec defines no layers", source=self.tree.source)
        self.find_classifier(layers)
        return nodes

    def name(self, scope: _Scope, label: str | None, kind: str, suffix: str, loc: Loc) -> str:
        if label:
            name = scope.prefix + label + suffix
            if name in self.names:
                raise self.ctx.error(f"the name '{label}' is used twice", loc)
        else:
            while True:
                scope.counters[kind] = scope.counters.get(kind, 0) + 1
                name = f"{scope.prefix}{kind}{scope.counters[kind]}"
                if name not in self.names:
                    break
        self.names.add(name)
        return name

    def body(self, nodes: list, scope: _Scope, env: dict, suffix: str) -> list:
        out: list = []
        for node in nodes:
            if isinstance(node, Repeat):
                for i in range(1, node.count + 1):
                    out += self.body(node.body, scope, env, f"{suffix}_{i}")
            elif isinstance(node, Stage):
                for i in range(1, self.stage_count(node.count) + 1):
                    part = node.first if i == 1 or not node.rest else node.rest
                    out += self.body(part, scope, env, f"{suffix}_{i}")
            elif isinstance(node, Concat):
                name = self.name(scope, node.label, node.op, suffix, node.loc)
                branches, names, locs = [], [], []
                for branch in node.branches:
                    bname = self.name(scope, branch.label, "b", suffix, branch.loc)
                    branches.append(self.body(branch.body, _Scope(bname + "."), env, ""))
                    names.append(bname[len(scope.prefix):])
                    locs.append(branch.loc)
                out.append(ConcatNode(merge(node.op, name, node.loc, names, locs), branches))
            elif isinstance(node, Residual):
                name = self.name(scope, node.label, "add", suffix, node.loc)
                out.append(ResidualNode(merge("add", name, node.loc), self.body(node.body, scope, env, suffix)))
            elif isinstance(node, BlockCall):
                out += self.call(node, scope, env, suffix)
            else:
                stmt = self.substitute(node, env)
                out.append(KINDS[stmt.kind].define(stmt, self.name(scope, stmt.label, stmt.kind, suffix, stmt.loc),
                                                   self.ctx))
        return out

    def check_size(self) -> None:
        """Count the rows the spec expands to, and how deeply its constructs and
        calls nest once expanded, without expanding it (repeat counts multiply, a
        block is measured once), and refuse more than MAX_LAYERS rows or
        MAX_EXPANDED_DEPTH levels, naming the construct."""
        measured: dict[str, tuple[int, int]] = {}
        visiting: list[str] = []

        def block(name: str, loc: Loc) -> tuple[int, int]:
            if name in measured:
                return measured[name]
            definition = self.tree.blocks.get(name)
            if definition is None:
                return 1, 0  # an unknown block: the compiler reports it where it is called
            if name in visiting or len(visiting) >= MAX_DEPTH:
                raise self.ctx.error(f"blocks nest deeper than {MAX_DEPTH} (does '{name}' call itself?)", loc)
            visiting.append(name)
            measured[name] = body(definition.body)
            visiting.pop()
            return measured[name]

        def node(n) -> tuple[int, int]:
            if isinstance(n, Repeat):
                size, depth = body(n.body)
                return n.count * size, depth + 1
            if isinstance(n, Stage):
                first, d1 = body(n.first)
                rest, d2 = body(n.rest) if n.rest else (first, d1)
                return first + (self.stage_count(n.count) - 1) * rest, max(d1, d2) + 1
            if isinstance(n, Concat):
                inner = [body(b.body) for b in n.branches]
                return 1 + sum(s for s, _ in inner), 1 + max(d for _, d in inner)
            if isinstance(n, Residual):
                size, depth = body(n.body)
                return 1 + size, depth + 1
            if isinstance(n, BlockCall):
                size, depth = block(n.block, n.loc)
                return size, depth + 1
            return 1, 0

        def body(nodes: list) -> tuple[int, int]:
            total, deepest = 0, 0
            for n in nodes:
                size, depth = node(n)
                if size > MAX_LAYERS:
                    what = (f"a repeat of {n.count}" if isinstance(n, Repeat) else
                            f"a stage of {self.stage_count(n.count)}" if isinstance(n, Stage) else "this construct")
                    raise self.ctx.error(f"{what} expands to {size:,} layers; a spec may make at most"
                                         f" {MAX_LAYERS:,}", n.loc)
                if depth > MAX_EXPANDED_DEPTH:
                    raise self.ctx.error(f"this construct nests {depth} levels deep once its blocks are expanded;"
                                         f" at most {MAX_EXPANDED_DEPTH}", n.loc)
                total, deepest = total + size, max(deepest, depth)
            return total, deepest

        total, _ = body(self.tree.body)
        if total > MAX_LAYERS:
            raise SpecError(f"the spec expands to {total:,} layers; at most {MAX_LAYERS:,}", source=self.tree.source)

    def call(self, call: BlockCall, scope: _Scope, env: dict, suffix: str) -> list:
        block = self.tree.blocks.get(call.block)
        if block is None:
            import difflib  # only on this error path

            close = difflib.get_close_matches(call.block, list(self.tree.blocks), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise self.ctx.error(f"unknown block '{call.block}'{hint}", call.loc)
        if len(call.args) > len(block.params):
            raise self.ctx.error(f"block '{block.name}' takes {len(block.params)} arguments, got {len(call.args)}",
                                 call.args[len(block.params)][1])
        bound: dict[str, int] = {}
        for param, (value, loc) in zip(block.params, call.args):
            bound[param] = self.argument(value, loc, env)
        for key, (value, loc) in call.kwargs.items():
            if key not in block.params:
                raise self.ctx.error(f"block '{block.name}' has no parameter '{key}' ({', '.join(block.params)})", loc)
            if key in bound:
                raise self.ctx.error(f"argument '{key}' given twice", loc)
            bound[key] = self.argument(value, loc, env)
        missing = [p for p in block.params if p not in bound]
        if missing:
            raise self.ctx.error(f"block '{block.name}' needs {', '.join(missing)}", call.loc)
        if self.depth >= MAX_DEPTH:
            raise self.ctx.error(f"blocks nest deeper than {MAX_DEPTH} (does '{block.name}' call itself?)", call.loc)
        name = self.name(scope, call.label, block.name, suffix, call.loc)
        self.depth += 1
        try:
            return self.body(block.body, _Scope(name + "."), bound, "")
        finally:
            self.depth -= 1

    def argument(self, value, loc: Loc, env: dict) -> int:
        if isinstance(value, Param):
            if value not in env:
                raise self.ctx.error(f"unknown parameter '{{{value}}}'", loc)
            return env[value]
        if value <= 0:
            raise self.ctx.error("block arguments must be positive", loc)
        return value

    def substitute(self, stmt: LayerStmt, env: dict) -> LayerStmt:
        """The statement with ``{param}`` replaced by the call's values and ``?``
        by None (inferred input channels)."""

        def value(v, loc):
            if isinstance(v, Param):
                if v not in env:
                    where = "outside a block" if not env else "in this block"
                    raise self.ctx.error(f"unknown parameter '{{{v}}}' {where}", loc)
                return env[v]
            return None if v == "?" else v

        changes = {}
        if stmt.dims is not None and any(not isinstance(d, int) for d in stmt.dims):
            changes["dims"] = tuple(value(d, stmt.dims_loc) for d in stmt.dims)
        if stmt.input_size is not None and any(isinstance(d, Param) for d in stmt.input_size):
            changes["input_size"] = tuple(value(d, stmt.input_loc) for d in stmt.input_size)
        if any("{" in raw for raw, _ in stmt.options.values()):
            options = {}
            for key, (raw, loc) in stmt.options.items():
                options[key] = (_PARAM_RE.sub(lambda m: str(value(Param(m.group(1)), loc)), raw), loc)
            changes["options"] = options
        return replace(stmt, **changes) if changes else stmt

    def find_classifier(self, layers: list[LayerDef]) -> None:
        tree, ctx = self.tree, self.ctx
        flagged = [layer for layer in layers if "logits" in layer.stmt.flags]
        if len({id(layer.stmt) for layer in flagged}) > 1:
            raise ctx.error("only one layer can be marked 'logits'", flagged[-1].stmt.flags["logits"])
        weighted = [layer for layer in layers if layer.weighted]
        classifier = flagged[-1] if flagged else None
        if classifier is None and weighted and (tree.classes is not None or weighted[-1].fully_connected):
            classifier = weighted[-1]  # a network without an FC or 'classes' is a feature extractor
        if classifier is not None:
            classifier.classifier = True
            declared = getattr(classifier, "out_declared", 0)
            if tree.classes is not None and declared and declared != tree.classes:
                raise ctx.error(
                    f"the classifier {classifier.name} has {declared} outputs but 'classes' says {tree.classes}",
                    classifier.stmt.dims_loc,
                )
