"""Independent counts per module: fvcore, PyTorch's FlopCounterMode, parameters.

Both counters are set to mbcost's counting convention (see the docstrings of
``mbcost/kinds/*.py``): ``count`` is the set of operation groups whose Mult-Adds
are counted (``conv``, ``fc``, ``bn``, ``pool``, ``act``).

fvcore (``FlopCountAnalysis``, one fused multiply-add = 1) traces the module with
the JIT and applies a handle per operator. Every handle is ours, one per rule of
the operator table (:mod:`mbcost.adapters.operators`, which lists every aten
operator with its count group and rule): fvcore's defaults follow other
conventions (batch norm with affine counts 2 per element, max pooling and
activations nothing at all, ``einsum`` rounded to 4 significant digits,
``matmul`` wrong under broadcasting, no rule for ``padding="same"``,
attention, recurrent layers or upsampling). A group that is not counted has its
handles switched off (they count nothing, and the calls are recorded so that
they can be named); an operator the table does not have is left without a
handle, so fvcore reports it as unsupported, per module.

FlopCounterMode (``torch.utils.flop_counter``) reports FLOPs, 2 per multiply-add,
for convolutions and matrix products only: its counts are halved here, and it
cannot count the other groups (``None``: not applicable). Both run on the meta
device (no weights, no arithmetic), with some of PyTorch's meta kernels replaced
while they count (:func:`meta_kernels`): fvcore's JIT trace needs that to trace a
convolution on meta at all. Where a probe finds fvcore still cannot trace on
meta, it traces on the CPU with zero weights.
"""

from __future__ import annotations

import threading
import warnings
from collections import Counter
from contextlib import contextmanager, nullcontext
from fractions import Fraction
from functools import lru_cache
from itertools import chain
from math import prod

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from mbcost.adapters import operators
from mbcost.steps import run


def _fcm_groups() -> dict:
    groups: dict[str, tuple] = {}
    for op in operators.of_route("dispatch"):
        flag = op.flag
        groups[flag] = groups.get(flag, ()) + (op.name,)
    return groups


#: The ``--count`` groups FlopCounterMode can count, and the aten operators it reports for each (the table's).
FCM_GROUPS = _fcm_groups()


def _shape(value) -> list[int]:
    shape = value.type().sizes() if value.isCompleteTensor() else None
    if shape is None:
        raise RuntimeError("fvcore: an operator's tensor shape is unknown in the trace")
    return list(shape)


def _maybe_shape(value) -> list[int] | None:
    try:
        return _shape(value)
    except (RuntimeError, AttributeError):
        return None


def batchnorm_handle(inputs, outputs) -> int:
    """Inference batch norm folds to ``x·a + b``: one Mult-Add per element."""
    return prod(_shape(inputs[0]))


