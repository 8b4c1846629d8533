"""The cost table types, whoever counted them: a layer row, totals, the shares by
type, :class:`CostTable` (what every table shares), :class:`Analysis` (a spec
evaluated by the symbolic core, which keeps its network and instances) and
:class:`ModelTable` (a built model's table, filled by the torch and ONNX adapters).
Pure Python: no adapter, renderer or framework is imported here."""

from __future__ import annotations

from dataclasses import dataclass

from mbcost.core.conventions import COUNT_NAMES, PARAM_CONVENTIONS, alpha_number, counted_text, fmt_alpha, params_total
from mbcost.errors import MbcostError
from mbcost.results.frames import Framed, Rows
from mbcost.kinds import Instance, Shape
from mbcost.kinds.base import NamedFormula, stride_text
from mbcost.core.network import Config, Network


@dataclass(frozen=True)
class LayerRow:
    """One layer's shapes and costs. ``params`` follows the analysis' parameter
    convention; ``weights``, ``biases`` and ``norm`` are always all given."""

    name: str
    kind: str  # spec keyword: conv, dw, fc, avgpool, ...
    type: str  # as Table 1 prints it: Conv, Conv dw, FC, Avg Pool
    category: str  # the breakdown's group: Conv 1×1, Conv DW 3×3, ...
    stride: tuple[int, int] | None  # None: a rolled-up row whose sizes show no stride
    filter: str
    input: Shape
    output: Shape
    mult_adds: int
    weights: int
    biases: int
    norm: int
    params: int
    formula: str
    line: int
    kernel: tuple[int, int] | None = None  # a conv's or pool's window; None for other kinds
    #: a torch model's tensors in its own layout (N x C x H x W), for display; None for specs (H x W x C)
    input_dims: tuple[int, ...] | None = None
    output_dims: tuple[int, ...] | None = None
    #: the formula in named factors, for a table cell, where the kind writes one (attention); None: ``formula``
    named_formula: NamedFormula | None = None

    @property
    def input_text(self) -> str:
        return "×".join(map(str, self.input_dims)) if self.input_dims else str(self.input)

    @property
    def output_text(self) -> str:
        return "×".join(map(str, self.output_dims)) if self.output_dims else str(self.output)

    @property
    def activations(self) -> int:
        """Output activations (elements of the output feature map)."""
        return self.output.numel

    @property
    def flops(self) -> int:
        return 2 * self.mult_adds

    @property
    def type_stride(self) -> str:
        return self.type if self.stride is None else f"{self.type} / {stride_text(self.stride)}"


@dataclass(frozen=True)
class Totals:
    mult_adds: int
    params: int
    weights: int
    biases: int
    norm: int
    activations: int

    @property
    def flops(self) -> int:
        return 2 * self.mult_adds


@dataclass(frozen=True)
class TypeShare:
    """One row of the breakdown by layer type (the paper's Table 2)."""

    type: str
    mult_adds: int
    mult_adds_pct: float
    params: int
    params_pct: float


def _pct(part: int, whole: int) -> float:
    return 100 * part / whole if whole else 0.0  # int / int: exact, never overflows for a ratio


