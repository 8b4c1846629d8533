"""Count an :class:`~mbcost.graphs.opgraph.OpGraph` (an ONNX model) in mbcost's convention.

One small handle per rule of the operator table (:mod:`mbcost.adapters.operators`,
which lists every ONNX operator with its count group and Mult-Adds rule, as for
aten), written from the operator's definition in the ONNX specification and from
nothing in the layer kinds' cost code, so that it is an independent count.

Operators the table has as never counted (additions, products, concatenation,
reshapes, padding, softmax, division, ...) count nothing; the arithmetic among
them is listed as "counted as nothing". An operator not in the table (``Loop``,
a custom domain's, ...) counts nothing too, and is named with its calls and
rows next to the total, which is marked incomplete: a count that skipped it
quietly would be wrong.
"""

from __future__ import annotations

import math

from mbcost.results.tables import LayerRow, ModelTable, dims_shape
from mbcost.core.conventions import params_total
from mbcost.errors import MbcostError
from mbcost.core.network import Config
from mbcost.graphs.opgraph import OpGraph, OpNode
from mbcost.adapters import operators


def _out(node: OpNode, graph: OpGraph) -> tuple[int, ...]:
    return graph.dims[node.outputs[0]]


def _arg(node: OpNode, graph: OpGraph, k: int) -> tuple[int, ...]:
    value = node.inputs[k] if k < len(node.inputs) else None
    if value is not None:
        return graph.dims[value]
    dims = node.arg_dims[k] if k < len(node.arg_dims) else None
    if dims is None:
        raise MbcostError(f"node '{node.name}' ({node.op}): the size of its argument {k} is unknown")
    return dims


def conv(node, graph):
    weight = _arg(node, graph, 1)  # Conv: M x C/G x Kh x Kw; ConvTranspose: C x M/G x Kh x Kw
    return math.prod(_arg(node, graph, 0) if node.op == "ConvTranspose" else _out(node, graph)) * \
        math.prod(weight[1:])


def gemm(node, graph):
    a = _arg(node, graph, 0)
    k = a[0] if node.attrs.get("transA") else a[-1]
    return math.prod(_out(node, graph)) * k


def matmul(node, graph):
    a = _arg(node, graph, 0)
    return math.prod(_out(node, graph)) * a[-1]


def einsum(node, graph):
    """Two or more operands: the product of the sizes of every index letter; one: nothing."""
    terms = str(node.attrs.get("equation", "")).replace(" ", "").partition("->")[0].split(",")
    if len(terms) < 2:
        return 0
    sizes: dict[str, int] = {}
    for k, term in enumerate(terms):
        shape = _arg(node, graph, k)
        head, dots, tail = term.partition("...")
        extra = len(shape) - len(head) - len(tail) if dots else 0
        letters = list(head) + [f"...{extra - i}" for i in range(extra)] + list(tail)
        for letter, size in zip(letters, shape):
            sizes[letter] = max(sizes.get(letter, 1), size)
    return math.prod(sizes.values())


def rnn(node, graph):
    """LSTM/GRU/RNN: steps × batch × the elements of W (gates·H × I per direction) and R (gates·H × H)."""
    x = _arg(node, graph, 0)  # T x B x I (layout 0) or B x T x I (layout 1)
    return math.prod(x[:2]) * (math.prod(_arg(node, graph, 1)) + math.prod(_arg(node, graph, 2)))


def upsample(node, graph):
    """Resize/Upsample: taps per output element (nearest 1, linear 2^d, cubic 4^d over d = rank - 2 axes)."""
    out = _out(node, graph)
    mode = node.attrs.get("mode", "nearest")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    d = max(len(out) - 2, 1)
    taps = {"nearest": 1, "linear": 2 ** d, "cubic": 4 ** d}.get(mode)
    if taps is None:
        raise MbcostError(f"{graph.name}: node '{node.name}' ({node.op}) has mode '{mode}', which mbcost cannot count")
    return taps * math.prod(out)


def per_input(node, graph):
    return math.prod(_arg(node, graph, 0))


def per_output(node, graph):
    return math.prod(_out(node, graph))


def window(node, graph):
    return math.prod(node.attrs.get("kernel_shape") or ()) * math.prod(_out(node, graph))