@lru_cache(maxsize=1)
def _flop_count_analysis():
    """fvcore's FlopCountAnalysis (imported quietly: fvcore.nn decorates a few
    losses with ``torch.jit.script``, which PyTorch 2.13 warns is deprecated)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fvcore.nn import FlopCountAnalysis
    return FlopCountAnalysis


def _constant(value):
    """A traced constant (an int, or a list built of constants)."""
    result = value.toIValue()
    if result is None and value.node().kind() == "prim::ListConstruct":
        result = [v.toIValue() for v in value.node().inputs()]
    if result is None or (isinstance(result, list) and any(v is None for v in result)):
        raise RuntimeError("fvcore: a pooling kernel size is not a constant in the trace")
    return result


def _list_values(value) -> list:
    """The traced values a ``prim::ListConstruct`` was built from (a tensor list argument)."""
    node = value.node()
    return list(node.inputs()) if node.kind() == "prim::ListConstruct" else []


def conv_handle(transposed_arg: int | None):
    """A convolution: output elements × the weight's (C/G)·Kh·Kw; transposed,
    input elements × the weight's (M/G)·Kh·Kw. ``transposed_arg``: the index of
    the operator's ``transposed`` flag (``_convolution``, ``convolution``), True
    for ``conv_transpose*``, None where it has none (``_convolution_mode`` --
    ``padding="same"`` --, ``conv2d``)."""

    def handle(inputs, outputs) -> int:
        weight = _shape(inputs[1])
        if transposed_arg is True:
            transposed = True
        else:
            transposed = bool(inputs[transposed_arg].toIValue()) if transposed_arg is not None else False
        return prod(_shape(inputs[0] if transposed else outputs[0])) * prod(weight[1:])

    return handle


def linear_handle(inputs, outputs) -> int:
    """``linear(x, W, b)``, ``addmm(b, A, B)``: output elements × in_features."""
    a = _shape(inputs[1] if _node_kind(outputs[0]) == "aten::addmm" else inputs[0])
    return prod(_shape(outputs[0])) * a[-1]


def _node_kind(value) -> str:
    return value.node().kind()


def matmul_handle(inputs, outputs) -> int:
    """``matmul``, ``mm``, ``bmm`` (``baddbmm``/``addbmm``: the product's
    operands are arguments 1 and 2): output elements × the shared dimension
    (``addbmm`` sums over the batch too)."""
    kind = _node_kind(outputs[0])
    if kind in ("aten::baddbmm", "aten::addbmm"):
        a, b = _shape(inputs[1]), _shape(inputs[2])
        return a[0] * a[1] * a[2] * b[2]
    a = _shape(inputs[0])
    return prod(_shape(outputs[0])) * a[-1]


def einsum_mult_adds(equation: str, shapes: list[list[int]]) -> int:
    """Mult-Adds of ``einsum(equation, *operands)``: with two or more operands,
    every output element sums over the contracted indices, so the product of the
    sizes of all index letters (a ``...`` stands for the broadcast dimensions,
    aligned from the right); one operand (a sum, a transpose) has no products."""
    terms = equation.replace(" ", "").partition("->")[0].split(",")
    if len(terms) < 2:
        return 0
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, shapes):
        head, dots, tail = term.partition("...")
        extra = len(shape) - len(head) - len(tail) if dots else 0
        letters = list(head) + [f"...{extra - i}" for i in range(extra)] + list(tail)
        for letter, size in zip(letters, shape):
            sizes[letter] = max(sizes.get(letter, 1), size)
    return prod(sizes.values())


def einsum_handle(inputs, outputs) -> int:
    """``einsum``: :func:`einsum_mult_adds` (fvcore's own handle rounds through a
    float and is off in the fourth significant digit)."""
    equation = inputs[0].toIValue()
    shapes = [_shape(v) for v in _list_values(inputs[1])]
    return einsum_mult_adds(equation, shapes)


def sdpa_handle(inputs, outputs) -> int:
    """``scaled_dot_product_attention(Q, K, V)``: Q·Kᵀ (batch·L·S·E) and A·V
    (batch·L·S·Ev); the scale and the softmax are not counted."""
    q, k = _shape(inputs[0]), _shape(inputs[1])
    out = _shape(outputs[0])
    s = k[-2]
    return prod(out[:-1]) * s * q[-1] + prod(out) * s


def mha_handle(inputs, outputs) -> int:
    """``_native_multi_head_attention`` (MultiheadAttention's fast path in eval):
    the same products as its slow path -- Q, K, V projections, Q·Kᵀ, A·V, the
    output projection."""
    q, k = _shape(inputs[0]), _shape(inputs[1])
    batch = prod(q[:-2])
    length, source, embed = q[-2], k[-2], q[-1]
    return batch * (length * embed * embed + 2 * source * embed * embed + 2 * length * source * embed
                    + length * embed * embed)


def rnn_handle(inputs, outputs) -> int:
    """``lstm``/``gru``/``rnn_*``(input, hx, params, ...): every step of every
    layer and direction multiplies by its weight matrices, so steps × batch ×
    the elements of every 2-D weight (W_ih, W_hh, W_hr); biases and gates'
    elementwise arithmetic are not counted."""
    x = _shape(inputs[0])
    weights = [_maybe_shape(v) for v in _list_values(inputs[2])]
    if not weights:
        raise RuntimeError("fvcore: a recurrent layer's weights are not a list in the trace")
    per_step = sum(prod(w) for w in weights if w is not None and len(w) == 2)
    steps = prod(x[:2]) if len(x) == 3 else x[0]
    return steps * per_step


def rnn_cell_handle(inputs, outputs) -> int:
    """``lstm_cell``/``gru_cell``(input, hx, w_ih, w_hh, ...): batch × (W_ih + W_hh elements)."""
    x = _shape(inputs[0])
    batch = x[0] if len(x) == 2 else 1
    return batch * sum(prod(_shape(v)) for v in inputs[2:4])


def upsample_handle(taps: int):
    """Interpolation: ``taps`` input values per output element (fvcore's
    convention: nearest 1, bilinear 4)."""

    def handle(inputs, outputs) -> int:
        return taps * prod(_shape(outputs[0]))

    return handle


def _taps(name: str) -> int:
    for word, taps in (("trilinear", 8), ("bicubic", 16), ("bilinear", 4), ("linear", 2), ("nearest", 1)):
        if word in name:
            return taps
    raise ValueError(name)


def kernel_pool_handle(inputs, outputs) -> int:
    """A window pool: Kh·Kw Mult-Adds per output element (inputs[1] is the kernel)."""
    kernel = _constant(inputs[1])
    if isinstance(kernel, int):
        kernel = [kernel]
    out = _shape(outputs[0])
    window = prod(kernel) if len(kernel) > 1 else kernel[0] ** (len(out) - 2)
    return window * prod(out)


def adaptive_pool_handle(inputs, outputs) -> int:
    """2-D adaptive pooling: every output cell reads its window, which along an axis
    of length n pooled to m cells runs from floor(i·n/m) to ceil((i+1)·n/m); the
    windows overlap when m does not divide n. Mult-Adds: channels times the sum of
    the window heights times the sum of the window widths."""
    *lead, h, w = _shape(inputs[0])
    ho, wo = _shape(outputs[0])[-2:]

    def covered(n: int, m: int) -> int:
        return sum(((i + 1) * n + m - 1) // m - (i * n) // m for i in range(m))

    return prod(lead) * covered(h, ho) * covered(w, wo)


def input_pool_handle(inputs, outputs) -> int:
    """Adaptive (global) pooling and ``mean``: one Mult-Add per input element."""
    return prod(_shape(inputs[0]))


def activation_handle(inputs, outputs) -> int:
    """A pointwise activation: one operation per element."""
    return prod(_shape(outputs[0]))


def off_handle(inputs, outputs) -> int:
    """A switched-off operator: counts nothing. (fvcore's ``set_op_handle(op,
    None)`` only ignores operators that have no handle; a default handle stays, so
    switching one off needs a handle of its own.)"""
    return 0


def norm_handle(affine_arg: int):
    """Group, layer and instance norm: 5 per element with a scale, 4 without
    (fvcore's convention for these norms; ``affine_arg``: the weight's index)."""

    def handle(inputs, outputs) -> int:
        return prod(_shape(inputs[0])) * (5 if _maybe_shape(inputs[affine_arg]) is not None else 4)

    return handle


_NORM_AFFINE_ARG = {"aten::group_norm": 2, "aten::layer_norm": 2, "aten::instance_norm": 1}
_TRANSPOSED_ARG = {"aten::_convolution": 6, "aten::convolution": 6, "aten::conv_transpose1d": True,
                   "aten::conv_transpose2d": True, "aten::conv_transpose3d": True}


def aten_handle(op: operators.Operator):
    """The fvcore handle that computes ``op``'s rule (the operator table's ``rule`` key)."""
    rule = op.rule
    if rule == "conv":
        return conv_handle(_TRANSPOSED_ARG.get(op.name))
    if rule == "upsample":
        return upsample_handle(_taps(op.name))
    if rule == "norm5":
        return norm_handle(_NORM_AFFINE_ARG[op.name])
    return ATEN_RULES[rule]


#: rule key -> handle, for the rules that need nothing of the operator's name
ATEN_RULES = {
    "linear": linear_handle, "matmul": matmul_handle, "einsum": einsum_handle, "sdpa": sdpa_handle,
    "mha": mha_handle, "rnn": rnn_handle, "rnn_cell": rnn_cell_handle, "bn": batchnorm_handle,
    "window": kernel_pool_handle, "adaptive": adaptive_pool_handle, "per_input": input_pool_handle,
    "per_output": activation_handle, "none": off_handle,
}


def fvcore_handles(count, fvcore_own=None) -> dict:
    """fvcore operator handles for the convention ``count``: one per aten
    operator of the operator table whose Mult-Adds are counted (its rule). One
    that counts nothing: where its calls are named next to the total
    (:func:`operators.named_when_nothing`), a handle that records them inside a
    :func:`recorded_calls` block; else ``None`` (fvcore ignores the operator: it
    counts nothing and is not "unsupported"), or a handle that counts nothing
    where fvcore has a handle of its own for it, which must be replaced, and for
    a ``prim::PythonOp``, which fvcore ignores only by its node's kind.
    ``fvcore_own``: the operators fvcore has handles of its own for (None: not
    known, every one replaced). Made once per convention (a fresh dict each call)."""
    return dict(_handles(frozenset(count), None if fvcore_own is None else frozenset(fvcore_own)))


@lru_cache(maxsize=32)
def _handles(count: frozenset, fvcore_own: frozenset | None) -> dict:
    _flop_count_analysis()
    handles = {}
    for op in operators.of_route("aten"):
        handle = aten_handle(op) if operators.counted(op, count) else off_handle
        if handle is off_handle:
            if not op.free and operators.named_when_nothing(op):
                handle = _recording(op.name)
            elif fvcore_own is not None and op.name not in fvcore_own and op.name.startswith("aten::"):
                handle = None  # (fvcore ignores by the node's kind: prim::PythonOp.X's is prim::PythonOp)
        handles[op.name] = handle
    return handles


#: where the recording handles of :func:`fvcore_handles` write, per thread (``calls``: a Counter, or absent)
_RECORDED = threading.local()


@contextmanager
def recorded_calls(calls: Counter):
    """Inside the block, the handles of :func:`fvcore_handles` that count nothing
    add (operator, module) -> calls to ``calls``."""
    before = getattr(_RECORDED, "calls", None)
    _RECORDED.calls = calls
    try:
        yield calls
    finally:
        _RECORDED.calls = before


def _recording(name: str):
    def handle(inputs, outputs) -> int:
        calls = getattr(_RECORDED, "calls", None)
        if calls is not None:
            scope = outputs[0].node().scopeName().split("/")[-1] if outputs else ""
            calls[(name, scope)] += 1
        return 0

    return handle


@contextmanager
def meta_kernels():
    """Meta kernels of PyTorch 2.13, replaced while counting on the meta device
    (shapes and counts are unaffected, as the tests check against the CPU):

    * ``aten::convolution`` -- its meta kernel is Python and runs under the JIT
      tracer (``convolution`` is not recorded; ``_convolution``, which it reaches
      on the CPU, is), so the sizes it reads are traced tensors and its shape
      checks fail: fvcore could not trace a convolution on meta. For the count it
      falls through on meta to PyTorch's C++ kernel, the one the CPU runs, which
      calls ``aten::_convolution`` (the operator the tracer records, whose tracer
      kernel suspends tracing before the meta kernel runs) with no Python frame
      on the stack the tracer walks for each of its 13 arguments
      (:func:`_composite_convolution`; registered for each count: 15 µs).
    * ``aten::native_batch_norm``, ``aten::relu`` and ``aten::hardtanh`` (ReLU6)
      -- their meta kernels are Python reference implementations (5, 4 and 15 ms
      a call: most of a meta forward pass); an output of the input's shape is all
      a count needs.
    * ``aten::_convolution``, ``aten::addmm`` and ``aten::mm`` --
      PyTorch's meta kernels are Python that imports ``torch._dynamo`` and sympy
      on first use (2.5 s of a cold ``mbcost table --torch``); the output size is
      PyTorch's formula (:func:`conv_output_size`), the product's is N x M.
    * the common elementwise operators, ``mean.dim``, ``cat`` and ``native_layer_norm``
      (:func:`_elementwise_kernels`).

    The other kernels are registered once per process (registering and releasing 53
    kernels took 0.5 ms a count: more than a small model's whole trace), each in
    place of a Python kernel PyTorch registered from ``torch._meta_registrations``;
    outside a count (no ``meta_kernels`` block open) each calls that kernel of
    PyTorch's, so a meta tensor outside a count gets PyTorch's own answers and
    errors. Where this PyTorch's meta kernels are not all such Python kernels,
    they are registered for the count and released after it (restoring
    PyTorch's), as before; where it lacks what the replacements need, nothing is
    replaced (the fvcore probe then fails and fvcore counts on the CPU).
    """
    installed = _installed()
    lib = None
    if not installed:
        lib = torch.library.Library("aten", "IMPL")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "overriding a previously registered kernel"
                for name, kernel in _fast_kernels().items():
                    lib.impl(name, kernel, "Meta")
        except Exception:  # noqa: BLE001 - another PyTorch: count with its own kernels
            _release(lib)
            yield
            return
    # nn.MultiheadAttention in eval mode takes its fast path (one aten::_native_multi_head_attention, which has
    # a meta kernel) on the CPU but refuses it on meta, where the JIT then traces its Python version's hundred
    # operators (two thirds of a small attention model's count): meta is let through, as the CPU is
    activation = torch.nn.modules.activation
    check_device = getattr(activation, "_check_arg_device", None)
    if check_device is not None:
        activation._check_arg_device = lambda x: (x is not None and x.is_meta) or check_device(x)
    convolution = _composite_convolution()
    _COUNTING[0] += 1
    try:
        yield
    finally:
        _COUNTING[0] -= 1
        if convolution is not None:
            _release(convolution)
        if check_device is not None:
            activation._check_arg_device = check_device
        if lib is not None:
            _release(lib)


#: how many :func:`meta_kernels` blocks are open (the kernels registered once answer inside one, and hand every
#: call to PyTorch's own kernel outside)
_COUNTING = [0]


def _composite_convolution():
    """A Library in which ``aten::convolution`` falls through on the meta device
    to PyTorch's C++ kernel (``CompositeExplicitAutograd``: what the CPU runs, and
    the dispatcher's default for a backend with no kernel of its own), in place of
    PyTorch's Python meta kernel; None where this PyTorch refuses it (the
    convolution then fails to trace on meta: the fvcore probe sees it, and fvcore
    counts on the CPU). Released after the count: outside one, PyTorch's own."""
    fallthrough = getattr(torch.library, "fallthrough_kernel", None)
    if fallthrough is None:
        return None
    lib = torch.library.Library("aten", "IMPL")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "overriding a previously registered kernel"
            lib.impl("convolution", fallthrough, "Meta")
    except Exception:  # noqa: BLE001 - another PyTorch
        _release(lib)
        return None
    return lib


def _convolution_traced_kernel(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups,
                               *flags):
    return _empty(input, conv_output_size(input.shape, weight.shape, stride, padding, dilation, transposed,
                                          output_padding, groups))


def _mm_kernel(a, b):
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, a.shape))} and "
                           f"{'x'.join(map(str, b.shape))})")
    return _empty(a, (a.shape[0], b.shape[1]))


