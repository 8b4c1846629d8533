"""Layers that keep the shape (``relu``, ``relu6``, ``bn``, ``softmax``,
``dropout``) and ``flatten`` (H x W x C -> 1 x 1 x H·W·C).

``bn``, ``relu`` and ``relu6`` can also follow a conv or fc on its own row, as
``+bn +relu`` or through an ``after conv dw: bn relu`` header.

They cost nothing in the paper's convention. Counted on request:
``bn`` -- one Mult-Add per element (inference batch norm folds to x·a + b) and 2·C
normalization parameters (scale and shift; running statistics are buffers, not
parameters); ``act`` -- one operation per element for relu and relu6. Softmax,
dropout and flatten are never counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from mbcost.layers.base import Context, Instance, LayerDef, Part, Shape, check_syntax, dot
from mbcost.spec.ast import LayerStmt

KEYWORDS = {
    "relu": "relu",
    "relu6": "relu6",
    "bn": "bn",
    "batchnorm": "bn",
    "softmax": "softmax",
    "dropout": "dropout",
    "flatten": "flatten",
}
TWO_WORD_KEYWORDS = {("batch", "norm"): "bn"}
POST_OPS = frozenset({"bn", "relu", "relu6"})

_TYPE_NAMES = {"relu": "ReLU", "relu6": "ReLU6", "bn": "BatchNorm", "softmax": "Softmax",
               "dropout": "Dropout", "flatten": "Flatten"}


def elementwise_part(op: str, shape: Shape, count: frozenset) -> Part:
    """The cost of ``op`` applied to a tensor of ``shape``."""
    category = _TYPE_NAMES[op]
    formula = dot(shape.h, shape.w, shape.c)
    if op == "bn":
        counted = "bn" in count
        return Part(category, shape.numel if counted else 0, norm=2 * shape.c, formula=formula if counted else "",
                    positions=shape.h * shape.w)
    if op in ("relu", "relu6") and "act" in count:
        return Part(category, shape.numel, formula=formula, positions=shape.h * shape.w)
    return Part(category)


@dataclass
class ElementwiseDef(LayerDef):
    op: str = "relu"

    @property
    def type_name(self) -> str:  # type: ignore[override]
        return _TYPE_NAMES[self.op]

    def resolve(self, x: Shape, ctx: Context) -> Instance:
        out = Shape(1, 1, x.numel) if self.op == "flatten" else x
        label = {"softmax": "Classifier", "flatten": f"{x.h} × {x.w} × {x.c}"}.get(self.op, "")
        return ElementwiseInstance(self, x, out, (1, 1), label)


@dataclass
class ElementwiseInstance(Instance):
    def main_parts(self, count: frozenset) -> list[Part]:
        if self.layer.op in ("bn", "relu", "relu6"):
            return [elementwise_part(self.layer.op, self.input, count)]
        return []

    def torch_module(self):
        from mbcost.adapters.torch_modules import elementwise_module

        return elementwise_module(self)


def define(stmt: LayerStmt, name: str, ctx: Context) -> ElementwiseDef:
    options = ("p",) if stmt.kind == "dropout" else ()
    flags = ("classifier",) if stmt.kind == "softmax" else ()  # Table 1 prints "Classifier"
    check_syntax(stmt, ctx, dims=(0,), flags=flags, options=options, what=f"'{stmt.kind}'", example=stmt.kind)
    if stmt.stride not in (None, (1, 1)):
        raise ctx.error(f"'{stmt.kind}' has stride 1", stmt.stride_loc)
    if stmt.post:
        raise ctx.error(f"nothing can follow '{stmt.kind}' on its row: write it as its own layer", stmt.post_loc or stmt.loc)
    if "p" in stmt.options:
        raw, loc = stmt.options["p"]
        try:
            ok = 0 <= float(raw) < 1
        except ValueError:
            ok = False
        if not ok:
            raise ctx.error(f"dropout p must be a number in [0, 1), got '{raw}'", loc)
    return ElementwiseDef(name=name, stmt=stmt, post=(), op=stmt.kind)