def norm(node, graph):
    has_scale = len(node.inputs) > 1 and (node.inputs[1] is not None or node.arg_dims[1] is not None)
    return math.prod(_arg(node, graph, 0)) * (5 if has_scale else 4)


#: the operator table's rule key -> its ONNX handle
RULES = {"conv": conv, "linear": gemm, "matmul": matmul, "einsum": einsum, "rnn": rnn, "upsample": upsample,
         "bn": per_input, "norm5": norm, "window": window, "per_input": per_input, "per_output": per_output}

#: op -> (count flag, handle), from the operator table
HANDLES = {op.name: (op.flag, RULES[op.rule]) for op in operators.of_route("onnx") if op.rule != "none"}
#: in the table, and never counted in any convention: data movement, arithmetic no convention counts
FREE = frozenset(op.name for op in operators.of_route("onnx") if op.rule == "none")
#: table operators whose calls are named when they count nothing
_NAMED = frozenset(op.name for op in operators.of_route("onnx") if operators.named_when_nothing(op))


def node_mult_adds(node: OpNode, graph: OpGraph, count) -> int:
    """One operator's Mult-Adds under ``count``; 0 for an operator not in the
    operator table (the caller names it: the total is then incomplete)."""
    handle = HANDLES.get(node.op)
    if handle is None:
        return 0
    group, fn = handle
    return fn(node, graph) if group in count else 0


# -- labels, as the torch route labels the same layers ---------------------------------------------------------

def _pair(value, default=(1, 1)) -> tuple[int, int]:
    if not value:
        return default
    return (int(value[0]), int(value[-1]))


def describe(node: OpNode, graph: OpGraph) -> tuple[str, str, str, tuple[int, int], tuple[int, int] | None]:
    """(type, category, filter, stride, kernel) of one operator."""
    op = node.op
    if op == "Conv":
        m, cg, kh, kw = _arg(node, graph, 1)
        g = int(node.attrs.get("group", 1))
        c = cg * g
        stride = _pair(node.attrs.get("strides"))
        if g == 1:
            return "Conv", f"Conv {kh}×{kw}", f"{kh} × {kw} × {c} × {m}", stride, (kh, kw)
        if g == c:
            filt = f"{kh} × {kw} × {c} dw" if m == c else f"{kh} × {kw} × {c} × {m} g{g}"
            return "Conv dw", f"Conv DW {kh}×{kw}", filt, stride, (kh, kw)
        return "Conv", f"Group Conv {kh}×{kw}", f"{kh} × {kw} × {c} × {m} g{g}", stride, (kh, kw)
    if op in ("Gemm", "MatMul"):
        a = _arg(node, graph, 0)
        k = a[0] if node.attrs.get("transA") else a[-1]
        n = _out(node, graph)[-1]
        return "FC", "Fully Connected", f"{k} × {n}", (1, 1), None
    if op in ("MaxPool", "AveragePool", "LpPool"):
        label = "Max Pool" if op == "MaxPool" else "Avg Pool"
        kh, kw = _pair(node.attrs.get("kernel_shape"))
        return label, label, f"Pool {kh} × {kw}", _pair(node.attrs.get("strides")), (kh, kw)
    if op in ("GlobalAveragePool", "GlobalMaxPool", "ReduceMean"):
        label = "Max Pool" if op == "GlobalMaxPool" else "Avg Pool"
        return label, label, "global", (1, 1), None
    labels = {"BatchNormalization": "BatchNorm", "Relu": "ReLU", "HardSwish": "Hard-swish",
              "HardSigmoid": "Hard-sigmoid", "Sigmoid": "Sigmoid", "Softmax": "Softmax", "Flatten": "Flatten",
              "Gelu": "GELU"}
    if op == "Clip":
        low, high = node.consts.get(1, [None])[0], node.consts.get(2, [None])[0]
        label = "ReLU6" if (low, high) == (0, 6) else "Clip"
        return label, label, "", (1, 1), None
    label = labels.get(op, op)
    return label, label, "", (1, 1), None


_MAIN = ("Conv", "Gemm", "MatMul", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool",
         "BatchNormalization", "LayerNormalization", "GroupNormalization", "InstanceNormalization")


