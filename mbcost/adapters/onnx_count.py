"""Count an :class:`~mbcost.graphs.opgraph.OpGraph` (an ONNX model) in mbcost's convention.

One small handle per ONNX operator (as fvcore keys its handles by aten
operator), written from the operator's definition in the ONNX specification and
from nothing in the layer kinds' cost code, so that it is an independent count:

============================================  =====  ==================================================
operator                                      group  Mult-Adds
============================================  =====  ==================================================
``Conv``                                      conv   N·M·Ho·Wo · (C/G)·Kh·Kw (output elements × the
                                                     weight's C/G·Kh·Kw), any groups, pads, dilations
``Gemm``, ``MatMul``                          fc     output elements × the shared dimension K
``BatchNormalization``                        bn     1 per element
``LayerNormalization``, ``GroupNormalization``,  bn     5 per element with a scale, 4 without (fvcore's
``InstanceNormalization``                            convention for these norms)
``MaxPool``, ``AveragePool``, ``LpPool``      pool   Kh·Kw per output element
``GlobalAveragePool``, ``GlobalMaxPool``,     pool   1 per input element
``ReduceMean``
activations (``Relu``, ``Clip``, ``Sigmoid``,  act    1 per output element
``HardSigmoid``, ``HardSwish``, ``Tanh``, ...)
============================================  =====  ==================================================

Additions, products (a squeeze-and-excitation gate, SiLU's ``x·sigmoid(x)``),
concatenation, splits, reshapes, padding, softmax and dropout are never counted,
as for specs and fvcore. Elementwise arithmetic no convention counts (``Div``,
``Pow``, ``ReduceMax``, ...) counts nothing and is listed under ``not counted``.
Any other operator (``ConvTranspose``, ``LSTM``, ``Loop``, ``Einsum``, ...) is an
error that names it: a count that silently skipped it would be wrong.
"""

from __future__ import annotations

import math

from mbcost.results.tables import LayerRow, ModelTable, dims_shape
from mbcost.core.conventions import params_total
from mbcost.errors import MbcostError
from mbcost.core.network import Config
from mbcost.graphs.opgraph import OpGraph, OpNode


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
    weight = _arg(node, graph, 1)  # M x C/G x Kh x Kw
    return math.prod(_out(node, graph)) * math.prod(weight[1:])


def gemm(node, graph):
    a = _arg(node, graph, 0)
    k = a[0] if node.attrs.get("transA") else a[-1]
    return math.prod(_out(node, graph)) * k


def matmul(node, graph):
    a = _arg(node, graph, 0)
    return math.prod(_out(node, graph)) * a[-1]


def per_input(node, graph):
    return math.prod(_arg(node, graph, 0))


def per_output(node, graph):
    return math.prod(_out(node, graph))


def window(node, graph):
    return math.prod(node.attrs.get("kernel_shape") or ()) * math.prod(_out(node, graph))


def norm(node, graph):
    has_scale = len(node.inputs) > 1 and (node.inputs[1] is not None or node.arg_dims[1] is not None)
    return math.prod(_arg(node, graph, 0)) * (5 if has_scale else 4)


#: op -> (counting group, handle)
HANDLES = {
    "Conv": ("conv", conv),
    "Gemm": ("fc", gemm),
    "MatMul": ("fc", matmul),
    "BatchNormalization": ("bn", per_input),
    "LayerNormalization": ("bn", norm),
    "GroupNormalization": ("bn", norm),
    "InstanceNormalization": ("bn", norm),
    "MaxPool": ("pool", window),
    "AveragePool": ("pool", window),
    "LpPool": ("pool", window),
    "GlobalAveragePool": ("pool", per_input),
    "GlobalMaxPool": ("pool", per_input),
    "ReduceMean": ("pool", per_input),
    **{op: ("act", per_output) for op in (
        "Relu", "Clip", "LeakyRelu", "Elu", "Selu", "Celu", "Gelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
        "Mish", "PRelu", "Softplus", "Softsign", "ThresholdedRelu")},
}

