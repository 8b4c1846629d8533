"""``se``: squeeze-and-excitation (Hu et al. 2018), as MobileNetV3, EfficientNet
and MnasNet-A use it: on an H x W x C input,

1. squeeze: global average pool to 1 x 1 x C;
2. reduce: 1x1 conv C -> S with a bias, then an activation (``act=``: relu by
   default, silu for EfficientNet);
3. expand: 1x1 conv S -> C with a bias, then a gate (``gate=``: sigmoid by
   default, hsigmoid for MobileNetV3, clip01 -- clamp(x, 0, 1) -- for GhostNet);
4. excite: the input times the gate, channel by channel. Output: H x W x C.

The squeezed width S is what each reference network defines: ``reduce=R``
gives S = floor(C / R) of the SE's own input C (EfficientNet's
max(1, c_in // 4) of the block's input is ``reduce=4t`` after an expansion by
t); ``divisor=D`` then rounds it to the nearest multiple of D, never below 90%
(MobileNetV3's _make_divisible(C // 4, 8) is ``reduce=4 divisor=8``). A width
of 0 is an error.

Cost (one row, category ``Squeeze-Excite``): the two 1x1 convs are Mult-Adds in
the paper's convention, 2·C·S (``conv`` counted); the pool is H·W·C under
``--count ...,pool``, the activation and the gate S + C under ``--count
...,act``; the channel-wise multiply is never counted (an elementwise product,
like a residual addition). Weights 2·C·S, biases S + C.

Torch: a module with ``pool`` (AdaptiveAvgPool2d(1)), ``reduce`` and ``expand``
(Conv2d 1x1 with bias), ``act`` and ``gate``; forward is x · gate(...).
"""

from __future__ import annotations

from dataclasses import dataclass

from mbcost.kinds.base import Context, Instance, LayerDef, Part, Shape, dot, opt_int, scale_channels
from mbcost.kinds.elementwise import define_shape_keeping
from mbcost.kinds.registry import Kind, KindDoc, register
from mbcost.language.ast import LayerStmt

CATEGORY = "Squeeze-Excite"
ACTS = ("relu", "relu6", "silu", "swish", "hswish")
GATES = ("sigmoid", "hsigmoid", "clip01")


@dataclass
class SeDef(LayerDef):
    reduce: int = 4
    divisor: int = 1
    act: str = "relu"
    gate: str = "sigmoid"
    type_name = "SE"

    def squeeze(self, channels: int, ctx: Context) -> int:
        width = channels // self.reduce
        if self.divisor > 1 and width > 0:
            width = scale_channels(width, 1, 0, self.divisor)
        if width <= 0:
            loc = self.stmt.options.get("reduce", (None, None))[1]
            raise self.fail(ctx, f"its squeeze width {channels} // {self.reduce} rounds to 0 channels"
                                 f" (input {channels} channels): use a smaller reduce=", loc)
        return width

    def resolve(self, x: Shape, ctx: Context) -> Instance:
        s = self.squeeze(x.c, ctx)
        return SeInstance(self, x, x, (1, 1), f"SE {x.c} → {s} → {x.c}", squeeze=s)


@dataclass
class SeInstance(Instance):
    squeeze: int = 1

    def main_parts(self, count: frozenset) -> list[Part]:
        x, s = self.input, self.squeeze
        c = x.c
        pool = x.numel if "pool" in count else 0
        convs = 2 * c * s if "conv" in count else 0
        acts = s + c if "act" in count else 0
        return [
            Part(CATEGORY, pool, formula=dot(x.h, x.w, c) if pool else "", positions=x.h * x.w),
            Part(CATEGORY, convs, weights=2 * c * s, biases=s + c,
                 formula=f"{dot(c, s)} + {dot(s, c)}" if convs else ""),
            Part(CATEGORY, acts, formula=f"{s} + {c}" if acts else ""),
        ]

    def torch_module(self):
        from mbcost.adapters.torch_modules import unit

        return unit(self, "se", _torch_se(self.input.c, self.squeeze, self.layer.act, self.layer.gate))


def _torch_se(c: int, s: int, act: str, gate: str):
    from torch import nn

    from mbcost.kinds.registry import KINDS

    class SqueezeExcite(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.reduce = nn.Conv2d(c, s, 1)
            self.act = KINDS[act].torch_module(s)
            self.expand = nn.Conv2d(s, c, 1)
            self.gate = KINDS[gate].torch_module(c)

        def forward(self, x):
            return x * self.gate(self.expand(self.act(self.reduce(self.pool(x)))))

    return SqueezeExcite()


def _choice(stmt: LayerStmt, key: str, default: str, allowed: tuple[str, ...], ctx: Context) -> str:
    if key not in stmt.options:
        return default
    raw, loc = stmt.options[key]
    value = raw.lower()
    if value not in allowed:
        raise ctx.error(f"se {key}= is one of {', '.join(allowed)}, got '{raw}'", loc)
    return "silu" if value == "swish" else value


def define(stmt: LayerStmt, name: str, ctx: Context) -> SeDef:
    def make(**row) -> SeDef:  # after the line's syntax is checked
        if "reduce" not in stmt.options:
            raise ctx.error("'se' needs its squeeze rule: reduce=R (S = C // R), e.g. 'se reduce=4'", stmt.loc)
        return SeDef(**row, reduce=opt_int(stmt, "reduce", ctx, 4), divisor=opt_int(stmt, "divisor", ctx, 1),
                     act=_choice(stmt, "act", "relu", ACTS, ctx), gate=_choice(stmt, "gate", "sigmoid", GATES, ctx))

    return define_shape_keeping(stmt, name, ctx, options=("reduce", "divisor", "act", "gate"),
                                example="se reduce=4 divisor=8 gate=hsigmoid", make=make)


register(Kind(
    "se", define, rank=45, keywords=("se", "squeeze_excite"), category=CATEGORY, type_name="SE",
    doc=KindDoc(options="`reduce=R` (S = C // R), `divisor=D`, `act=relu|silu|hswish`, `gate=sigmoid|hsigmoid|clip01`",
                mult_adds="2·C·S (the two 1x1 convs); pool H·W·C with `--count ...,pool`; S + C with "
                          "`--count ...,act`; the multiply never",
                weights="2·C·S", biases="S + C"),
))