class OnnxAnalysis(ModelTable):
    """An ONNX graph's cost table: one row per module of the torch model it was
    exported from (the scopes in its node names), or per node for other files."""

    def __init__(self, graph: OpGraph, config: Config, rows: list[LayerRow], input_shape: tuple[int, ...],
                 counted_as_nothing: dict, not_counted: dict | None = None) -> None:
        self.graph = graph
        self.model = graph.name
        self.description = graph.source
        self.config = config
        self.input_shape = input_shape
        self.input = dims_shape(input_shape)
        self.layers = rows
        self.counted_as_nothing = counted_as_nothing
        self.not_counted = not_counted or {}
        self.shared = dict(graph.shared)
        self.total = self.totals(rows)

    source, counter, counted_by = "onnx", "mbcost onnx", "counted from the ONNX graph"

    @property
    def shared_rule(self) -> str:
        """How the file's parameters were counted, in words (for the heading's conventions)."""
        if self.graph.ties_known:
            return ("shared parameters once (the file, written by mbcost, names its initializers that are one torch "
                    "tensor)")
        return "each initializer of the file a parameter (the file does not say which are one shared tensor)"

    @property
    def settings_text(self) -> str:
        return f"{self.model} · input {self.input_text} (ONNX)"

    def describe(self) -> str:
        return self.settings_text


def analyze_graph(graph: OpGraph, count=("conv", "fc"), params: str | None = None) -> OnnxAnalysis:
    """The cost table of ``graph``: every operator counted by its handle, rows
    grouped by module (in the order each module first runs)."""
    config = Config.make(count=count, params=params or "all")
    groups: dict[str, list[OpNode]] = {}
    counted_as_nothing: dict[str, int] = {}
    unknown: dict[str, dict] = {}
    for node in graph.nodes:
        groups.setdefault(node.module, []).append(node)
        if node.op not in HANDLES and node.op not in FREE:
            entry = unknown.setdefault(node.op, {"calls": 0, "rows": []})
            entry["calls"] += 1
            row = node.module or "(model)"
            if row not in entry["rows"]:
                entry["rows"].append(row)
        elif node.op in _NAMED and (node.op not in HANDLES or HANDLES[node.op][0] not in config.count):
            counted_as_nothing[node.op] = counted_as_nothing.get(node.op, 0) + 1
    rows = []
    for module, nodes in groups.items():
        mult_adds = sum(node_mult_adds(n, graph, config.count) for n in nodes)
        weights = biases = norm_params = 0
        for n in nodes:
            w, b, s = n.param_counts()
            weights, biases, norm_params = weights + w, biases + b, norm_params + s
        main = next((n for n in nodes if n.op in _MAIN), nodes[0])
        label, category, filt, stride, kernel = describe(main, graph)
        dropped = sorted({n.op for n in nodes if n.op not in HANDLES and n.op not in FREE})
        if dropped:  # never a kind's label with a count its dropped operator is missing from
            label = category = f"{label} (not counted: {', '.join(dropped)})"
        first_in = next((v for n in nodes for v in n.inputs if v is not None), None)
        in_dims = graph.dims[first_in] if first_in else ()
        out_dims = graph.dims[nodes[-1].outputs[0]] if nodes[-1].outputs else in_dims
        rows.append(LayerRow(
            name=module or "(model)", kind="+".join(dict.fromkeys(n.op for n in nodes)), type=label,
            category=category, stride=stride, filter=filt, input=dims_shape(in_dims), output=dims_shape(out_dims),
            mult_adds=int(mult_adds), weights=weights, biases=biases, norm=norm_params,
            params=params_total(weights, biases, norm_params, config.params), formula="", line=0, kernel=kernel,
            input_dims=tuple(in_dims), output_dims=tuple(out_dims)))
    shape = graph.dims[graph.inputs[0]]
    return OnnxAnalysis(graph, config, rows, tuple(shape), counted_as_nothing, unknown)


def analyze_onnx(path, input_shape=None, count=("conv", "fc"), params: str | None = None) -> OnnxAnalysis:
    """``mbcost table model.onnx``: read with :func:`mbcost.adapters.onnx_model.read_graph`, then counted."""
    from mbcost.adapters.onnx_model import read_graph

    return analyze_graph(read_graph(path, input_shape), count=count, params=params)
