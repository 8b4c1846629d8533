"""Independent counts per module: fvcore, PyTorch's FlopCounterMode, parameters.

Both counters are set to mbcost's counting convention (see the docstrings of
``mbcost/kinds/*.py``): ``count`` is the set of operation groups whose Mult-Adds
are counted (``conv``, ``fc``, ``bn``, ``pool``, ``act``).

fvcore (``FlopCountAnalysis``, one fused multiply-add = 1) traces the module with
the JIT and applies a handle per operator. Its own handles are kept for
convolutions and matrix products; the others are ours, because fvcore's defaults
follow another convention (batch norm with affine counts 2 per element, max
pooling and activations nothing at all):

=========  ====================================================  ===============
group      operators                                             Mult-Adds
=========  ====================================================  ===============
conv       ``aten::_convolution``                                fvcore's handle
fc         ``aten::linear``, ``addmm``, ``mm``, ``matmul``, ...  fvcore's handles
bn         ``aten::batch_norm`` (other norms: fvcore's)          1 per element
pool       ``max_pool2d``, ``avg_pool2d``                        Kh·Kw per output
           ``adaptive_*_pool2d``                                 its window per output
           ``mean`` (and other adaptive pools)                   1 per input
act        ``relu``, ``relu6``/``hardtanh`` (and other pointwise  1 per element
           activations of ``--torch`` models)
=========  ====================================================  ===============

A group that is not counted has its handles switched off (they count nothing).
Softmax, dropout, padding, reshapes, concatenation and additions are never
counted.

FlopCounterMode (``torch.utils.flop_counter``) reports FLOPs, 2 per multiply-add,
for convolutions and matrix products only: its counts are halved here, and it
cannot count the other groups (``None``: not applicable). Both run on the meta
device (no weights, no arithmetic), with some of PyTorch's meta kernels replaced
while they count (:func:`meta_kernels`): fvcore's JIT trace needs that to trace a
convolution on meta at all. Where a probe finds fvcore still cannot trace on
meta, it traces on the CPU with zero weights.
"""

from __future__ import annotations

import warnings
from collections import Counter
from contextlib import contextmanager, nullcontext
from fractions import Fraction
from functools import lru_cache
from math import prod

import torch
from torch import nn

#: The groups FlopCounterMode can count, and the aten operators it reports for each.
FCM_GROUPS = {
    "conv": ("convolution", "_convolution", "convolution_backward"),
    "fc": ("mm", "addmm", "bmm", "baddbmm", "matmul"),
}

_CONV_OPS = ("aten::_convolution",)
_FC_OPS = ("aten::addmm", "aten::linear", "aten::mm", "aten::matmul", "aten::bmm", "aten::einsum")
_NORM_OPS = ("aten::group_norm", "aten::layer_norm", "aten::instance_norm")
_KERNEL_POOL_OPS = ("aten::max_pool2d", "aten::avg_pool2d", "aten::max_pool1d", "aten::avg_pool1d",
                    "aten::max_pool3d", "aten::avg_pool3d", "aten::max_pool2d_with_indices")
_ADAPTIVE_POOL_OPS = ("aten::adaptive_avg_pool2d", "aten::adaptive_max_pool2d")
_INPUT_POOL_OPS = ("aten::adaptive_avg_pool1d", "aten::adaptive_max_pool1d", "aten::adaptive_avg_pool3d",
                   "aten::adaptive_max_pool3d", "aten::mean")
_ACT_OPS = ("aten::relu", "aten::relu_", "aten::relu6", "aten::relu6_", "aten::hardtanh", "aten::hardtanh_",
            "aten::leaky_relu", "aten::leaky_relu_", "aten::elu", "aten::elu_", "aten::gelu", "aten::silu",
            "aten::silu_", "aten::sigmoid", "aten::sigmoid_", "aten::hardswish", "aten::hardswish_",
            "aten::hardsigmoid", "aten::hardsigmoid_", "aten::tanh", "aten::tanh_", "aten::mish", "aten::prelu")
#: never counted in any convention
_NEVER_OPS = ("aten::softmax", "aten::log_softmax", "aten::_softmax", "aten::dropout", "aten::feature_dropout",
              "aten::constant_pad_nd", "aten::pad", "aten::flatten", "aten::reshape", "aten::view",
              "aten::cat", "aten::add", "aten::add_",
              # elementwise products (a squeeze-and-excitation gate), channel shuffle and split: no multiply-adds
              "aten::mul", "aten::mul_", "aten::transpose", "aten::contiguous", "aten::slice", "aten::chunk",
              "aten::split", "aten::narrow", "aten::channel_shuffle", "aten::native_channel_shuffle")


