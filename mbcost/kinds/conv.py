"""Convolutions: standard (``conv``), depthwise (``dw``) and pointwise (``pw``).

Syntax (filter shapes as in the paper's Table 1)::

    conv / s2   3x3x3x32            # K x K x M x N (or Kh x Kw x M x N)
    conv dw / s1 3x3x32 dw          # depthwise: K x K x M  (also: dw 3x3x32)
    pw          32x64               # pointwise: M x N (= conv 1x1xMxN)

Options: ``stride=N|HxW`` (same as ``/ sN``; takes a ``{param}`` in a block),
``pad=same|valid|N|HxW`` (default same), ``groups=G`` (conv), ``mult=D``
(dw channel multiplier), ``dil=D|HxW``, ``bias=yes|no`` (default: no when batch
norm follows, else yes), ``expand=T`` (conv, pw: T times the input's channels,
output written ``?``: MobileNetV2's expansion of the rounded input width); flags
``logits`` marks the classifier, ``noshrink`` keeps alpha below 1 from thinning
the layer (its width is max(1, alpha)·N), ``fixed`` keeps its width N at every
alpha (MnasNet's last 1x1 conv, 1280 at every width).

Cost (Mult-Adds), with M input and N output channels, G groups, output Ho x Wo::

    standard   Kh·Kw·(M/G)·N·Ho·Wo         weights Kh·Kw·(M/G)·N
    depthwise  Kh·Kw·M·Ho·Wo   (N = M)     weights Kh·Kw·M
    pointwise  M·N·Ho·Wo                   weights M·N

Torch: ``nn.Conv2d`` with the spec's kernel, stride, dilation, groups and bias;
padding as the spec computed it (an explicit ``ZeroPad2d`` when TensorFlow's
"same" padding is asymmetric).
"""

from __future__ import annotations

from dataclasses import dataclass

