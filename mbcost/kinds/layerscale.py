"""``layerscale``: LayerScale (Touvron et al. 2021, "Going deeper with image
transformers"), as MobileNetV4's hybrid models end every UIB and attention
block with it (timm's ``LayerScale2d``): the input times a learned scale per
channel, gamma of length C. Output: the input's shape.

Cost: its C scales are parameters (``weights``: they are learned like any
weight and are no normalization statistics). Its multiplies, H·W·C, are
elementwise products and are never counted as Mult-Adds, like the residual
addition and squeeze-and-excitation's channel-wise product (and as both torch
counters treat ``aten::mul``). At inference a LayerScale folds into the
preceding 1x1 projection, so a deployed network pays nothing for it.

Width: follows its input (C is whatever comes in).

Torch: :class:`LayerScale2d`, one parameter ``gamma`` of C elements, forward
x · gamma.view(1, C, 1, 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from mbcost.kinds.base import Context, Instance, LayerDef, Part, Shape
from mbcost.kinds.elementwise import define_shape_keeping
from mbcost.kinds.registry import Kind, KindDoc, register
from mbcost.language.ast import LayerStmt

CATEGORY = "LayerScale"


@dataclass
class LayerScaleDef(LayerDef):
    type_name = "LayerScale"

    def resolve(self, x: Shape, ctx: Context) -> Instance:
        return LayerScaleInstance(self, x, x, (1, 1), f"γ {x.c}")


@dataclass
class LayerScaleInstance(Instance):
    def main_parts(self, count: frozenset) -> list[Part]:
        return [Part(CATEGORY, 0, weights=self.input.c, positions=self.input.h * self.input.w)]

    def torch_module(self):
        return torch_layer_scale(self.input.c)


def torch_layer_scale(channels: int):
    import torch
    from torch import nn

    class LayerScale2d(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gamma = nn.Parameter(torch.ones(channels))

        def forward(self, x):
            return x * self.gamma.view(1, -1, 1, 1)

    return LayerScale2d()


def define(stmt: LayerStmt, name: str, ctx: Context) -> LayerScaleDef:
    return define_shape_keeping(stmt, name, ctx, make=LayerScaleDef, example="layerscale")


def describe_torch(module) -> tuple[str, str, str, tuple[int, int]]:
    return CATEGORY, CATEGORY, "", (1, 1)


register(Kind(
    "layerscale", define, rank=47, keywords=("layerscale", "layer_scale"), category=CATEGORY, type_name=CATEGORY,
    torch_classes=("LayerScale2d", "LayerScale"), describe_torch=describe_torch,
    doc=KindDoc(mult_adds="never (an elementwise product: H·W·C multiplies, not counted)", weights="C"),
))
