"""The calls of a torch model's forward pass, recorded for the latency model
(:mod:`mbcost.attachments.latency_ops` says what a call is and which features
it has): one pass under a :class:`torch.overrides.TorchFunctionMode` that sees
every torch function and tensor method the model calls, with module hooks that
count each ``nn.Module`` call and say which module runs each call. On the meta
device when the model is there (shapes only, no data).

Each call is classified by its function's name and its tensors: a convolution
by its weight's shape and groups, a reshape as a ``view`` when its output is a
view of its input and as a ``copy`` when it wrote a new tensor. Calls that
return no tensor (``dim``, ``size``, ``.shape``) are metadata and not calls.
"""

from __future__ import annotations

import math
from contextlib import nullcontext

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from mbcost.attachments.latency_ops import Call, activation_kind, conv_kind

_CONV = {"conv2d", "conv1d", "conv3d", "convolution", "_convolution"}
_FC = {"linear", "addmm"}
_MATMUL = {"matmul", "bmm", "mm", "baddbmm", "einsum", "scaled_dot_product_attention", "__matmul__", "__rmatmul__"}
_BN = {"batch_norm"}
_NORM = {"layer_norm", "group_norm", "instance_norm", "rms_norm"}
_ACT = {"relu", "relu6", "hardtanh", "clamp", "clip", "threshold", "leaky_relu", "hardswish", "hardsigmoid", "silu",
        "sigmoid", "gelu", "tanh", "softmax", "log_softmax", "exp", "elu", "mish", "softplus", "erf"}
_ELTWISE = {"add", "sub", "mul", "div", "true_divide", "rsub", "radd", "rmul", "rdiv", "rtruediv", "truediv",
            "addcmul", "addcdiv", "where", "maximum", "minimum", "neg", "pow", "sqrt", "rsqrt", "abs", "square"}
_POOL = {"max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d", "max_pool2d_with_indices", "max_pool3d",
         "avg_pool3d"}
_ADAPTIVE = {"adaptive_avg_pool2d", "adaptive_max_pool2d", "adaptive_avg_pool1d", "adaptive_max_pool1d"}
_REDUCE = {"mean", "sum", "amax", "amin", "max", "min"}
_COPY = {"cat", "concat", "concatenate", "stack", "pad", "constant_pad_nd", "clone", "interpolate",
         "upsample_nearest2d", "upsample_bilinear2d", "roll", "repeat"}
_DROPOUT = {"dropout", "dropout2d", "alpha_dropout", "feature_alpha_dropout"}


def _name(func) -> str:
    name = getattr(func, "__name__", "") or str(func)
    name = name.strip("_")
    return name[:-1] if name.endswith("_") and name[:-1] in (_ACT | _ELTWISE) else name


def _numel(tensors) -> int:
    return sum(t.numel() for t in tensors)


def classify(func, args, kwargs, out) -> Call | None:
    """The :class:`~mbcost.attachments.latency_ops.Call` one torch function call
    made, or None when it returned no tensor (a metadata query)."""
    ins = [t for t in tree_flatten((args, kwargs or {}))[0] if isinstance(t, torch.Tensor)]
    outs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
    if not outs:
        return None
    name = _name(func)
    size = outs[0].element_size()
    moved = size * (_numel(ins) + _numel(o for o in outs if not any(o is i for i in ins)))
    out_n = _numel(outs)
    kwargs = kwargs or {}
    if name in _CONV:
        x, weight = ins[0], ins[1]
        groups = kwargs.get("groups", args[6] if len(args) > 6 else 1)
        kernel = tuple(weight.shape[2:]) or (1,)
        kernel = kernel if len(kernel) == 2 else (kernel[0], 1)
        return Call(conv_kind(int(groups), int(x.shape[1]), kernel),
                    mult_adds=out_n * int(weight.shape[1]) * math.prod(weight.shape[2:]), elements=out_n,
                    bytes=moved, planes=int(outs[0].shape[0]) * int(outs[0].shape[1]))
    if name in _FC:
        x = ins[1] if name == "addmm" else ins[0]
        return Call("fc", mult_adds=out_n * int(x.shape[-1]), elements=out_n, bytes=moved)
    if name in _MATMUL:
        inner = int(ins[0].shape[-1]) if ins and ins[0].dim() else 1
        if name == "scaled_dot_product_attention":
            q, k, v = ins[:3]
            macs = q.numel() // q.shape[-1] * k.shape[-2] * (q.shape[-1] + v.shape[-1])
        else:
            macs = out_n * inner
        return Call("matmul", mult_adds=int(macs), elements=out_n, bytes=moved)
    if name in _BN:
        return Call("bn", elements=out_n, bytes=moved)
    if name in _NORM:
        return Call("norm", elements=out_n, bytes=moved)
    if name in _ACT:
        return Call(activation_kind(name), elements=out_n, bytes=moved)
    if name in _ELTWISE:
        if any(o is i for o in outs for i in ins):  # in place
            moved = size * _numel(ins)
        return Call("eltwise", elements=out_n, bytes=moved)
    if name in _POOL:
        kernel = kwargs.get("kernel_size", args[1] if len(args) > 1 else 1)
        window = math.prod(kernel) if isinstance(kernel, (tuple, list)) else int(kernel) ** 2
        return Call("pool", elements=out_n * window, bytes=moved)
    if name in _ADAPTIVE or name in _REDUCE and out_n < ins[0].numel():
        spatial = outs[0].shape[2:] if outs[0].dim() > 2 else ()
        global_ = name in _REDUCE or all(int(s) == 1 for s in spatial)
        return Call("gpool" if global_ else "pool", elements=_numel(ins[:1]), bytes=moved)
    if name in _DROPOUT or any(o is i for o in outs for i in ins):
        return Call("view")
    if name in _COPY:
        return Call("copy", elements=out_n, bytes=moved)
    if all(o._base is not None for o in outs):
        return Call("view")
    if name in ("reshape", "flatten", "contiguous", "getitem", "view", "repeat_interleave", "expand", "permute",
                "transpose", "narrow", "chunk", "split", "unbind", "index_select", "select"):
        return Call("copy", elements=out_n, bytes=moved)
    return Call("other", elements=out_n, bytes=moved)


