"""What a forward pass calls, as the latency model sees it: a list of *calls*
(one torch function each: a convolution, a batch norm, an addition, a view...),
each with the few numbers its time depends on. Pure Python: a spec's rows are
decomposed here, from their shapes, into exactly the calls their torch build
makes (:mod:`mbcost.adapters.torch_modules`); a torch model's calls are
recorded from a traced forward pass (:mod:`mbcost.adapters.latency_trace`),
and a test checks that the two agree call for call on every zoo network.

**Call kinds** (:data:`CALL_KINDS`): ``pw`` (1×1 convolution), ``conv`` (k×k,
one group), ``dw`` (depthwise), ``group``, ``fc`` (``linear``), ``matmul``
(``matmul``, ``bmm``, attention), ``bn``, ``norm`` (layer/group norm), ``act``
(ReLU, ReLU6, clamps), ``act_math`` (h-swish, h-sigmoid, SiLU, sigmoid, GELU,
softmax, tanh), ``eltwise`` (add, multiply...), ``pool`` (windows), ``gpool``
(global pooling, ``mean``), ``copy`` (``cat``, ``pad``, a reshape that copies),
``view`` (a view or a metadata change: free but for the call), ``module`` (an
``nn.Module`` call: Python's share), ``other`` (any other function).

**Features of a call** (:data:`FEATURES`), for a pass of ``batch`` images at
fp32: ``calls`` (1), ``mult_adds``, ``elements`` (the per-element work: the
output's elements, a pooling's window reads, a global pool's input), ``bytes``
(every tensor it reads and writes, weights included), ``planes`` (batch ×
output channels: a kernel's per-channel cost, large for a depthwise one), ``spill`` (the bytes
past the L2 cache: ``max(0, bytes - L2)``, computed with the calibrated
machine's cache size). Each kind's model uses a subset (:data:`KIND_FEATURES`).
"""

from __future__ import annotations

from dataclasses import dataclass

from mbcost.errors import MbcostError

FEATURES = ("calls", "mult_adds", "elements", "bytes", "planes", "spill")

#: the features each call kind's model is linear in (the others are 0 for it)
KIND_FEATURES = {
    "pw": ("calls", "mult_adds", "bytes", "planes", "spill"),
    "conv": ("calls", "mult_adds", "bytes", "planes", "spill"),
    "dw": ("calls", "mult_adds", "bytes", "planes", "spill"),
    "group": ("calls", "mult_adds", "bytes", "planes", "spill"),
    "fc": ("calls", "mult_adds", "bytes"),
    "matmul": ("calls", "mult_adds", "bytes"),
    "bn": ("calls", "elements", "spill"),
    "norm": ("calls", "elements", "spill"),
    "act": ("calls", "elements", "spill"),
    "act_math": ("calls", "elements", "spill"),
    "eltwise": ("calls", "elements", "spill"),
    "pool": ("calls", "elements", "bytes"),
    "gpool": ("calls", "elements"),
    "copy": ("calls", "elements", "spill"),
    "view": ("calls",),
    "module": ("calls",),
    "other": ("calls", "elements"),
}
CALL_KINDS = tuple(KIND_FEATURES)

#: the activation kinds of the spec (and their torch functions) that are a compare or a clamp
CHEAP_ACTIVATIONS = frozenset({"relu", "relu6", "clip01", "hardtanh", "relu_", "hardtanh_", "clamp", "clamp_"})
FP32 = 4


@dataclass(frozen=True)
class Call:
    """One torch function call of a forward pass, for a batch."""

    kind: str
    mult_adds: int = 0
    elements: int = 0
    bytes: int = 0
    planes: int = 0

    def features(self, l2_bytes: int) -> dict[str, int]:
        return {"calls": 1, "mult_adds": self.mult_adds, "elements": self.elements, "bytes": self.bytes,
                "planes": self.planes, "spill": max(0, self.bytes - l2_bytes)}


def conv_kind(groups: int, in_channels: int, kernel: tuple[int, int]) -> str:
    """``pw``, ``conv``, ``dw`` or ``group``: a convolution's call kind."""
    if groups == 1:
        return "pw" if tuple(kernel) == (1, 1) else "conv"
    return "dw" if groups == in_channels else "group"


def activation_kind(name: str) -> str:
    return "act" if name in CHEAP_ACTIVATIONS else "act_math"