def _addmm_kernel(bias, a, b, *, beta=1, alpha=1):
    return _mm_kernel(a, b)


def _batch_norm_kernel(input, weight, bias, running_mean, running_var, training, momentum, eps):
    stats = (input.shape[1],) if training else (0,)
    return _same(input), _empty(input, stats), _empty(input, stats)


def _same_shape_kernel(input, *args, **kwargs):
    return _same(input)


def _fast_kernels() -> dict:
    """"op.overload" -> the meta kernel :func:`meta_kernels` puts in its place."""
    return {"native_batch_norm": _batch_norm_kernel,
            "_convolution": _convolution_traced_kernel, "addmm": _addmm_kernel, "mm": _mm_kernel,
            "relu": _same_shape_kernel, "hardtanh": _same_shape_kernel, **_elementwise_kernels()}


@lru_cache(maxsize=1)
def _installed():
    """The library holding :func:`_fast_kernels`, registered once for the process,
    each kernel answering inside a :func:`meta_kernels` block and calling the
    Python kernel of PyTorch's it replaced outside one; None (nothing registered)
    where one of PyTorch's is not a Python kernel of ``torch._meta_registrations``
    (there is then none of its to call outside a count)."""
    kernels = _fast_kernels()
    originals = {}
    for name in kernels:
        original = _pytorch_meta(name)
        op_name, _, overload = name.partition(".")
        dump = torch._C._dispatch_dump(f"aten::{op_name}" + (f".{overload}" if overload else ""))
        meta = [line for line in dump.splitlines() if line.startswith("Meta:")]
        if original is None or len(meta) != 1 or "_meta_registrations.py" not in meta[0]:
            return None
        originals[name] = original
    lib = torch.library.Library("aten", "IMPL")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "overriding a previously registered kernel"
            for name, kernel in kernels.items():
                lib.impl(name, _gated(kernel, originals[name]), "Meta")
    except Exception:  # noqa: BLE001 - another PyTorch: register for each count instead (PyTorch's restored)
        _release(lib)
        return None
    return lib


