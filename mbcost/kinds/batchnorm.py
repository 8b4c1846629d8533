"""Batch norm (``bn``, ``batchnorm``, ``batch norm``): on its own row, or after a
conv or fc on its row (``+bn``, ``after conv dw: bn relu``).

Cost: nothing in the paper's convention. Counted on request (``--count ...,bn``):
one Mult-Add per element (inference batch norm folds to x·a + b). Parameters: 2·C
normalization parameters (scale and shift; the running statistics are buffers,
not parameters), reported as ``norm``.

Torch: ``nn.BatchNorm2d``.
"""

from __future__ import annotations

from mbcost.kinds.base import Part, Shape, dot
from mbcost.kinds.elementwise import ElementwiseDef, define_shape_keeping
from mbcost.kinds.registry import Kind, KindDoc, register

CATEGORY = "BatchNorm"


def part(shape: Shape, count: frozenset) -> Part:
    counted = "bn" in count
    return Part(CATEGORY, shape.numel if counted else 0, norm=2 * shape.c,
                formula=dot(shape.h, shape.w, shape.c) if counted else "", positions=shape.h * shape.w)


def torch_module(channels: int, stmt=None):
    from torch import nn

    return nn.BatchNorm2d(channels)


def define(stmt, name, ctx) -> ElementwiseDef:
    return define_shape_keeping(stmt, name, ctx)


register(Kind(
    "bn", define, rank=60, keywords=("bn", "batchnorm"), phrases=(("batch", "norm"),), category=CATEGORY,
    type_name=CATEGORY, post=True, role="bn", part=part, torch_module=torch_module,
    torch_classes=("BatchNorm2d", "BatchNorm1d"), torch_exact=True,
    describe_torch=lambda module: (CATEGORY, CATEGORY, "", (1, 1)),
    doc=KindDoc(mult_adds="H·W·C, only with `--count ...,bn`", norm="2·C"),
))
