"""Adaptive pooling to a fixed output size: ``adaptive avgpool 7x7`` and
``adaptive maxpool 6x6`` (also ``adaptive_avgpool``, ``adaptive_maxpool``; a single
number N means N x N).

The output is Ho x Wo x C whatever the input, so a classifier behind it sees the
same input at every resolution (torchvision's VGG and AlexNet put one before
their fully connected layers). The windows are PyTorch's: output row i pools
input rows ``floor(i·H/Ho)`` to ``ceil((i+1)·H/Ho)`` (end excluded), and likewise
for columns. When Ho does not divide H the windows have different sizes and may
overlap: 5 -> 3 pools rows [0, 2), [1, 4), [3, 5).

Cost (counted only with ``pool`` in the counted operations; the paper does not):
one Mult-Add per input element in each window, C·(Σ window heights)·(Σ window
widths); when Ho divides H and Wo divides W that is H·W·C, every input once.

Torch: ``nn.AdaptiveAvgPool2d`` / ``nn.AdaptiveMaxPool2d`` with output (Ho, Wo).
"""

from __future__ import annotations

from dataclasses import dataclass

from mbcost.kinds.base import Context, Instance, LayerDef, Part, Shape, check_syntax, dot
from mbcost.kinds.registry import Kind, KindDoc, register
from mbcost.language.ast import LayerStmt


def windows(size: int, out: int) -> list[tuple[int, int]]:
    """The (start, end) of each output cell's window along one axis."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def window_sum(size: int, out: int) -> int:
    """The total length of the windows along one axis."""
    return sum(end - start for start, end in windows(size, out))


@dataclass
class AdaptivePoolDef(LayerDef):
    mode: str = "avg"
    size: tuple[int, int] = (1, 1)

    @property
    def type_name(self) -> str:  # type: ignore[override]
        return "Avg Pool" if self.mode == "avg" else "Max Pool"

    def resolve(self, x: Shape, ctx: Context) -> Instance:
        ho, wo = self.size
        return AdaptivePoolInstance(self, x, Shape(ho, wo, x.c), (1, 1), f"Adaptive {ho} × {wo}")


@dataclass
class AdaptivePoolInstance(Instance):
    def main_parts(self, count: frozenset) -> list[Part]:
        category = self.layer.type_name
        if "pool" not in count:
            return [Part(category)]
        x, out = self.input, self.output
        rows, cols = window_sum(x.h, out.h), window_sum(x.w, out.w)
        # positions: the input pixels read (set by the resolution), times the channels (set by alpha)
        return [Part(category, rows * cols * x.c, formula=dot(rows, cols, x.c), positions=rows * cols)]

    def torch_module(self):
        from torch import nn

        from mbcost.adapters.torch_modules import unit

        pool = nn.AdaptiveMaxPool2d if self.layer.mode == "max" else nn.AdaptiveAvgPool2d
        return unit(self, "pool", pool(self.layer.size))


def define(stmt: LayerStmt, name: str, ctx: Context) -> AdaptivePoolDef:
    check_syntax(stmt, ctx, dims=(1, 2), what="an adaptive pool", example="adaptive avgpool 7x7")
    if stmt.stride not in (None, (1, 1)):
        raise ctx.error("an adaptive pool has no stride: its output size is fixed", stmt.stride_loc)
    return AdaptivePoolDef(name=name, stmt=stmt, post=stmt.post or (),
                           mode="max" if stmt.kind == "adaptive_maxpool" else "avg",
                           size=(stmt.dims[0], stmt.dims[-1]))


def describe_torch(module) -> tuple[str, str, str, tuple[int, int]]:
    """An ``nn.AdaptiveAvgPool2d`` / ``nn.AdaptiveMaxPool2d`` of a user's model."""
    label = "Max Pool" if "Max" in type(module).__name__ else "Avg Pool"
    return label, label, "adaptive", (1, 1)


_DOC = KindDoc("`Ho x Wo` or `N` (the output size)", "", "Ho x Wo x C at any input size",
               "C·(Σ window heights)·(Σ window widths), only with `--count ...,pool`")
register(Kind("adaptive_avgpool", define, keywords=("adaptive_avgpool",), phrases=(("adaptive", "avgpool"),),
              category="Avg Pool", type_name="Avg Pool", torch_classes=("AdaptiveAvgPool2d",),
              describe_torch=describe_torch, doc=_DOC, rank=34))
register(Kind("adaptive_maxpool", define, keywords=("adaptive_maxpool",), phrases=(("adaptive", "maxpool"),),
              category="Max Pool", type_name="Max Pool", torch_classes=("AdaptiveMaxPool2d",),
              describe_torch=describe_torch, doc=_DOC, rank=35))