#: never counted in any convention (as for specs and fvcore): data movement, the residual addition, the gate
FREE = frozenset({
    "Add", "Mul", "Concat", "Split", "Slice", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze",
    "Pad", "Softmax", "LogSoftmax", "Dropout", "Identity", "Cast", "Gather", "Expand", "Tile", "Resize",
    "Upsample", "DepthToSpace", "SpaceToDepth", "ReduceMax", "ReduceMin", "ReduceSum", "Sub", "Div", "Pow",
    "Sqrt", "Exp", "Log", "Neg", "Abs", "Erf", "Reciprocal", "Max", "Min", "Sum", "Mean", "Where", "Equal",
    "Less", "Greater", "Not", "And", "Or", "ConstantOfShape", "Range", "ArgMax", "ArgMin", "TopK", "Floor",
    "Ceil", "Round", "Sign", "Sin", "Cos", "Trilu", "GatherElements", "ScatterND", "CumSum", "NonZero",
})
#: free operators that are part of a layer, not worth listing as "not counted"
_STRUCTURAL = frozenset({
    "Add", "Mul", "Concat", "Split", "Slice", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Pad",
    "Softmax", "LogSoftmax", "Dropout", "Identity", "Cast", "Gather", "Expand"})


def node_mult_adds(node: OpNode, graph: OpGraph, count) -> int:
    """One operator's Mult-Adds under ``count``; MbcostError for an operator mbcost does not know."""
    handle = HANDLES.get(node.op)
    if handle is None:
        if node.op in FREE:
            return 0
        raise MbcostError(f"{graph.name}: node '{node.name}' uses ONNX operator {node.op}, which mbcost cannot "
                          "count (supported: " + ", ".join(sorted(HANDLES)) + "; free: Add, Concat, Reshape, ...)")
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
              "HardSigmoid": "Hard-sigmoid", "Sigmoid": "Sigmoid", "Softmax": "Softmax", "Flatten": "Flatten"}
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
                 not_counted: dict) -> None:
        self.graph = graph
        self.model = graph.name
        self.description = graph.source
        self.config = config
        self.input_shape = input_shape
        self.input = dims_shape(input_shape)
        self.layers = rows
        self.not_counted = not_counted
        self.total = self.totals(rows)

    source, counter, counted_by = "onnx", "mbcost onnx", "counted from the ONNX graph"

    @property
    def settings_text(self) -> str:
        return f"{self.model} · input {self.input_text} (ONNX)"

    def describe(self) -> str:
        return self.settings_text

    def _extra(self) -> dict:
        return {"not_counted_ops": dict(self.not_counted)}


def analyze_graph(graph: OpGraph, count=("conv", "fc"), params: str | None = None) -> OnnxAnalysis:
    """The cost table of ``graph``: every operator counted by its handle, rows
    grouped by module (in the order each module first runs)."""
    config = Config.make(count=count, params=params or "all")
    groups: dict[str, list[OpNode]] = {}
    not_counted: dict[str, int] = {}
    for node in graph.nodes:
        groups.setdefault(node.module, []).append(node)
        if node.op not in HANDLES and node.op not in _STRUCTURAL:
            node_mult_adds(node, graph, config.count)  # an unknown operator is an error here
            not_counted[node.op] = not_counted.get(node.op, 0) + 1
    rows = []
    for module, nodes in groups.items():
        mult_adds = sum(node_mult_adds(n, graph, config.count) for n in nodes)
        weights = biases = norm_params = 0
        for n in nodes:
            w, b, s = n.param_counts()
            weights, biases, norm_params = weights + w, biases + b, norm_params + s
        main = next((n for n in nodes if n.op in _MAIN), nodes[0])
        label, category, filt, stride, kernel = describe(main, graph)
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
    return OnnxAnalysis(graph, config, rows, tuple(shape), not_counted)


def analyze_onnx(path, input_shape=None, count=("conv", "fc"), params: str | None = None) -> OnnxAnalysis:
    """``mbcost table model.onnx``: read with :func:`mbcost.adapters.onnx_model.read_graph`, then counted."""
    from mbcost.adapters.onnx_model import read_graph

    return analyze_graph(read_graph(path, input_shape), count=count, params=params)
