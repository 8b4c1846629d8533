"""Channel bookkeeping of ShuffleNetV2 (Ma et al. 2018): ``shuffle`` and ``split``.

* ``shuffle groups=G``: the channel shuffle; with C = G·k channels, output
  channel j·G + g is input channel g·k + j (reshape to G x k, transpose,
  flatten). Same shape. G must divide C.
* ``split parts=P take=T``: the T-th of P equal slices of the channels
  (``x.chunk(P, dim=1)[T - 1]``): output H x W x C/P. P must divide C. In a
  ``concat`` each branch can take its own slice: ShuffleNetV2's stride-1 unit
  is ``concat { branch { split parts=2 take=1 } branch { split parts=2
  take=2 ... } }`` followed by ``shuffle groups=2``.

Cost: never (they move data, no arithmetic, no parameters), in every counting
convention. Channels are not scaled by alpha: they follow the input.

Torch: ``ChannelShuffle`` (view, transpose, reshape) and ``ChannelSlice``
(a slice of dim 1), in :func:`_torch_modules`.
"""

from __future__ import annotations

from dataclasses import dataclass

from mbcost.kinds.base import Context, Instance, LayerDef, Shape, opt_int
from mbcost.kinds.elementwise import define_shape_keeping
from mbcost.kinds.registry import Kind, KindDoc, register
from mbcost.language.ast import LayerStmt


@dataclass
class ShuffleDef(LayerDef):
    groups: int = 2
    type_name = "Shuffle"

    def resolve(self, x: Shape, ctx: Context) -> Instance:
        if x.c % self.groups:
            raise self.fail(ctx, f"shuffle groups={self.groups} does not divide its {x.c} input channels",
                            self.stmt.options.get("groups", (None, None))[1])
        return ShuffleInstance(self, x, x, (1, 1), f"{self.groups} groups")


@dataclass
class ShuffleInstance(Instance):
    def torch_module(self):
        return _torch_modules()[0](self.layer.groups)


@dataclass
class SplitDef(LayerDef):
    parts: int = 2
    take: int = 1
    type_name = "Split"

    def resolve(self, x: Shape, ctx: Context) -> Instance:
        if x.c % self.parts:
            raise self.fail(ctx, f"split parts={self.parts} does not divide its {x.c} input channels"
                                 " into equal slices", self.stmt.options.get("parts", (None, None))[1])
        k = x.c // self.parts
        start = (self.take - 1) * k
        return SplitInstance(self, x, Shape(x.h, x.w, k), (1, 1), f"channels {start}:{start + k}", start=start)


@dataclass
class SplitInstance(Instance):
    start: int = 0

    def torch_module(self):
        return _torch_modules()[1](self.start, self.start + self.output.c)


def _torch_modules():
    from torch import nn

    class ChannelShuffle(nn.Module):
        def __init__(self, groups: int) -> None:
            super().__init__()
            self.groups = groups

        def forward(self, x):
            n, c, h, w = x.shape
            x = x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2)
            return x.reshape(n, c, h, w)

    class ChannelSlice(nn.Module):
        def __init__(self, start: int, stop: int) -> None:
            super().__init__()
            self.start, self.stop = start, stop

        def forward(self, x):
            return x[:, self.start:self.stop]

    return ChannelShuffle, ChannelSlice


def define_shuffle(stmt: LayerStmt, name: str, ctx: Context) -> ShuffleDef:
    return define_shape_keeping(stmt, name, ctx, options=("groups",), example="shuffle groups=2",
                                make=lambda **row: ShuffleDef(**row, groups=opt_int(stmt, "groups", ctx, 2)))


def define_split(stmt: LayerStmt, name: str, ctx: Context) -> SplitDef:
    def make(**row) -> SplitDef:  # after the line's syntax is checked
        if "take" not in stmt.options:
            raise ctx.error("'split' needs take=N", stmt.loc)
        parts, take = opt_int(stmt, "parts", ctx, 2), opt_int(stmt, "take", ctx, 1)
        if take > parts:
            raise ctx.error(f"split take={take}: there are only {parts} parts", stmt.options["take"][1])
        return SplitDef(**row, parts=parts, take=take)

    return define_shape_keeping(stmt, name, ctx, options=("parts", "take"), example="split parts=2 take=1",
                                make=make)


register(Kind(
    "shuffle", define_shuffle, rank=46, keywords=("shuffle", "channel_shuffle"), category="Shuffle",
    type_name="Shuffle", doc=KindDoc(options="`groups=G` (default 2; must divide C)"),
))
register(Kind(
    "split", define_split, rank=47, keywords=("split", "channel_split"), category="Split", type_name="Split",
    doc=KindDoc(options="`parts=P` (default 2; must divide C), `take=T` (1 to P)", output="H x W x C/P"),
))
