"""Convolutions: standard (``conv``), depthwise (``dw``) and pointwise (``pw``).

Syntax (filter shapes as in the paper's Table 1)::

    conv / s2   3x3x3x32            # K x K x M x N (or Kh x Kw x M x N)
    conv dw / s1 3x3x32 dw          # depthwise: K x K x M  (also: dw 3x3x32)
    pw          32x64               # pointwise: M x N (= conv 1x1xMxN)

Options: ``stride=N|HxW`` (same as ``/ sN``; takes a ``{param}`` in a block),
``pad=same|valid|N|HxW`` (default same), ``groups=G`` (conv), ``mult=D``
(dw channel multiplier), ``dil=D|HxW``, ``bias=yes|no`` (default: no when batch
norm follows, else yes); flag ``logits`` marks the classifier.

Cost (Mult-Adds), with M input and N output channels, G groups, output Ho x Wo::

    standard   Kh·Kw·(M/G)·N·Ho·Wo         weights Kh·Kw·(M/G)·N
    depthwise  Kh·Kw·M·Ho·Wo   (N = M)     weights Kh·Kw·M
    pointwise  M·N·Ho·Wo                   weights M·N
"""

from __future__ import annotations

from dataclasses import dataclass

from mbcost.layers.base import (
    Context,
    Instance,
    LayerDef,
    Part,
    Shape,
    check_syntax,
    dot,
    opt_bool,
    opt_int,
    opt_padding,
    opt_pair,
    opt_stride,
    spatial,
)
from mbcost.spec.ast import LayerStmt

KEYWORDS = {"conv": "conv", "dw": "dw", "pw": "pw", "conv2d": "conv", "dwconv": "dw"}
TWO_WORD_KEYWORDS = {("conv", "dw"): "dw", ("conv", "pw"): "pw"}
#: (kind, flag) -> the kind the line really is: ``conv 3x3x32 dw`` is a depthwise
#: conv, for every purpose (after-rules, names, categories, the torch build).
FLAG_KINDS = {("conv", "dw"): "dw"}


@dataclass
class ConvDef(LayerDef):
    kernel: tuple[int, int] = (1, 1)
    in_declared: int | None = 0  # None: "?", whatever comes in
    out_declared: int = 0  # dw: 0 (follows the input)
    multiplier: int = 1
    groups: int = 1
    depthwise: bool = False
    stride: tuple[int, int] = (1, 1)
    padding: object = "same"
    dilation: tuple[int, int] = (1, 1)
    bias: bool = False

    weighted = True

    @property
    def type_name(self) -> str:  # type: ignore[override]
        return "Conv dw" if self.depthwise else "Conv"

    def resolve(self, x: Shape, ctx: Context) -> Instance:
        self.check_in_channels(self.in_declared, x, ctx)
        m = x.c
        if self.depthwise:
            groups, n = m, m * self.multiplier
        else:
            groups, n = self.groups, self.out_channels(self.out_declared, ctx)
            for what, channels in (("input", m), ("output", n)):
                if channels % groups:
                    loc = self.stmt.options.get("groups", (None, None))[1]
                    raise self.fail(ctx, f"groups={groups} does not divide its {channels} {what} channels", loc)
        ho, wo, pads = spatial(self, x, self.kernel, self.stride, self.padding, ctx, self.dilation)
        kh, kw = self.kernel
        if self.depthwise:
            shape = f"{kh} × {kw} × {m} dw" + (f" ×{self.multiplier}" if self.multiplier > 1 else "")
        else:
            shape = f"{kh} × {kw} × {m} × {n}" + (f" g{groups}" if groups > 1 else "")
        return ConvInstance(self, x, Shape(ho, wo, n), self.stride, shape, groups=groups, pads=pads)


@dataclass
class ConvInstance(Instance):
    groups: int = 1
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def category(self) -> str:
        kh, kw = self.layer.kernel
        if self.groups == 1:
            return f"Conv {kh}×{kw}"
        if self.groups == self.input.c:
            return f"Conv DW {kh}×{kw}"
        return f"Group Conv {kh}×{kw}"

    def main_parts(self, count: frozenset) -> list[Part]:
        kh, kw = self.layer.kernel
        m, n, g = self.input.c, self.output.c, self.groups
        ho, wo = self.output.h, self.output.w
        weights = kh * kw * (m // g) * n
        if g == m and n == m:
            formula = dot(kh, kw, m, ho, wo)
        elif g == 1 and kh == kw == 1:
            formula = dot(m, n, ho, wo)
        else:
            formula = dot(kh, kw, m // g, n, ho, wo)
        mult_adds = weights * ho * wo if "conv" in count else 0
        biases = n if self.layer.bias else 0
        return [Part(self.category, mult_adds, weights, biases, 0, formula if mult_adds else "", ho * wo)]

    def torch_module(self):
        from mbcost.adapters.torch_modules import conv_module

        return conv_module(self)


def define(stmt: LayerStmt, name: str, ctx: Context) -> ConvDef:
    kind = stmt.kind
    common = ("pad", "dil", "bias", "stride")
    if kind == "dw":
        check_syntax(stmt, ctx, dims=(3,), flags=("dw", "logits"), options=common + ("mult",),
                     what="a depthwise conv", example="3x3x32 dw", infer_at={3: 2})
        kh, kw, m = stmt.dims
        n = 0
    elif kind == "pw":
        check_syntax(stmt, ctx, dims=(2, 4), flags=("logits",), options=common + ("groups",),
                     what="a pointwise conv", example="32x64", infer_at={2: 0, 4: 2})
        if len(stmt.dims) == 4 and stmt.dims[:2] != (1, 1):
            raise ctx.error("a pointwise conv has a 1x1 kernel", stmt.dims_loc)
        kh, kw, (m, n) = 1, 1, stmt.dims[-2:]
    else:
        check_syntax(stmt, ctx, dims=(4,), flags=("logits",), options=common + ("groups",),
                     what="a conv", example="3x3x32x64", infer_at={4: 2})
        kh, kw, m, n = stmt.dims
    groups = opt_int(stmt, "groups", ctx, 1)
    if groups > 1 and any(c is not None and c % groups for c in (m, n)):
        loc = stmt.options["groups"][1]
        raise ctx.error(f"groups={groups} must divide both the {m or '?'} input and {n} output channels", loc)
    bias = opt_bool(stmt, "bias", ctx, None)
    return ConvDef(
        name=name,
        stmt=stmt,
        post=stmt.post or (),
        kernel=(kh, kw),
        in_declared=m,
        out_declared=n,
        multiplier=opt_int(stmt, "mult", ctx, 1),
        groups=groups,
        depthwise=kind == "dw",
        stride=opt_stride(stmt, ctx),
        padding=opt_padding(stmt, ctx, "same"),
        dilation=opt_pair(stmt, "dil", ctx, (1, 1)),
        bias=bias if bias is not None else "bn" not in (stmt.post or ()),
    )