def _gated(fast, original):
    def kernel(*args, **kwargs):
        return (fast if _COUNTING[0] else original)(*args, **kwargs)

    return kernel


#: elementwise operators whose PyTorch meta kernel is a Python reference (``torch._refs``): slow
#: (0.1-0.2 ms a call) and, for the binary ones, importing ``torch._dynamo`` on first use (1.3-1.9 s)
_BINARY = ("add.Tensor", "sub.Tensor", "mul.Tensor", "div.Tensor", "add.Scalar", "sub.Scalar", "mul.Scalar",
           "div.Scalar")
_BINARY_INPLACE = ("add_.Tensor", "sub_.Tensor", "mul_.Tensor", "div_.Tensor", "add_.Scalar", "mul_.Scalar",
                   "div_.Scalar")
_UNARY = ("sigmoid", "tanh", "hardswish", "hardsigmoid", "silu", "gelu", "elu", "leaky_relu", "exp", "neg", "sqrt",
          "rsqrt", "clamp", "clamp_min", "clamp_max", "_safe_softmax", "_softmax", "_log_softmax")
_UNARY_INPLACE = ("sigmoid_", "tanh_", "hardswish_", "hardsigmoid_", "silu_", "relu_", "hardtanh_", "elu_",
                  "leaky_relu_", "clamp_", "clamp_min_")


