"""The operator table: every operator a built model's count can meet, as data.

One entry per operator of the three places a count comes from -- aten
operators as the JIT tracer records them (fvcore's ``FlopCountAnalysis``, on the
meta device and on the CPU), aten operators as the dispatcher sees them
(PyTorch's ``FlopCounterMode``), and ONNX operators (``mbcost table model.onnx``,
``mbcost export``) -- with its count group, whether it is free (pure data
movement), and its Mult-Adds rule (the ``rule`` key names the handle that
computes it: :mod:`mbcost.adapters.counters` for aten, :mod:`mbcost.adapters.onnx_count`
for ONNX; a test checks that every rule has its handle). The ONNX opset mbcost
writes and reads is :data:`OPSET`. docs/spec-format.md's operator list is
generated from this table (``python -m mbcost.adapters.operators
docs/spec-format.md``; tests/test_operators.py keeps it in sync).

Adding an operator is one entry here (and its test). An operator that is not in
the table is never counted as nothing quietly: it is named next to the total
with its calls and rows, and the total is marked incomplete.

Pure Python: importing this module imports neither torch nor onnx.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The ONNX opset mbcost exports at (HardSwish needs 14; 17 has LayerNormalization).
OPSET = 17

#: Count groups of the table, and the ``--count`` flag that counts each
#: (``None``: never counted, in any convention).
GROUP_FLAG = {
    "conv": "conv",
    "fc": "fc",
    "matmul": "fc",  # matrix products of two computed tensors: attention's Q·Kᵀ and A·V, matmul, bmm, einsum
    "attention": "fc",  # a fused attention operator: its projections and its two products
    "rnn": "fc",  # a recurrent layer's weight products, every step
    "norm": "bn",
    "pool": "pool",
    "upsample": "pool",  # interpolation: a window of input values per output element, as a pool
    "act": "act",
    "elementwise": None,  # arithmetic no convention counts: additions, products, divisions, softmax, ...
    "free": None,  # pure data movement or creation: reshapes, slices, concatenation, padding, copies, random numbers
}
GROUP_NAMES = {
    "conv": "convolution", "fc": "fully connected", "matmul": "matrix products (attention)",
    "attention": "fused attention", "rnn": "recurrent", "norm": "normalization", "pool": "pooling",
    "upsample": "upsampling", "act": "activation", "elementwise": "elementwise (never counted)",
    "free": "free (data movement or creation)",
}

#: rule key -> the Mult-Adds rule in words (each rule is one handle per route)
RULES = {
    "conv": "output elements × (C/G)·Kh·Kw (the weight's size per output channel); transposed: input elements × "
            "(M/G)·Kh·Kw",
    "linear": "output elements × in_features",
    "matmul": "output elements × the shared dimension K (broadcast batch dimensions included)",
    "einsum": "two operands: the product of the sizes of every index letter (each output element sums over the "
              "contracted ones); one operand: nothing",
    "sdpa": "Q·Kᵀ and A·V: batch·L·S·E + batch·L·S·Ev (the scale and softmax: not counted)",
    "mha": "3 projections + Q·Kᵀ + A·V + the output projection: batch·(L·E·E + 2·S·E·E + L·S·E + L·S·E + L·E·E)",
    "rnn": "every step, every layer and direction: the weight products, batch·T·(numel W_ih + numel W_hh "
           "(+ W_hr))",
    "rnn_cell": "batch·(numel W_ih + numel W_hh)",
    "bn": "1 per element (inference batch norm folds to x·a + b)",
    "norm5": "5 per element with a scale, 4 without (fvcore's convention for these norms)",
    "window": "Kh·Kw per output element",
    "adaptive": "C·(Σ window heights)·(Σ window widths) (2-D; other ranks: 1 per input element)",
    "per_input": "1 per input element",
    "per_output": "1 per output element",
    "upsample": "taps per output element: nearest 1, linear 2, bilinear 4, bicubic 16, trilinear 8 "
                "(fvcore's convention; ONNX Resize: 1, 2^d or 4^d for d resized axes)",
    "none": "nothing",
}


@dataclass(frozen=True)
class Operator:
    """One operator: ``route`` is ``aten`` (JIT trace: fvcore), ``dispatch``
    (FlopCounterMode) or ``onnx``; ``rule`` a key of :data:`RULES`."""

    name: str
    route: str
    group: str
    rule: str

    @property
    def free(self) -> bool:
        return self.group == "free"

    @property
    def flag(self) -> str | None:
        """The ``--count`` flag that counts this operator (None: never counted)."""
        return GROUP_FLAG[self.group]


def _ops(route: str, group: str, rule: str, names: str) -> list[Operator]:
    return [Operator(n, route, group, rule) for n in names.split()]


def _aten(group: str, rule: str, names: str) -> list[Operator]:
    return _ops("aten", group, rule, " ".join("aten::" + n for n in names.split()))


_INPLACE_ACT = "relu relu6 hardtanh leaky_relu elu silu sigmoid hardswish hardsigmoid tanh mish celu selu"
ATEN = [
    *_aten("conv", "conv", "_convolution _convolution_mode conv1d conv2d conv3d convolution conv_transpose1d "
                           "conv_transpose2d conv_transpose3d"),
    *_aten("fc", "linear", "linear addmm"),
    *_aten("matmul", "matmul", "matmul mm bmm baddbmm addbmm"),
    *_aten("matmul", "einsum", "einsum"),
    *_aten("matmul", "sdpa", "scaled_dot_product_attention"),
    *_aten("attention", "mha", "_native_multi_head_attention"),
    *_aten("rnn", "rnn", "lstm gru rnn_tanh rnn_relu"),
    *_aten("rnn", "rnn_cell", "lstm_cell gru_cell rnn_tanh_cell rnn_relu_cell"),
    *_aten("norm", "bn", "batch_norm"),
    *_aten("norm", "norm5", "group_norm layer_norm instance_norm"),
    *_aten("pool", "window", "max_pool1d max_pool2d max_pool3d avg_pool1d avg_pool2d avg_pool3d "
                             "max_pool2d_with_indices"),
    *_aten("pool", "adaptive", "adaptive_avg_pool2d adaptive_max_pool2d"),
    *_aten("pool", "per_input", "adaptive_avg_pool1d adaptive_max_pool1d adaptive_avg_pool3d adaptive_max_pool3d "
                                "mean"),
    *_aten("upsample", "upsample", "upsample_nearest1d upsample_nearest2d upsample_nearest3d "
                                   "_upsample_nearest_exact1d _upsample_nearest_exact2d _upsample_nearest_exact3d "
                                   "upsample_linear1d upsample_bilinear2d upsample_bicubic2d upsample_trilinear3d "
                                   "_upsample_bilinear2d_aa _upsample_bicubic2d_aa"),
    *_aten("act", "per_output", " ".join(f"{a} {a}_" for a in _INPLACE_ACT.split())
           + " gelu gelu_ prelu softplus softsign hardshrink softshrink clamp clamp_"),
    # efficientnet_pytorch's MemoryEfficientSwish: a custom autograd Function, traced as a Python operator
    Operator("prim::PythonOp.SwishImplementation", "aten", "act", "per_output"),
    *_aten("elementwise", "none",
           "add add_ sub sub_ rsub mul mul_ div div_ true_divide floor_divide pow sqrt rsqrt exp log neg abs "
           "reciprocal clamp_min clamp_max minimum maximum softmax log_softmax _softmax sum "
           "max min amax amin argmax argmin var std norm erf sin cos cumsum masked_fill masked_fill_ where "
           "eq ne lt le gt ge __and__ __or__ bitwise_not logical_not remainder floor ceil round sign "
           "addcmul addcdiv lerp topk sort"),
    *_aten("free", "none",
           "view reshape flatten unflatten squeeze unsqueeze unsqueeze_ permute transpose t contiguous expand "
           "expand_as repeat cat stack slice select narrow chunk split split_with_sizes unbind index gather "
           "index_select constant_pad_nd pad reflection_pad1d reflection_pad2d replicate_pad2d zero_pad2d dropout "
           "dropout_ feature_dropout alpha_dropout channel_shuffle native_channel_shuffle pixel_shuffle "
           "pixel_unshuffle roll flip to type_as copy_ detach clone size numel Int ScalarImplicit arange "
           "zeros zeros_like ones ones_like full full_like empty new_empty new_zeros new_full new_ones "
           "nonzero index_put_ scatter"),
    *_aten("free", "none",  # random numbers (dropout, drop-connect, stochastic depth in training mode)
           "rand rand_like randn randn_like randint randint_like bernoulli bernoulli_ uniform_ normal_ "
           "empty_like"),
]

DISPATCH = [  # FlopCounterMode: the operators it has a formula for, by the group it reports
    *_ops("dispatch", "conv", "conv", "convolution _convolution convolution_backward"),
    *_ops("dispatch", "fc", "linear", "addmm"),
    *_ops("dispatch", "matmul", "matmul", "mm bmm baddbmm matmul"),
    *_ops("dispatch", "matmul", "sdpa", "_scaled_dot_product_efficient_attention "
                                        "_scaled_dot_product_flash_attention "
                                        "_scaled_dot_product_cudnn_attention"),
]

ONNX = [
    *_ops("onnx", "conv", "conv", "Conv ConvTranspose"),
    *_ops("onnx", "fc", "linear", "Gemm"),
    *_ops("onnx", "matmul", "matmul", "MatMul"),
    *_ops("onnx", "matmul", "einsum", "Einsum"),
    *_ops("onnx", "rnn", "rnn", "LSTM GRU RNN"),
    *_ops("onnx", "norm", "bn", "BatchNormalization"),
    *_ops("onnx", "norm", "norm5", "LayerNormalization GroupNormalization InstanceNormalization"),
    *_ops("onnx", "pool", "window", "MaxPool AveragePool LpPool"),
    *_ops("onnx", "pool", "per_input", "GlobalAveragePool GlobalMaxPool ReduceMean"),
    *_ops("onnx", "upsample", "upsample", "Resize Upsample"),
    *_ops("onnx", "act", "per_output", "Relu Clip LeakyRelu Elu Selu Celu Gelu Sigmoid HardSigmoid HardSwish Tanh "
                                       "Mish PRelu Softplus Softsign ThresholdedRelu"),
    *_ops("onnx", "elementwise", "none",
          "Add Mul Sub Div Pow Sqrt Exp Log Neg Abs Erf Reciprocal Max Min Sum Mean Softmax LogSoftmax ReduceMax "
          "ReduceMin ReduceSum Where Equal Less Greater Not And Or ArgMax ArgMin TopK Floor Ceil Round Sign Sin "
          "Cos CumSum"),
    *_ops("onnx", "free", "none",
          "Concat Split Slice Reshape Flatten Transpose Squeeze Unsqueeze Pad Dropout Identity Cast Gather Expand "
          "Tile DepthToSpace SpaceToDepth ConstantOfShape Range Trilu GatherElements ScatterND NonZero Shape Size "
          "Constant"),
]

TABLE = {(op.route, op.name): op for op in ATEN + DISPATCH + ONNX}

#: never-counted operators that are part of the layers every spec writes (the residual addition, a gate's
#: product, softmax): not listed among the operators "counted as nothing"
PART_OF_LAYERS = frozenset({"aten::add", "aten::add_", "aten::mul", "aten::mul_", "aten::softmax", "aten::_softmax",
                            "aten::log_softmax", "Add", "Mul", "Softmax", "LogSoftmax"})


def lookup(route: str, name: str) -> Operator | None:
    """The table's entry for ``name`` on ``route`` (None: not in the table)."""
    return TABLE.get((route, name))