class NotDecomposed(MbcostError):
    """A spec row whose calls this module does not know: no latency is predicted for it."""


# -- a spec's rows -------------------------------------------------------------------------------------------------

def _n(shape, batch: int) -> int:
    return batch * shape.h * shape.w * shape.c


def _conv(x, out, kernel, groups, bias: bool, batch: int) -> Call:
    kh, kw = kernel
    weights = out.c * (x.c // groups) * kh * kw + (out.c if bias else 0)
    return Call(conv_kind(groups, x.c, kernel), mult_adds=_n(out, batch) * (x.c // groups) * kh * kw,
                elements=_n(out, batch), bytes=FP32 * (_n(x, batch) + _n(out, batch) + weights),
                planes=batch * out.c)


def _elementwise(kind: str, out, batch: int, reads: int = 1, extra: int = 0) -> Call:
    """A per-element call writing ``out``: it reads ``reads`` tensors of its size and
    ``extra`` more elements (a broadcast operand, a batch norm's four vectors)."""
    return Call(kind, elements=_n(out, batch), bytes=FP32 * ((reads + 1) * _n(out, batch) + extra))


def _copy(elements: int, reads: int | None = None) -> Call:
    return Call("copy", elements=elements, bytes=FP32 * (elements + (elements if reads is None else reads)))


def _padded(x, pads):
    from mbcost.kinds import Shape

    top, bottom, left, right = pads
    return Shape(x.h + top + bottom, x.w + left + right, x.c)


def _post(op: str, out, batch: int) -> list[Call]:
    if op == "bn":
        return [Call("module"), _elementwise("bn", out, batch, extra=4 * out.c)]
    return [Call("module"), _elementwise(activation_kind(op), out, batch)]


def row_calls(inst, batch: int = 1) -> list[Call]:
    """The calls a spec row's torch module makes for a pass of ``batch`` images
    (:func:`mbcost.adapters.torch_modules.unit`: the row's own module, inside a
    ``Sequential`` with its padding and post ops when it has any)."""
    from mbcost.kinds import Shape

    layer, kind = inst.layer, inst.layer.stmt.kind
    x, out = inst.input, inst.output
    calls: list[Call] = [Call("module")]  # the row's own module
    padded = False
    if kind in ("conv", "dw", "pw"):
        top, bottom, left, right = inst.pads
        if not (top == bottom and left == right):
            padded_x = _padded(x, inst.pads)
            calls = [Call("module"), _copy(_n(padded_x, batch), _n(x, batch))] + calls  # the padding runs first
            x, padded = padded_x, True
        calls.append(_conv(x, out, layer.kernel, inst.groups, bool(layer.bias), batch))
    elif kind == "fc":
        weights = x.c * out.c + (out.c if layer.bias else 0)
        calls += [Call("view"), Call("fc", mult_adds=batch * x.c * out.c, elements=batch * out.c,
                                     bytes=FP32 * (batch * (x.c + out.c) + weights)), Call("view")]
    elif kind == "bn":
        calls.append(_elementwise("bn", out, batch, extra=4 * out.c))
    elif kind in ("dropout",):
        calls.append(Call("view"))
    elif kind in ("relu", "relu6", "hswish", "hsigmoid", "silu", "sigmoid", "gelu", "clip01", "softmax"):
        calls.append(_elementwise(activation_kind(kind), out, batch))
    elif kind in ("avgpool", "maxpool", "gap", "gmp"):
        if getattr(layer, "is_global", False) or kind in ("gap", "gmp"):
            calls.append(Call("gpool", elements=_n(x, batch), bytes=FP32 * (_n(x, batch) + _n(out, batch))))
        else:
            (kh, kw), (sh, sw) = inst.window, inst.stride
            if not inst.pads_natively:
                padded_x = Shape((out.h - 1) * sh + kh, (out.w - 1) * sw + kw, x.c)
                calls = [Call("module"), _copy(_n(padded_x, batch), _n(x, batch))] + calls  # the padding runs first
                x, padded = padded_x, True
            calls.append(Call("pool", elements=_n(out, batch) * kh * kw,
                              bytes=FP32 * (_n(x, batch) + _n(out, batch))))
    elif kind in ("adaptive_avgpool", "adaptive_maxpool"):
        which = "gpool" if out.h == out.w == 1 else "pool"
        calls.append(Call(which, elements=_n(x, batch), bytes=FP32 * (_n(x, batch) + _n(out, batch))))
    elif kind == "se":
        s, c = inst.squeeze, x.c
        squeezed, one = Shape(1, 1, s), Shape(1, 1, c)
        calls += [Call("module"), Call("gpool", elements=_n(x, batch), bytes=FP32 * (_n(x, batch) + batch * c)),
                  Call("module"), _conv(one, squeezed, (1, 1), 1, True, batch),
                  Call("module"), _elementwise(activation_kind(layer.act), squeezed, batch),
                  Call("module"), _conv(squeezed, one, (1, 1), 1, True, batch),
                  Call("module"), _elementwise(activation_kind(layer.gate), one, batch),
                  _elementwise("eltwise", x, batch, extra=batch * c)]
    elif kind == "concat":
        calls.append(_copy(_n(out, batch)))
    elif kind == "add":
        branches = len(inst.sources)
        calls += [_elementwise("eltwise", out, batch, reads=2)] * max(branches - 1, 0)
    elif kind == "flatten":
        calls.append(Call("view"))
    elif kind == "shuffle":
        calls += [Call("view"), Call("view"), _copy(_n(out, batch))]
    elif kind == "split":
        calls.append(Call("view"))
    elif kind == "layerscale":
        calls += [Call("view"), _elementwise("eltwise", out, batch, extra=out.c)]
    elif kind in ("mqa", "mhsa"):
        calls += _attention(inst, batch)
    else:
        raise NotDecomposed(f"no latency model for '{kind}' rows yet ({inst.layer.name}): its calls are not known "
                            "to mbcost's latency model")
    post = [c for op in layer.post for c in _post(op, out, batch)]
    if post or padded:
        calls.insert(0, Call("module"))  # the row's Sequential (mbcost.adapters.torch_modules.Unit)
    return calls + post


def _attention(inst, batch: int) -> list[Call]:
    """mqa / mhsa (:func:`mbcost.kinds.attention.torch_attention`): the keys' and values'
    downsampling (padding, depthwise conv, batch norm) with kv_stride, the four 1x1
    projections, the two products, the scaling and the softmax, and the reshapes."""
    from mbcost.kinds import Shape

    layer, x, out = inst.layer, inst.input, inst.output
    h, g, dk, dv = layer.heads, inst.kv_heads, layer.key_dim, layer.value_dim
    hk, wk = inst.kv_size
    L, P = x.h * x.w, hk * wk
    kx = Shape(hk, wk, x.c)
    calls: list[Call] = []
    if layer.kv_stride > 1:
        padded = _padded(x, inst.pads)
        for _ in ("key", "value"):
            calls += [Call("module"), Call("module"), _copy(_n(padded, batch), _n(x, batch)),
                      Call("module"), _conv(padded, kx, (layer.kernel, layer.kernel), x.c, False, batch),
                      Call("module"), _elementwise("bn", kx, batch, extra=4 * x.c)]
    calls += [Call("module"), _conv(x, Shape(x.h, x.w, h * dk), (1, 1), 1, False, batch), Call("view"), Call("view"),
              Call("module"), _conv(kx, Shape(hk, wk, g * dk), (1, 1), 1, False, batch), Call("view"),
              Call("module"), _conv(kx, Shape(hk, wk, g * dv), (1, 1), 1, False, batch), Call("view"), Call("view")]
    scores = batch * h * L * P
    values = batch * h * L * dv
    calls += [Call("matmul", mult_adds=scores * dk, elements=scores,
                   bytes=FP32 * (batch * h * L * dk + batch * g * dk * P + scores)),
              Call("eltwise", elements=scores, bytes=2 * FP32 * scores),
              Call("act_math", elements=scores, bytes=2 * FP32 * scores),
              Call("matmul", mult_adds=values * P, elements=values,
                   bytes=FP32 * (scores + batch * g * P * dv + values)),
              Call("view"), _copy(values),
              Call("module"), _conv(Shape(x.h, x.w, h * dv), out, (1, 1), 1, False, batch)]
    return calls


def network_calls(analysis, batch: int = 1) -> list[list[Call]]:
    """Each row's calls (:func:`row_calls`) of a spec analysis."""
    return [row_calls(inst, batch) for inst in analysis.instances]