def _empty(like, size):
    """A contiguous meta tensor of ``size`` with ``like``'s dtype (``torch.empty``
    has a C++ meta kernel; ``new_empty`` and ``empty_like`` are Python: 3-10x slower)."""
    return torch.empty(size, dtype=like.dtype, device=like.device)


def _same(t):
    """An empty tensor like ``t`` (its size, dtype and layout)."""
    return _empty(t, t.shape) if t.is_contiguous() else torch.empty_like(t)


def _broadcast(x, y) -> tuple[int, ...] | None:
    """The size ``x`` and ``y`` broadcast to (PyTorch's rule), None if they do not."""
    n = max(len(x), len(y))
    out = []
    for p, q in zip((1,) * (n - len(x)) + tuple(x), (1,) * (n - len(y)) + tuple(y)):
        if p != q and q != 1 and p != 1:
            return None
        out.append(q if p == 1 else p)
    return tuple(out)


def _pytorch_meta(name: str):
    """PyTorch's own (Python) meta kernel of ``aten::name`` ("op.overload"), as
    ``torch._meta_registrations.activate_meta`` picks it, or None."""
    from torch._decomp import global_decomposition_table

    op_name, _, overload = name.partition(".")
    op = getattr(getattr(torch.ops.aten, op_name), overload or "default")
    for table in ("meta", "post_autograd", "pre_autograd"):
        kernel = global_decomposition_table[table].get(op)
        if kernel is not None:
            return kernel
    return None