class CostTable(Framed):
    """What every cost table shares, whoever counted it: the stated conventions,
    totals, shares, the breakdown by type and the JSON contract. Subclasses set
    ``model``, ``config``, ``input`` (Shape), ``layers`` (LayerRow) and ``total``."""

    model: str
    config: Config
    input: Shape
    layers: list[LayerRow]
    total: Totals

    @staticmethod
    def totals(rows: list[LayerRow]) -> Totals:
        return Totals(
            mult_adds=sum(r.mult_adds for r in rows),
            params=sum(r.params for r in rows),
            weights=sum(r.weights for r in rows),
            biases=sum(r.biases for r in rows),
            norm=sum(r.norm for r in rows),
            activations=sum(r.activations for r in rows),
        )

    # -- settings, in words ---------------------------------------------
    @property
    def alpha(self) -> float:
        return float(self.config.alpha)

    @property
    def resolution(self) -> int:
        """Input height (the side, for square inputs)."""
        return self.input.h

    @property
    def counted(self) -> list[str]:
        return [c for c in COUNT_NAMES if c in self.config.count]

    def counted_text(self) -> str:
        return counted_text(self.config.count)

    def params_text(self) -> str:
        return "params: " + PARAM_CONVENTIONS[self.config.params]

    def pct(self, row: LayerRow) -> float:
        return _pct(row.mult_adds, self.total.mult_adds)

    # -- breakdown ------------------------------------------------------
    def _type_groups(self):
        """(type, mult_adds, params) pieces to group; one per row by default."""
        return ((r.category, r.mult_adds, r.params) for r in self.layers)

    def by_type(self) -> list[TypeShare]:
        """Mult-Adds and parameters by layer type, largest Mult-Adds first; types
        that cost nothing under the current conventions are left out."""
        groups: dict[str, list[int]] = {}
        for name, mult_adds, params in self._type_groups():
            acc = groups.setdefault(name, [0, 0])
            acc[0] += mult_adds
            acc[1] += params
        shares = [
            TypeShare(name, ma, _pct(ma, self.total.mult_adds), pa, _pct(pa, self.total.params))
            for name, (ma, pa) in groups.items()
            if ma or pa
        ]
        return Rows(sorted(shares, key=lambda s: (-s.mult_adds, -s.params, s.type)),
                    lambda s: {"type": s.type, "mult_adds": s.mult_adds, "mult_adds_pct": s.mult_adds_pct,
                               "params": s.params, "params_pct": s.params_pct}, "By layer type")

    # -- exports --------------------------------------------------------
    def _header(self, unit: str) -> dict:
        return {"model": self.model, "alpha": alpha_number(self.config.alpha), "resolution": self.resolution,
                "depth_mult": alpha_number(self.config.depth_mult),
                **self._preset(),
                "input": self.input.as_list(), "unit": unit, "counted": self.counted,
                "params_convention": self.config.params}

    def _preset(self) -> dict:
        """What a preset network is (Analysis of a zoo preset); nothing otherwise."""
        return {}

    @property
    def settings_text(self) -> str:
        """The heading: 'mobilenet_v1 · alpha 0.5 · input 160×160×3'."""
        return f"{self.model} · alpha {fmt_alpha(self.config.alpha)} · input {self.input}"

    def _layer_extra(self, row: LayerRow) -> dict:
        return {}

    def _extra(self) -> dict:
        return {}

    def to_dict(self, unit: str = "mult-adds") -> dict:
        """The JSON contract (docs/json-format.md). Counts are integers;
        ``mult_adds`` is always Mult-Adds, ``flops`` is added when unit is flops."""
        flops = unit == "flops"

        def counts(obj) -> dict:
            out = {"mult_adds": obj.mult_adds}
            if flops:
                out["flops"] = obj.flops
            return out

        return {
            **self._header(unit),
            "layers": [
                {
                    "name": r.name,
                    "type": r.type,
                    "category": r.category,
                    "stride": None if r.stride is None else list(r.stride),
                    "filter": r.filter,
                    "input": r.input.as_list(),
                    "output": r.output.as_list(),
                    **counts(r),
                    "mult_adds_pct": round(self.pct(r), 4),
                    "params": r.params,
                    "weights": r.weights,
                    "biases": r.biases,
                    "norm": r.norm,
                    "activations": r.activations,
                    **self._layer_extra(r),
                }
                for r in self.layers
            ],
            "total": {
                **counts(self.total),
                "params": self.total.params,
                "params_breakdown": {
                    "weights": self.total.weights,
                    "biases": self.total.biases,
                    "norm": self.total.norm,
                },
                "activations": self.total.activations,
            },
            "by_type": [
                {
                    "type": s.type,
                    "mult_adds": s.mult_adds,
                    "mult_adds_pct": round(s.mult_adds_pct, 4),
                    "params": s.params,
                    "params_pct": round(s.params_pct, 4),
                }
                for s in self.by_type()
            ],
            **self._extra(),
        }

    def records(self) -> list[dict]:
        """One row per layer: shapes split into ints, counts as ints (for
        ``to_frame()``, a notebook, CSV)."""
        return [
            {
                "name": r.name, "kind": r.kind, "type": r.type, "category": r.category,
                "kernel_h": r.kernel[0] if r.kernel else None, "kernel_w": r.kernel[1] if r.kernel else None,
                "stride_h": r.stride and r.stride[0], "stride_w": r.stride and r.stride[1], "filter": r.filter,
                "in_h": r.input.h, "in_w": r.input.w, "in_c": r.input.c,
                "out_h": r.output.h, "out_w": r.output.w, "out_c": r.output.c,
                "mult_adds": r.mult_adds, "params": r.params, "weights": r.weights, "biases": r.biases,
                "norm": r.norm, "activations": r.activations, "mult_adds_pct": self.pct(r), "formula": r.formula,
            }
            for r in self.layers
        ]