class _Recorder(TorchFunctionMode):
    def __init__(self, stack: list[str]) -> None:
        super().__init__()
        self.stack = stack
        self.calls: list[tuple[str, Call]] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        call = classify(func, args, kwargs, out)
        if call is not None:
            self.calls.append((self.stack[-1] if self.stack else "", call))
        return out


def trace_calls(model, args: tuple) -> list[tuple[str, Call]]:
    """(module path, call) of every call of one forward pass of ``model`` on
    ``args``, in order; each ``nn.Module`` call is a ``module`` call of its own path."""
    names = {m: n for n, m in model.named_modules()}
    stack: list[str] = []
    recorder = _Recorder(stack)

    def pre(mod, inputs):
        name = names.get(mod, "")
        recorder.calls.append((name, Call("module")))
        stack.append(name)

    def post(mod, inputs, output):
        stack.pop()

    handles = [m.register_forward_pre_hook(pre) for m in names] + [m.register_forward_hook(post) for m in names]
    try:
        from mbcost.adapters.counters import meta_kernels

        on_meta = any(isinstance(a, torch.Tensor) and a.is_meta for a in args)
        with torch.no_grad(), (meta_kernels() if on_meta else nullcontext()), recorder:
            model(*args)
    finally:
        for h in handles:
            h.remove()
    return recorder.calls


def row_of(module: str, rows: set[str]) -> str | None:
    """The row (a module path in ``rows``) that runs ``module``: itself or its
    nearest enclosing row; None outside every row."""
    probe = module
    while True:
        if probe in rows:
            return probe
        if not probe:
            return None
        probe = probe.rpartition(".")[0]


def calls_by_row(model, args: tuple, rows: list[str]) -> tuple[list[list[Call]], list[Call]]:
    """Each row's calls, in the order of ``rows``, and the calls outside every row."""
    index = {r: i for i, r in enumerate(rows)}
    grouped: list[list[Call]] = [[] for _ in rows]
    outside: list[Call] = []
    names = set(index)
    for module, call in trace_calls(model, args):
        row = row_of(module, names)
        (grouped[index[row]] if row is not None else outside).append(call)
    return grouped, outside


def torch_calls(table, batch: int = 1) -> tuple[list[list[Call]], list[Call]]:
    """``table --torch ... --latency``: the model's calls recorded from one forward
    pass at ``batch`` images, by row (a row's own calls: those of its module and of
    any module under it that is not a row), and the calls outside every row."""
    model = table.module
    first = next(a for a in table.example_inputs if isinstance(a, torch.Tensor))
    on = next((t.device for t in model.parameters()), first.device)  # the meta device: shapes only
    args = (torch.zeros((batch, *first.shape[1:]), dtype=first.dtype, device=on),) + tuple(table.example_inputs[1:])
    training = [m for m in model.modules() if m.training]
    model.eval()
    try:
        with torch.inference_mode():
            rows, outside = calls_by_row(model, args, [r.name for r in table.layers])
    finally:
        for m in training:
            m.training = True
    return rows, outside
