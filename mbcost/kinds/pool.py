"""Pooling: ``avgpool`` / ``maxpool`` (also ``avg pool``, ``max pool``), and global
pooling (``avgpool 7x7 global``, or ``gap`` / ``gmp`` with no kernel).

Syntax: ``avgpool / s1 7x7 global`` (the paper's ``Avg Pool / s1  Pool 7 × 7`` is
accepted as printed). Options: ``pad=valid|same|N|HxW`` (default
valid), ``ceil=yes`` (round the output size up, as Caffe-era networks do). The
stride defaults to 1, like every layer (write it: ``maxpool / s2 2x2``).
With ``global`` the window is the whole feature map whatever the resolution; a
kernel written beside it documents the spec's own resolution and is checked there.

Cost (counted only with ``pool`` in the counted operations; the paper does not):
one Mult-Add per input element in each window, Kh·Kw·C·Ho·Wo; global H·W·C.

Torch: ``nn.AvgPool2d`` / ``nn.MaxPool2d`` (global: adaptive to 1 x 1), padded
explicitly where PyTorch's own padding cannot give the spec's output.
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
    opt_padding,
    opt_stride,
    spatial,
)
from mbcost.kinds.registry import Kind, KindDoc, register
from mbcost.language.ast import LayerStmt


@dataclass
class PoolDef(LayerDef):
    mode: str = "avg"
    kernel: tuple[int, int] | None = None
    is_global: bool = False
    stride: tuple[int, int] = (1, 1)
    padding: object = "valid"
    ceil: bool = False

    @property
    def type_name(self) -> str:  # type: ignore[override]
        return "Avg Pool" if self.mode == "avg" else "Max Pool"

    def resolve(self, x: Shape, ctx: Context) -> Instance:
        if self.is_global:
            if ctx.nominal and self.kernel is not None and self.kernel != (x.h, x.w):
                raise self.fail(
                    ctx,
                    f"global pool written as {self.kernel[0]}×{self.kernel[1]} but its input is {x}",
                    self.stmt.dims_loc,
                )
            return PoolInstance(self, x, Shape(1, 1, x.c), (1, 1), f"Pool {x.h} × {x.w}", window=(x.h, x.w))
        ho, wo, pads = spatial(self, x, self.kernel, self.stride, self.padding, ctx, ceil=self.ceil)
        kh, kw = self.kernel
        return PoolInstance(self, x, Shape(ho, wo, x.c), self.stride, f"Pool {kh} × {kw}",
                            window=self.kernel, pads=pads)


@dataclass
class PoolInstance(Instance):
    window: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def kernel(self) -> tuple[int, int]:
        return self.window

    def main_parts(self, count: frozenset) -> list[Part]:
        category = self.layer.type_name
        if "pool" not in count:
            return [Part(category)]
        if self.layer.is_global:
            x = self.input
            return [Part(category, x.numel, formula=dot(x.h, x.w, x.c), positions=x.h * x.w)]
        kh, kw = self.window
        out = self.output
        return [Part(category, kh * kw * out.numel, formula=dot(kh, kw, out.c, out.h, out.w),
                     positions=out.h * out.w)]

    @property
    def pads_natively(self) -> bool:
        """Whether PyTorch's own pooling padding gives the spec's output (symmetric, at
        most half the kernel, the same rounding); else the torch row pads explicitly first."""
        if self.layer.is_global:
            return True
        (kh, kw), (sh, sw) = self.window, self.stride
        top, bottom, left, right = self.pads
        x, out = self.input, self.output
        return (top == bottom and left == right and top <= kh // 2 and left <= kw // 2
                and _torch_length(x.h, kh, sh, top, self.layer.ceil) == out.h
                and _torch_length(x.w, kw, sw, left, self.layer.ceil) == out.w)

    def torch_module(self):
        """PyTorch's own padding where it gives the spec's output (symmetric, at
        most half the kernel); otherwise the row pads explicitly, sized so that the
        pooling's floor rounding gives exactly the spec's output."""
        import math

        from torch import nn

        from mbcost.adapters.torch_modules import unit

        layer = self.layer
        is_max = layer.mode == "max"
        if layer.is_global:
            return unit(self, "pool", nn.AdaptiveMaxPool2d(1) if is_max else nn.AdaptiveAvgPool2d(1))
        (kh, kw), (sh, sw) = self.window, self.stride
        top, bottom, left, right = self.pads
        x, out = self.input, self.output
        if self.pads_natively:
            if is_max:
                pool = nn.MaxPool2d((kh, kw), (sh, sw), padding=(top, left), ceil_mode=layer.ceil)
            else:
                pool = nn.AvgPool2d((kh, kw), (sh, sw), padding=(top, left), ceil_mode=layer.ceil,
                                    count_include_pad=layer.padding != "same")
            return unit(self, "pool", pool)
        # floor((H + top + b - kh) / sh) + 1 == Ho  with  H + top + b == (Ho - 1)·sh + kh
        bottom = (out.h - 1) * sh + kh - x.h - top
        right = (out.w - 1) * sw + kw - x.w - left
        pad = nn.ConstantPad2d((left, right, top, bottom), -math.inf if is_max else 0.0)
        pool = nn.MaxPool2d((kh, kw), (sh, sw)) if is_max else nn.AvgPool2d((kh, kw), (sh, sw))
        return unit(self, "pool", pool, pad)


def _torch_length(size: int, kernel: int, stride: int, pad: int, ceil: bool) -> int:
    """PyTorch's pooling output length (``pooling_output_shape``), dilation 1."""
    span = size + 2 * pad - kernel
    out = (-(-span // stride) if ceil else span // stride) + 1
    if ceil and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def define(stmt: LayerStmt, name: str, ctx: Context) -> PoolDef:
    is_global = stmt.kind in ("gap", "gmp") or "global" in stmt.flags
    check_syntax(stmt, ctx, dims=(0, 1, 2) if is_global else (1, 2), flags=("global", "pool"),
                 options=() if is_global else ("pad", "ceil", "stride"), what="a pooling layer", example="2x2")
    kernel = None
    if stmt.dims is not None:
        kernel = (stmt.dims[0], stmt.dims[-1])
    if is_global and stmt.stride not in (None, (1, 1)):
        raise ctx.error("a global pool has stride 1", stmt.stride_loc)
    return PoolDef(
        name=name,
        stmt=stmt,
        post=stmt.post or (),
        mode="max" if stmt.kind in ("maxpool", "gmp") else "avg",
        kernel=kernel,
        is_global=is_global,
        stride=opt_stride(stmt, ctx),
        padding=opt_padding(stmt, ctx, "valid"),
        ceil=bool(opt_bool(stmt, "ceil", ctx, False)),
    )


def _pair(v) -> tuple[int, int]:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def describe_torch(module) -> tuple[str, str, str, tuple[int, int]]:
    """An ``nn.AvgPool2d`` or ``nn.MaxPool2d`` of a user's model."""
    label = "Max Pool" if "Max" in type(module).__name__ else "Avg Pool"
    kh, kw = _pair(module.kernel_size)
    return label, label, f"Pool {kh} × {kw}", _pair(module.stride)


_WINDOW = KindDoc("`Kh x Kw` or `K`", "`pad=`, `ceil=yes`, `stride=`, `global`", "windows of the input",
                  "Kh·Kw·C·Ho·Wo (global: H·W·C), only with `--count ...,pool`")
_GLOBAL = KindDoc("none (or the kernel, as a check)", "", "1 x 1 x C", "H·W·C, only with `--count ...,pool`")
register(Kind("avgpool", define, rank=30, keywords=("avgpool", "pool"), phrases=(("avg", "pool"),), category="Avg Pool",
              type_name="Avg Pool", torch_classes=("AvgPool2d",), describe_torch=describe_torch, doc=_WINDOW))
register(Kind("maxpool", define, rank=31, keywords=("maxpool",), phrases=(("max", "pool"),), category="Max Pool",
              type_name="Max Pool", torch_classes=("MaxPool2d",), describe_torch=describe_torch, doc=_WINDOW))


register(Kind("gap", define, rank=32, keywords=("gap",), category="Avg Pool", type_name="Avg Pool", doc=_GLOBAL))
register(Kind("gmp", define, rank=33, keywords=("gmp",), category="Max Pool", type_name="Max Pool", doc=_GLOBAL))