def of_route(route: str) -> list[Operator]:
    return [op for op in TABLE.values() if op.route == route]


def named_when_nothing(op: Operator) -> bool:
    """Whether a call of ``op`` that counted nothing is named next to the total:
    arithmetic no convention counts (a division, a power, ...) and upsampling
    when pooling is not counted -- not data movement, not the layers' own
    additions and gates, and not the groups the heading's "counted for" names."""
    return op.group in ("elementwise", "upsample") and op.name not in PART_OF_LAYERS


def counted(op: Operator, count) -> bool:
    """Whether ``op``'s Mult-Adds are counted under the ``--count`` groups ``count``."""
    return op.flag is not None and op.flag in count


# -- docs --------------------------------------------------------------------------------------------------------

def operators_table() -> str:
    """docs/spec-format.md's operator list: one row per (group, rule), with the operators of each route."""
    lines = ["| group | counted with | Mult-Adds | aten (fvcore, FlopCounterMode) | ONNX |", "|---|---|---|---|---|"]
    seen: dict[tuple[str, str], dict[str, list[str]]] = {}
    for op in ATEN + DISPATCH + ONNX:
        routes = seen.setdefault((op.group, op.rule), {"aten": [], "onnx": []})
        key = "onnx" if op.route == "onnx" else "aten"
        short = op.name.removeprefix("aten::")
        if short not in routes[key]:
            routes[key].append(short)
    for (group, rule), routes in seen.items():
        flag = GROUP_FLAG[group]
        when = f"`--count ...,{flag}`" if flag not in ("conv", "fc") and flag else (
            f"`{flag}` (default)" if flag else "never")
        text = "nothing" if rule == "none" else RULES[rule]
        aten = ", ".join(f"`{n}`" for n in routes["aten"])
        onnx = ", ".join(f"`{n}`" for n in routes["onnx"])
        lines.append(f"| {GROUP_NAMES[group]} | {when} | {text} | {aten} | {onnx} |")
    return "\n".join(lines)


def rewrite_docs(path: str) -> None:
    """Replace docs/spec-format.md's operator list (between its ``<!-- operators-table ... -->`` markers)."""
    import re

    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    table = operators_table()
    text = re.sub(r"(<!-- operators-table:[^\n]*-->\n).*?(\n<!-- /operators-table -->)",
                  lambda m: m.group(1) + table + m.group(2), text, flags=re.S)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


if __name__ == "__main__":  # python -m mbcost.adapters.operators docs/spec-format.md
    import sys

    rewrite_docs(sys.argv[1] if len(sys.argv) > 1 else "docs/spec-format.md")