def dims_shape(dims: tuple[int, ...]) -> Shape:
    """A batch-first shape as H x W x C: NCHW maps to (H, W, C), (N, C) to 1 x 1 x C,
    (N, L, C) to 1 x L x C; anything else to 1 x 1 x (all but the batch)."""
    if len(dims) == 4:
        return Shape(dims[2], dims[3], dims[1])
    if len(dims) == 3:
        return Shape(1, dims[1], dims[2])
    if len(dims) == 2:
        return Shape(1, 1, dims[1])
    n = 1
    for d in dims[1:]:
        n *= d
    return Shape(1, 1, n)


#: The rows of a built model's table shown by default (``mbcost table --torch``): with its
#: heading, notes and the breakdown by type, a table a screen or two long.
SCREEN_ROWS = 50


class ModelTable(CostTable):
    """A cost table counted from a built model (a torch module, an ONNX graph)
    rather than a spec: its input is the model's own (N x C x H x W), its rows are
    the model's modules, and it says which counter made it."""

    #: 'torch' or 'onnx'; the counter's name; the phrase added to what was counted
    source = ""
    counter = ""
    counted_by = ""
    input_shape: tuple[int, ...] = ()

    @property
    def input_text(self) -> str:
        return "x".join(str(d) for d in self.input_shape)

    def counted_text(self) -> str:
        return super().counted_text() + f" · {self.counted_by}"

    def _header(self, unit: str) -> dict:
        return {"model": self.model, "source": self.source, "input": list(self.input_shape), "unit": unit,
                "counted": self.counted, "counter": self.counter, "params_convention": self.config.params}

    def _layer_extra(self, row: LayerRow) -> dict:
        return {"module": row.kind, "formula": row.formula, "input_dims": list(row.input_dims or ()),
                "output_dims": list(row.output_dims or ())}

    #: operators not in the operator table (mbcost.adapters.operators): op -> {"calls": n, "rows": [...]};
    #: they count nothing, so the total is incomplete
    not_counted: dict = {}
    #: operators of the table that ran and count nothing under this convention: op -> calls
    counted_as_nothing: dict = {}
    #: parameters shared by several modules: module -> (parameters, the module they are credited to)
    shared: dict = {}

    @property
    def complete(self) -> bool:
        return not self.not_counted

    def _extra(self) -> dict:
        return {"total_complete": self.complete,
                "not_counted": {op: dict(v) for op, v in sorted(self.not_counted.items())},
                "counted_as_nothing": dict(sorted(self.counted_as_nothing.items())),
                "shared_params": {m: {"params": n, "shared_with": first} for m, (n, first) in self.shared.items()}}

    #: the leaf rows behind rolled-up ones (``rolled``): the breakdown by type reads these
    leaf_layers: list | None = None
    #: module name -> class name, for naming rolled-up rows
    classes: dict | None = None

    def _type_groups(self):
        return ((r.category, r.mult_adds, r.params) for r in (self.leaf_layers or self.layers))

    #: the module depth a rolled view was rolled up to (None: every row), and the rows it leaves out
    #: (their class names, in order): rows at 0 Mult-Adds and 0 params, in :meth:`screenful`
    rolled_depth: int | None = None
    hidden: tuple = ()

    def rolled(self, max_depth: int, fold_zero: bool = False) -> ModelTable:
        """The rows rolled up the module hierarchy to ``max_depth`` dotted levels
        (as fvcore's and torchinfo's depth): a module deeper than that is summed
        into its ancestor at that depth. A rolled-up row's stride is what its
        input and output sizes say (112→56: s2), none where they do not say one.
        ``fold_zero``: rows at 0 Mult-Adds and 0 params that are not inside a
        costed row (a ReLU, an Identity, a ZeroPad2d, a pool under the paper's
        convention) are left out and listed in ``hidden``. Totals and the
        breakdown by type are the leaf rows', unchanged."""
        import copy

        if max_depth < 1:
            raise MbcostError(f"--max-depth must be 1 or more, got {max_depth}")
        groups: dict[str, list[LayerRow]] = {}
        for r in self.layers:
            key = r.name if r.name == "(model)" else ".".join(r.name.split(".")[:max_depth])
            groups.setdefault(key, []).append(r)
        rows, hidden = [], []
        for key, members in groups.items():
            if fold_zero and not any(m.mult_adds or m.params for m in members):
                hidden += [m.kind for m in members]
                continue
            if len(members) == 1 and members[0].name == key:
                rows.append(members[0])
                continue
            cls = (self.classes or {}).get(key)  # an ONNX graph's scopes name no class: the row says what it sums
            w, b, n = (sum(getattr(m, f) for m in members) for f in ("weights", "biases", "norm"))
            rows.append(LayerRow(
                name=key, kind=cls or key, type=cls or f"{len(members)} rows", category=cls or key,
                stride=size_stride(members[0].input_dims, members[-1].output_dims), filter="",
                input=members[0].input, output=members[-1].output, mult_adds=sum(m.mult_adds for m in members),
                weights=w, biases=b, norm=n, params=sum(m.params for m in members), formula="", line=0,
                input_dims=members[0].input_dims, output_dims=members[-1].output_dims))
        out = copy.copy(self)
        out.layers, out.leaf_layers = rows, self.leaf_layers or self.layers
        out.rolled_depth, out.hidden = max_depth, tuple(hidden)
        return out

    def screenful(self, rows: int = SCREEN_ROWS) -> ModelTable:
        """The default view of a built model, as torchinfo's: every row if there are
        at most ``rows``, else rolled up (:meth:`rolled`, zero-cost rows folded) to
        the deepest module depth that shows at most ``rows`` (depth 1 at least)."""
        if len(self.layers) <= rows:
            return self
        deepest = max(len(r.name.split(".")) for r in self.layers)
        for depth in range(deepest, 0, -1):
            view = self.rolled(depth, fold_zero=True)
            if len(view.layers) <= rows or depth == 1:
                return view
        raise AssertionError("unreachable")


