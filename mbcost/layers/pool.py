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
    opt_padding,
    opt_stride,
    spatial,
)
from mbcost.spec.ast import LayerStmt

KEYWORDS = {"avgpool": "avgpool", "maxpool": "maxpool", "gap": "gap", "gmp": "gmp", "pool": "avgpool"}
TWO_WORD_KEYWORDS = {("avg", "pool"): "avgpool", ("max", "pool"): "maxpool"}


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

    def torch_module(self):
        from mbcost.adapters.torch_modules import pool_module

        return pool_module(self)


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
