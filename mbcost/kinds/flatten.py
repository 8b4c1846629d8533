"""``flatten``: H x W x C -> 1 x 1 x (H·W·C), before a fully connected layer.

Cost: never counted (it moves no arithmetic).

Torch: ``mbcost.adapters.torch_modules.Flatten``, which keeps tensors NCHW:
``(N, H·W·C, 1, 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mbcost.kinds.base import Context, Instance, Shape
from mbcost.kinds.elementwise import ElementwiseDef, ElementwiseInstance, define_shape_keeping
from mbcost.kinds.registry import Kind, KindDoc, register


@dataclass
class FlattenDef(ElementwiseDef):
    def resolve(self, x: Shape, ctx: Context) -> Instance:
        return FlattenInstance(self, x, Shape(1, 1, x.numel), (1, 1), f"{x.h} × {x.w} × {x.c}")


@dataclass
class FlattenInstance(ElementwiseInstance):
    def torch_module(self):
        from mbcost.adapters.torch_modules import Flatten

        return Flatten()


def define(stmt, name, ctx) -> FlattenDef:
    return define_shape_keeping(stmt, name, ctx, make=FlattenDef)


register(Kind(
    "flatten", define, rank=40, keywords=("flatten",), category="Flatten", type_name="Flatten", torch_classes=("Flatten",),
    torch_exact=True, describe_torch=lambda module: ("Flatten", "Flatten", "", (1, 1)),
    doc=KindDoc(output="1 x 1 x (H·W·C)"),
))