def size_stride(input_dims, output_dims) -> tuple[int, int] | None:
    """The stride a block's input and output sizes show (N×C×H×W in, N×C×H/s×W/s
    out: s), or None where they show none (not images, not a whole division)."""
    if not input_dims or not output_dims or len(input_dims) != 4 or len(output_dims) != 4:
        return None
    (h, w), (ho, wo) = input_dims[2:], output_dims[2:]
    if not (ho and wo) or h % ho or w % wo:
        return None
    return h // ho, w // wo


class Analysis(CostTable):
    """The cost of one network at one configuration, from the symbolic core. It
    keeps what it was counted from: ``network`` and its evaluation ``instances``
    (memory, latency, the checks and the profilers read them, never evaluating again)."""

    def __init__(self, network: Network, config: Config, instances: list[Instance]) -> None:
        self.network = network
        #: the evaluation the rows were counted from (one Instance per row, with its sources: the graph)
        self.instances = instances
        self.config = config
        self.model = network.name
        self.description = network.description
        self.input = instances[0].input
        rows = []
        self._parts = [inst.parts(config.count) for inst in instances]
        for inst, parts in zip(instances, self._parts):
            weights = sum(p.weights for p in parts)
            biases = sum(p.biases for p in parts)
            norm = sum(p.norm for p in parts)
            rows.append(LayerRow(
                name=inst.layer.name,
                kind=inst.layer.stmt.kind,
                type=inst.layer.type_name,
                category=parts[0].category if parts else inst.layer.type_name,
                stride=inst.stride,
                filter=inst.filter,
                input=inst.input,
                output=inst.output,
                mult_adds=sum(p.mult_adds for p in parts),
                weights=weights,
                biases=biases,
                norm=norm,
                params=params_total(weights, biases, norm, config.params),
                formula=" + ".join(p.formula for p in parts if p.formula),
                line=inst.layer.stmt.loc.line,
                kernel=inst.kernel,
                named_formula=inst.named_formula(config.count),
            ))
        self.layers: list[LayerRow] = rows
        self.total = self.totals(rows)

    def _type_groups(self):
        # by cost part, so a conv row's batch norm counts as BatchNorm, not as the conv
        for parts in self._parts:
            for p in parts:
                yield p.category, p.mult_adds, params_total(p.weights, p.biases, p.norm, self.config.params)

    def _layer_extra(self, row: LayerRow) -> dict:
        return {"formula": row.formula, "line": row.line}

    def _preset(self) -> dict:
        net = self.network
        if not net.preset_of:
            return {}
        return {"preset": {"of": net.preset_of, "alpha": alpha_number(net.base_alpha),
                           "depth_mult": alpha_number(net.base_depth)}}

    @property
    def settings_text(self) -> str:
        """'mobilenet_v1 · alpha 0.5 · input 160×160×3' (and '· depth 1.2' when deepened)."""
        net = self.network
        if net.preset_of:  # efficientnet_b2 is efficientnet_b0 at its coefficients
            return (f"{self.model} ({net.preset_of} · alpha {fmt_alpha(net.base_alpha)} · depth "
                    f"{fmt_alpha(net.base_depth)}) · input {self.input}")
        depth = f" · depth {fmt_alpha(self.config.depth_mult)}" if self.config.depth_mult != 1 else ""
        return f"{self.model} · alpha {fmt_alpha(self.config.alpha)}{depth} · input {self.input}"

    def describe(self) -> str:
        return self.settings_text