def _plain(t) -> bool:
    """A contiguous floating-point tensor: the case the fast kernels answer (an
    output of the same dtype, contiguous); every other goes to PyTorch's kernel."""
    return t.is_floating_point() and t.is_contiguous()


@lru_cache(maxsize=1)
def _elementwise_kernels() -> dict:
    """Meta kernels for the common elementwise operators, ``mean.dim``, ``cat`` and
    ``native_layer_norm``: on contiguous floating-point tensors of one dtype the
    output's size (broadcast, as PyTorch broadcasts), dtype and layout; anything
    else (integers, mixed dtypes, channels-last or expanded strides, sizes that
    do not broadcast, with PyTorch's own error) goes to PyTorch's kernel. Empty
    where this PyTorch has none of its own to fall back on."""
    kernels: dict = {}

    def fast(name, test, answer):
        original = _pytorch_meta(name)
        if original is None:
            return

        def kernel(*args, **kwargs):
            out = test(*args, **kwargs)
            return original(*args, **kwargs) if out is None else answer(out, *args, **kwargs)

        kernels[name] = kernel

    def binary_size(a, b, *args, **kwargs):
        if not isinstance(a, torch.Tensor) or not _plain(a):
            return None
        if not isinstance(b, torch.Tensor):
            return a.shape if isinstance(b, (int, float)) else None
        if b.dtype != a.dtype or not b.is_contiguous() or b.device != a.device:
            return None
        return a.shape if a.shape == b.shape else _broadcast(a.shape, b.shape)  # None: PyTorch's kernel says why

    for name in _BINARY:
        fast(name, binary_size, lambda size, a, *args, **kwargs: _empty(a, size))
    for name in _BINARY_INPLACE:
        fast(name, lambda a, *args, **kwargs: (a.shape if binary_size(a, *args, **kwargs) == a.shape else None),
             lambda size, a, *args, **kwargs: a)
    for name in _UNARY:
        fast(name, lambda a, *args, **kwargs: a.shape if _plain(a) and not kwargs.get("dtype") else None,
             lambda size, a, *args, **kwargs: _empty(a, size))
    for name in _UNARY_INPLACE:
        fast(name, lambda a, *args, **kwargs: a.shape if _plain(a) else None, lambda size, a, *args, **kwargs: a)

    def mean_size(a, dim=None, keepdim=False, *, dtype=None):
        if not _plain(a) or dtype is not None or a.dim() == 0:
            return None
        dims = range(a.dim()) if not dim else [d + a.dim() if -a.dim() <= d < 0 else d for d in dim]
        if any(not 0 <= d < a.dim() for d in dims) or len(set(dims)) != len(dims):
            return None
        return tuple(1 if i in dims else n for i, n in enumerate(a.shape) if keepdim or i not in dims)

    fast("mean.dim", mean_size, lambda size, a, *args, **kwargs: _empty(a, size))

    def cat_size(tensors, dim=0):  # (GhostNet's and DenseNet's concatenations: PyTorch's is a Python reference)
        first = tensors[0] if tensors else None
        n = first.dim() if first is not None else 0
        axis = dim + n if -n <= dim < 0 else dim
        if not 0 <= axis < n or not all(_plain(t) and t.dtype == first.dtype and t.device == first.device
                                        and t.dim() == n for t in tensors):
            return None
        head, tail = first.shape[:axis], first.shape[axis + 1:]
        if any(t.shape[:axis] != head or t.shape[axis + 1:] != tail for t in tensors):
            return None
        return (*head, sum(t.shape[axis] for t in tensors), *tail)

    fast("cat", cat_size, lambda size, tensors, *args, **kwargs: _empty(tensors[0], size))

    def layer_norm_size(a, normalized, weight, bias, eps):  # any layout: PyTorch's output is contiguous
        axis = a.dim() - len(normalized)
        if not a.is_floating_point() or axis < 0 or tuple(a.shape[axis:]) != tuple(normalized) or any(
                t is not None and (t.shape != a.shape[axis:] or t.dtype != a.dtype) for t in (weight, bias)):
            return None
        return tuple(a.shape[:axis]) + (1,) * len(normalized)

    fast("native_layer_norm", layer_norm_size,
         lambda stats, a, *args: (_empty(a, a.shape), _empty(a, stats), _empty(a, stats)))
    return kernels


