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

from mbcost.layers.base import Context, Instance, LayerDef, Shape, check_syntax
from mbcost.layers.registry import Kind, KindDoc, register
from mbcost.spec.ast import LayerStmt


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


def _count(stmt: LayerStmt, key: str, ctx: Context, default: int | None = None) -> int:
    if key not in stmt.options:
        if default is None:
            raise ctx.error(f"'{stmt.kind}' needs {key}=N", stmt.loc)
        return default
    raw, loc = stmt.options[key]
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 10**6:
        raise ctx.error(f"{stmt.kind} {key}= must be a whole number from 1 to 1000000, got '{raw}'", loc)
    return int(raw)


def _plain(stmt: LayerStmt, ctx: Context, options: tuple[str, ...], example: str) -> None:
    check_syntax(stmt, ctx, dims=(0,), options=options, what=f"'{stmt.kind}'", example=example)
    if stmt.stride not in (None, (1, 1)):
        raise ctx.error(f"'{stmt.kind}' has stride 1", stmt.stride_loc)
    if stmt.post:
        raise ctx.error(f"nothing can follow '{stmt.kind}' on its row", stmt.post_loc or stmt.loc)


def define_shuffle(stmt: LayerStmt, name: str, ctx: Context) -> ShuffleDef:
    _plain(stmt, ctx, ("groups",), "shuffle groups=2")
    return ShuffleDef(name=name, stmt=stmt, groups=_count(stmt, "groups", ctx, 2))


def define_split(stmt: LayerStmt, name: str, ctx: Context) -> SplitDef:
    _plain(stmt, ctx, ("parts", "take"), "split parts=2 take=1")
    parts, take = _count(stmt, "parts", ctx, 2), _count(stmt, "take", ctx)
    if take > parts:
        raise ctx.error(f"split take={take}: there are only {parts} parts", stmt.options["take"][1])
    return SplitDef(name=name, stmt=stmt, parts=parts, take=take)


register(Kind(
    "shuffle", define_shuffle, rank=46, keywords=("shuffle", "channel_shuffle"), category="Shuffle",
    type_name="Shuffle", doc=KindDoc(options="`groups=G` (default 2; must divide C)"),
))
register(Kind(
    "split", define_split, rank=47, keywords=("split", "channel_split"), category="Split", type_name="Split",
    doc=KindDoc(options="`parts=P` (default 2; must divide C), `take=T` (1 to P)", output="H x W x C/P"),
))