from mbcost.kinds.base import (
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
from mbcost.kinds.registry import Kind, KindDoc, register
from mbcost.language.ast import LayerStmt



#: A convolution's type as Table 1 prints it (the Type / Stride column), written once.
CONV_TYPE, DW_TYPE = "Conv", "Conv dw"
#: The breakdown's category of a convolution, by its grouping (conv_grouping).
CATEGORY = {"conv": "Conv {}×{}", "dw": "Conv DW {}×{}", "group": "Group Conv {}×{}"}


def conv_grouping(groups: int, in_channels: int) -> str:
    """How a convolution's channels are grouped: ``conv`` (one group), ``dw``
    (one group per input channel) or ``group`` (in between)."""
    if groups == 1:
        return "conv"
    return "dw" if groups == in_channels else "group"


def conv_category(kernel: tuple[int, int], groups: int, in_channels: int) -> str:
    """``Conv 3×3``, ``Conv DW 3×3``, ``Group Conv 3×3``: the breakdown's label, for a spec's row and a torch module."""
    return CATEGORY[conv_grouping(groups, in_channels)].format(*kernel)

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
    expand: int = 0  # output channels = expand x input channels (declared output '?')

    weighted = True

    @property
    def type_name(self) -> str:  # type: ignore[override]
        return DW_TYPE if self.depthwise else CONV_TYPE

    def resolve(self, x: Shape, ctx: Context) -> Instance:
        self.check_in_channels(self.in_declared, x, ctx)
        m = x.c
        if self.depthwise:
            groups, n = m, m * self.multiplier
        else:
            groups = self.groups
            n = self.expand * m if self.expand else self.out_channels(self.out_declared, ctx)
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
    def kernel(self) -> tuple[int, int]:
        return self.layer.kernel

    @property
    def grouping(self) -> str:
        return conv_grouping(self.groups, self.input.c)

    @property
    def category(self) -> str:
        return conv_category(self.layer.kernel, self.groups, self.input.c)

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
        from torch import nn

        from mbcost.adapters.torch_modules import unit

        layer = self.layer
        top, bottom, left, right = self.pads
        symmetric = top == bottom and left == right
        conv = nn.Conv2d(self.input.c, self.output.c, kernel_size=layer.kernel, stride=self.stride,
                         padding=(top, left) if symmetric else 0, dilation=layer.dilation, groups=self.groups,
                         bias=bool(layer.bias))
        pad = None if symmetric else nn.ZeroPad2d((left, right, top, bottom))
        return unit(self, "conv", conv, pad)


def define(stmt: LayerStmt, name: str, ctx: Context) -> ConvDef:
    """Any of the three kinds (``stmt.kind`` is already the canonical one)."""
    kind = stmt.kind
    common = ("pad", "dil", "bias", "stride")
    expand = opt_int(stmt, "expand", ctx, 0)
    if kind == "dw":
        check_syntax(stmt, ctx, dims=(3,), flags=("dw", "logits"), options=common + ("mult",),
                     what="a depthwise conv", example="3x3x32 dw", infer_at={3: 2})
        kh, kw, m = stmt.dims
        n = 0
    elif kind == "pw":
        check_syntax(stmt, ctx, dims=(2, 4), flags=("logits", "noshrink", "fixed"), options=common + ("groups", "expand"),
                     what="a pointwise conv", example="32x64", infer_at={2: (0, 1), 4: (2, 3)} if expand else {2: 0, 4: 2})
        if len(stmt.dims) == 4 and stmt.dims[:2] != (1, 1):
            raise ctx.error("a pointwise conv has a 1x1 kernel", stmt.dims_loc)
        kh, kw, (m, n) = 1, 1, stmt.dims[-2:]
    else:
        check_syntax(stmt, ctx, dims=(4,), flags=("logits", "noshrink", "fixed"), options=common + ("groups", "expand"),
                     what="a conv", example="3x3x32x64", infer_at={4: (2, 3)} if expand else {4: 2})
        kh, kw, m, n = stmt.dims
    if expand and n is not None:
        raise ctx.error("with expand=T the output channels are T x the input's: write them '?'", stmt.dims_loc)
    if not expand and kind != "dw" and n is None:
        raise ctx.error("only the input channels can be '?' (or the output, with expand=T)", stmt.dims_loc)
    groups = opt_int(stmt, "groups", ctx, 1)
    if groups > 1 and any(c is not None and c % groups for c in (m, n)):  # n None: expand
        loc = stmt.options["groups"][1]
        raise ctx.error(f"groups={groups} must divide both the {m or '?'} input and {n} output channels", loc)
    bias = opt_bool(stmt, "bias", ctx, None)
    return ConvDef(
        name=name,
        stmt=stmt,
        post=stmt.post or (),
        kernel=(kh, kw),
        in_declared=m,
        out_declared=n or 0,
        multiplier=opt_int(stmt, "mult", ctx, 1),
        groups=groups,
        depthwise=kind == "dw",
        stride=opt_stride(stmt, ctx),
        padding=opt_padding(stmt, ctx, "same"),
        dilation=opt_pair(stmt, "dil", ctx, (1, 1)),
        bias=bias if bias is not None else "bn" not in (stmt.post or ()),
        expand=expand,
    )


def describe_torch(module) -> tuple[str, str, str, tuple[int, int]]:
    """An ``nn.Conv2d`` of a user's model, labelled as a spec's conv would be."""
    kh, kw = module.kernel_size
    m, n, g = module.in_channels, module.out_channels, module.groups
    category = conv_category((kh, kw), g, m)
    depthwise = conv_grouping(g, m) == "dw"
    filt = f"{kh} × {kw} × {m} dw" if depthwise and n == m else f"{kh} × {kw} × {m} × {n}" + (
        f" g{g}" if g > 1 else "")
    return (DW_TYPE if depthwise else CONV_TYPE), category, filt, tuple(module.stride)


_CONV_OPTIONS = "`pad=`, `dil=`, `bias=`, `stride=`"
register(Kind(
    "conv", define, rank=10, keywords=("conv", "conv2d"), type_name=CONV_TYPE, torch_classes=("Conv2d",),
    describe_torch=describe_torch,
    doc=KindDoc("`Kh x Kw x M x N` (N `?` with `expand=T`)", f"{_CONV_OPTIONS}, `groups=G`, `expand=T`, `noshrink`, `fixed`,"
                " `logits`", "N channels (T·M with `expand=T`)",
                "Kh·Kw·(M/G)·N·Ho·Wo", "Kh·Kw·(M/G)·N", "N"),
))
register(Kind(
    "dw", define, rank=11, keywords=("dw", "dwconv"), phrases=(("conv", "dw"),), flag_spellings=(("conv", "dw"),),
    type_name=DW_TYPE,
    doc=KindDoc("`Kh x Kw x M` (`dw` after it optional)", f"{_CONV_OPTIONS}, `mult=D`", "M·D channels, groups = M",
                "Kh·Kw·M·D·Ho·Wo", "Kh·Kw·M·D", "M·D"),
))
register(Kind(
    "pw", define, rank=12, keywords=("pw",), phrases=(("conv", "pw"),), type_name=CONV_TYPE,
    doc=KindDoc("`M x N` or `1 x 1 x M x N`", f"{_CONV_OPTIONS}, `groups=G`, `expand=T`, `noshrink`, `fixed`, `logits`",
                "N channels (T·M with `expand=T`)",
                "M·N·Ho·Wo / G", "M·N / G", "N"),
))