def conv_output_size(x, w, stride, padding, dilation, transposed, output_padding, groups) -> tuple[int, ...]:
    """The output size of ``aten::convolution`` (PyTorch's formula; the input may
    lack the batch dimension)."""
    batched = len(x) == len(w)
    if len(x) not in (len(w), len(w) - 1):
        raise RuntimeError(f"Expected {len(w) - 1}D (unbatched) or {len(w)}D (batched) input to convolution, but got "
                           f"input of size: {list(x)}")
    channels_in = x[1] if batched else x[0]
    expected = w[0] if transposed else w[1] * groups
    if channels_in != expected:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(w)}, expected input{list(x)} to have "
                           f"{expected} channels, but got {channels_in} channels instead")
    spatial = []
    for i, size in enumerate(x[-(len(w) - 2):]):
        k = w[2 + i]
        if transposed:
            spatial.append((size - 1) * stride[i] - 2 * padding[i] + dilation[i] * (k - 1) + output_padding[i] + 1)
        else:
            spatial.append((size + 2 * padding[i] - dilation[i] * (k - 1) - 1) // stride[i] + 1)
    if any(size <= 0 for size in spatial):
        raise RuntimeError(f"Given input size: {list(x)}. Calculated output size: {spatial}. Output size is too small")
    channels = w[1] * groups if transposed else w[0]
    return ((x[0],) if batched else ()) + (channels, *spatial)


def _release(lib) -> None:
    """Deregister a Library's kernels (the ones it replaced come back)."""
    destroy = getattr(lib, "_destroy", None)
    if destroy is not None:
        destroy()


@lru_cache(maxsize=1)
def fvcore_meta_ok() -> bool:
    """Whether fvcore can count on the meta device here (with
    :func:`meta_kernels`): a probe with a small network whose
    count is known by hand (a strided, padded, grouped conv, batch norm, a linear
    layer)."""
    FlopCountAnalysis = _flop_count_analysis()

    try:
        with torch.device("meta"):
            net = nn.Sequential(nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2), nn.BatchNorm2d(8),
                                nn.ReLU(), nn.Flatten(), nn.Linear(8 * 3 * 3, 5)).eval()
            x = torch.empty(1, 4, 5, 5)
        with meta_kernels(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            analysis = _quiet(FlopCountAnalysis(net, (x,)))
            counts = analysis.by_operator()
        return counts.get("conv") == 3 * 3 * 2 * 8 * 3 * 3 and counts.get("linear") == 72 * 5
    except Exception:  # noqa: BLE001 - any failure means: not on this version; count on the CPU
        return False


def _quiet(analysis):
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    return analysis


class FvcoreCounts:
    """fvcore's count of one forward pass: ``by_module`` (name -> Mult-Adds, every
    module and its ancestors, the root as ``""``), the operators it had no handle
    for (``unsupported``: operator -> calls) and the device it ran on."""

    def __init__(self, by_module: dict[str, int], unsupported: Counter, device: str,
                 unsupported_by_module: dict[str, Counter] | None = None, nothing_calls: Counter | None = None) -> None:
        self.by_module = by_module
        self.unsupported = unsupported
        self.device = device
        #: module -> operators with no handle that ran in it or its descendants
        self.unsupported_by_module = unsupported_by_module or {}
        #: (operator, module) -> calls of the table's operators that counted nothing
        self.nothing_calls = nothing_calls or Counter()

    def __getitem__(self, name: str) -> int:
        return self.by_module[name]


def fvcore_count(module: nn.Module, inputs: tuple, count) -> FvcoreCounts:
    """fvcore's per-module Mult-Adds of ``module(*inputs)`` under ``count``. A meta
    module is given zero CPU storage first unless fvcore can trace on meta."""
    return run(fvcore_count_steps(module, inputs, count))


def fvcore_count_steps(module: nn.Module, inputs: tuple, count):
    """:func:`fvcore_count` as steps (:mod:`mbcost.steps`): it yields fvcore's
    count (the JIT trace), to be made in the frame that runs it, and returns the
    :class:`FvcoreCounts`."""
    from mbcost.adapters.torch_modules import materialize

    FlopCountAnalysis = _flop_count_analysis()

    given = [x for x in inputs if isinstance(x, torch.Tensor)]
    on_meta = any(t.is_meta for t in chain(given, module.parameters(), module.buffers()))  # (the input first)
    if on_meta and not fvcore_meta_ok():
        materialize(module, "cpu")
        inputs = tuple(torch.zeros(x.shape, dtype=x.dtype) if isinstance(x, torch.Tensor) and x.is_meta else x
                       for x in inputs)
        on_meta = False
    device = "meta" if on_meta else (str(given[0].device) if given else "cpu")
    analysis = _quiet(FlopCountAnalysis(module, inputs))
    own = getattr(analysis, "_op_handles", None)  # fvcore 0.1.5's defaults (not public: unknown elsewhere)
    analysis.set_op_handle(**fvcore_handles(count, set(own) if isinstance(own, dict) else None))
    with torch.no_grad(), warnings.catch_warnings(), recorded_calls(Counter()) as calls, \
            (meta_kernels() if on_meta else nullcontext()):
        warnings.simplefilter("ignore")
        # the trace, made by whoever runs the steps; fvcore's _analyze (what by_module and total call, cached)
        # where this fvcore has it: one frame fewer on the stack the tracer walks
        first_hook = RemovableHandle.next_id
        try:
            yield getattr(analysis, "_analyze", analysis.by_module)
        except BaseException:
            _remove_hooks(module, first_hook)
            raise
        by_module = {name: _exact(value) for name, value in analysis.by_module().items()}
        unsupported = Counter(analysis.unsupported_ops())
        per_module = {name: Counter(analysis.unsupported_ops(name)) for name in by_module} if unsupported else {}
    return FvcoreCounts(by_module, unsupported, device, per_module, calls)


def _remove_hooks(module: nn.Module, first: int) -> None:
    """Remove the forward hooks registered on ``module`` and its descendants since
    the hook id ``first`` (hook ids only grow): fvcore's trace leaves its scope
    hooks on every module when the forward pass fails (it removes them only
    after a trace that succeeds), and the user's model would keep them."""
    for sub in module.modules():
        for hooks in (sub._forward_pre_hooks, sub._forward_hooks):
            for key in [k for k in hooks if k >= first]:
                del hooks[key]


def _exact(value):
    """fvcore returns ints, or floats from scaled handles: integral floats as int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class FcmCounts:
    """FlopCounterMode's count: per module (spec name, root prefix removed) the
    FLOPs by counting group (``conv``, ``fc``, ``other``)."""

    def __init__(self, flops: dict[str, Counter]) -> None:
        self.flops = flops

    def mult_adds(self, name: str, count) -> int | Fraction:
        """Mult-Adds of module ``name`` for the counted groups: FLOPs halved."""
        groups = self.flops.get(name, Counter())
        total = sum(v for g, v in groups.items() if g in count)
        half = Fraction(total, 2)
        return int(half) if half.denominator == 1 else half


def _fcm_group(op) -> str:
    name = str(op).split(".")[-1]
    for group, names in FCM_GROUPS.items():
        if name in names:
            return group
    return "other"


def fcm_count(module: nn.Module, inputs: tuple, hooks=None) -> FcmCounts:
    """FlopCounterMode over ``module(*inputs)`` (meta tensors work). ``hooks``:
    a callable run with the module before the pass, returning handles to remove
    afterwards (used to record shapes in the same pass).

    FlopCounterMode decomposes every operator it has no formula for, looking for
    matrix products inside; batch norm has none, so it is given a formula of 0
    (its count unchanged) to spare the decomposition, which is slow."""
    from torch.utils.flop_counter import FlopCounterMode

    aten = torch.ops.aten
    no_matmul = {aten.native_batch_norm.default: lambda *args, **kwargs: 0,
                 aten._native_batch_norm_legit_no_training.default: lambda *args, **kwargs: 0}
    on_meta = any(t.is_meta for t in inputs)
    handles = hooks(module) if hooks else []
    try:
        with torch.no_grad(), (meta_kernels() if on_meta else nullcontext()), \
                FlopCounterMode(display=False, custom_mapping=no_matmul) as counter:
            module(*inputs)
    finally:
        for h in handles:
            h.remove()
    prefix = type(module).__name__
    flops: dict[str, Counter] = {}
    for name, ops in counter.get_flop_counts().items():
        if name == "Global":
            continue
        key = "" if name == prefix else name[len(prefix) + 1:] if name.startswith(prefix + ".") else name
        groups = Counter()
        for op, value in ops.items():
            groups[_fcm_group(op)] += value
        flops[key] = groups
    return FcmCounts(flops)


def is_norm(module: nn.Module) -> bool:
    return isinstance(module, (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm))


def param_role(module: nn.Module, pname: str) -> str:
    """``norm`` (a normalization layer's), ``bias`` (named ``bias`` or ``..._bias``,
    as MultiheadAttention's ``in_proj_bias``) or ``weight``."""
    if is_norm(module):
        return "norm"
    return "bias" if pname == "bias" or pname.endswith("_bias") else "weight"


def param_split(module: nn.Module, recurse: bool = True) -> tuple[int, int, int]:
    """(weights, biases, norm) of a module and its descendants (``recurse=False``:
    its own parameters only), each parameter once, by :func:`param_role`."""
    split = {"weight": 0, "bias": 0, "norm": 0}
    for sub in module.modules() if recurse else (module,):
        for pname, p in sub.named_parameters(recurse=False):
            split[param_role(sub, pname)] += p.numel()
    return split["weight"], split["bias"], split["norm"]