def _shape(value) -> list[int]:
    shape = value.type().sizes() if value.isCompleteTensor() else None
    if shape is None:
        raise RuntimeError("fvcore: an operator's tensor shape is unknown in the trace")
    return list(shape)


def batchnorm_handle(inputs, outputs) -> Counter:
    """Inference batch norm folds to ``x·a + b``: one Mult-Add per element."""
    return Counter({"batch_norm": prod(_shape(inputs[0]))})


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


def kernel_pool_handle(inputs, outputs) -> Counter:
    """A window pool: Kh·Kw Mult-Adds per output element (inputs[1] is the kernel)."""
    kernel = _constant(inputs[1])
    if isinstance(kernel, int):
        kernel = [kernel]
    out = _shape(outputs[0])
    window = prod(kernel) if len(kernel) > 1 else kernel[0] ** (len(out) - 2)
    return Counter({"pool": window * prod(out)})


def adaptive_pool_handle(inputs, outputs) -> Counter:
    """2-D adaptive pooling: every output cell reads its window, which along an axis
    of length n pooled to m cells runs from floor(i·n/m) to ceil((i+1)·n/m); the
    windows overlap when m does not divide n. Mult-Adds: channels times the sum of
    the window heights times the sum of the window widths."""
    *lead, h, w = _shape(inputs[0])
    ho, wo = _shape(outputs[0])[-2:]

    def covered(n: int, m: int) -> int:
        return sum(((i + 1) * n + m - 1) // m - (i * n) // m for i in range(m))

    return Counter({"pool": prod(lead) * covered(h, ho) * covered(w, wo)})


def input_pool_handle(inputs, outputs) -> Counter:
    """Adaptive (global) pooling and ``mean``: one Mult-Add per input element."""
    return Counter({"pool": prod(_shape(inputs[0]))})


def activation_handle(inputs, outputs) -> Counter:
    """A pointwise activation: one operation per element."""
    return Counter({"act": prod(_shape(outputs[0]))})


def off_handle(inputs, outputs) -> Counter:
    """A switched-off operator: counts nothing. (fvcore's ``set_op_handle(op,
    None)`` only ignores operators that have no handle; a default handle stays, so
    switching one off needs a handle of its own.)"""
    return Counter()


def fvcore_handles(count) -> dict:
    """fvcore operator handles for the convention ``count``: every operator fvcore
    counts by default gets a handle (its own, ours, or :func:`off_handle`)."""
    _flop_count_analysis()
    from fvcore.nn.flop_count import _DEFAULT_SUPPORTED_OPS

    def pick(group: str, handle):
        return handle if group in count else off_handle

    handles: dict = {op: off_handle for op in _NEVER_OPS}
    # fvcore's remaining defaults (upsampling, grid sampling) belong to no group
    handles.update({op: off_handle for op in _DEFAULT_SUPPORTED_OPS})
    for op in _CONV_OPS:
        handles[op] = pick("conv", _DEFAULT_SUPPORTED_OPS["aten::_convolution"])
    for op in _FC_OPS:
        handles[op] = pick("fc", _DEFAULT_SUPPORTED_OPS[op])
    handles["aten::batch_norm"] = pick("bn", batchnorm_handle)
    for op in _NORM_OPS:
        handles[op] = pick("bn", _DEFAULT_SUPPORTED_OPS[op])
    for op in _KERNEL_POOL_OPS:
        handles[op] = pick("pool", kernel_pool_handle)
    for op in _ADAPTIVE_POOL_OPS:
        handles[op] = pick("pool", adaptive_pool_handle)
    for op in _INPUT_POOL_OPS:
        handles[op] = pick("pool", input_pool_handle)
    for op in _ACT_OPS:
        handles[op] = pick("act", activation_handle)
    return handles


@contextmanager
def meta_kernels():
    """Meta kernels of PyTorch 2.13, replaced while counting on the meta device
    (process-wide, restored on exit; shapes and counts are unaffected, as the
    tests check against the CPU):

    * ``aten::convolution`` -- its meta kernel is Python and runs under the JIT
      tracer (``convolution`` is not recorded; ``_convolution``, which it reaches
      on the CPU, is), so the sizes it reads are traced tensors and its shape
      checks fail: fvcore could not trace a convolution on meta. A traced call now
      goes through ``aten::_convolution``, the operator the tracer records on the
      CPU and whose tracer kernel suspends tracing before the meta kernel runs;
      every other call goes straight to PyTorch's own meta kernel.
    * ``aten::native_batch_norm``, ``aten::relu`` and ``aten::hardtanh`` (ReLU6)
      -- their meta kernels are Python reference implementations (5, 4 and 15 ms
      a call: most of a meta forward pass); an output of the input's shape is all
      a count needs.

    Where this PyTorch lacks what the replacements need, nothing is replaced (the
    fvcore probe then fails and fvcore counts on the CPU).
    """
    try:
        import torch._meta_registrations as meta

        meta_conv = meta.meta_conv
    except (ImportError, AttributeError):
        yield
        return

    def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
        if torch._C._get_tracing_state() is not None:
            return torch.ops.aten._convolution(input, weight, bias, stride, padding, dilation, transposed,
                                               output_padding, groups, False, False, True, True)
        return meta_conv(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)

    def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
        stats = (input.shape[1],) if training else (0,)
        return torch.empty_like(input), input.new_empty(stats), input.new_empty(stats)

    def same_shape(input, *args, **kwargs):
        return torch.empty_like(input)

    lib = torch.library.Library("aten", "IMPL")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "overriding a previously registered kernel"
            lib.impl("convolution", convolution, "Meta")
            lib.impl("native_batch_norm", batch_norm, "Meta")
            lib.impl("relu", same_shape, "Meta")
            lib.impl("hardtanh", same_shape, "Meta")
    except Exception:  # noqa: BLE001 - another PyTorch: count with its own kernels
        _release(lib)
        yield
        return
    try:
        yield
    finally:
        _release(lib)


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

    def __init__(self, by_module: dict[str, int], unsupported: Counter, device: str) -> None:
        self.by_module = by_module
        self.unsupported = unsupported
        self.device = device

    def __getitem__(self, name: str) -> int:
        return self.by_module[name]


def fvcore_count(module: nn.Module, inputs: tuple, count) -> FvcoreCounts:
    """fvcore's per-module Mult-Adds of ``module(*inputs)`` under ``count``. A meta
    module is given zero CPU storage first unless fvcore can trace on meta."""
    from mbcost.adapters.torch_modules import materialize

    FlopCountAnalysis = _flop_count_analysis()

    given = [x for x in inputs if isinstance(x, torch.Tensor)]
    tensors = list(module.parameters()) + list(module.buffers()) + given
    on_meta = any(t.is_meta for t in tensors)
    if on_meta and not fvcore_meta_ok():
        materialize(module, "cpu")
        inputs = tuple(torch.zeros(x.shape, dtype=x.dtype) if isinstance(x, torch.Tensor) and x.is_meta else x
                       for x in inputs)
        on_meta = False
    device = "meta" if on_meta else (str(given[0].device) if given else "cpu")
    analysis = _quiet(FlopCountAnalysis(module, inputs))
    analysis.set_op_handle(**fvcore_handles(frozenset(count)))
    with torch.no_grad(), warnings.catch_warnings(), \
            (meta_kernels() if on_meta else nullcontext()):
        warnings.simplefilter("ignore")
        by_module = {name: _exact(value) for name, value in analysis.by_module().items()}
        unsupported = Counter(analysis.unsupported_ops())
    return FvcoreCounts(by_module, unsupported, device)


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


def param_split(module: nn.Module, recurse: bool = True) -> tuple[int, int, int]:
    """(weights, biases, norm) of a module and its descendants (``recurse=False``:
    its own parameters only): normalization layers' parameters are ``norm``;
    other parameters named ``bias`` (or ``..._bias``, as MultiheadAttention's
    ``in_proj_bias``) are biases; every other parameter is a weight."""
    weights = biases = norm = 0
    for sub in module.modules() if recurse else (module,):
        for pname, p in sub.named_parameters(recurse=False):
            if is_norm(sub):
                norm += p.numel()
            elif pname == "bias" or pname.endswith("_bias"):
                biases += p.numel()
            else:
                weights += p.numel()
    return weights, biases, norm
