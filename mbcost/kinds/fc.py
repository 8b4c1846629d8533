"""Fully connected layer (``fc``).

Syntax: ``fc / s1 1024x1000`` (M inputs x N outputs). Its input must be 1 x 1 x M
(after a global pool, or ``flatten``). Options: ``bias=yes|no`` (default yes,
no when batch norm follows); flag ``logits`` marks the classifier.

Cost: M·N Mult-Adds, M·N weights, N biases.

Torch: ``nn.Linear`` on the flattened 1 x 1 x M input, returned as N x 1 x 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from mbcost.kinds.base import Context, Instance, LayerDef, Part, Shape, check_syntax, dot, opt_bool
from mbcost.kinds.registry import Kind, KindDoc, register
from mbcost.language.ast import LayerStmt

CATEGORY = "Fully Connected"


@dataclass
class FcDef(LayerDef):
    in_declared: int | None = 0
    out_declared: int = 0
    bias: bool = True

    weighted = True
    fully_connected = True
    type_name = "FC"

    def resolve(self, x: Shape, ctx: Context) -> Instance:
        if (x.h, x.w) != (1, 1):
            raise self.fail(ctx, f"a fully connected layer needs a 1×1×C input, got {x}: add 'flatten' or a global pool")
        self.check_in_channels(self.in_declared, x, ctx)
        n = self.out_channels(self.out_declared, ctx)
        return FcInstance(self, x, Shape(1, 1, n), (1, 1), f"{x.c} × {n}")


@dataclass
class FcInstance(Instance):
    def main_parts(self, count: frozenset) -> list[Part]:
        m, n = self.input.c, self.output.c
        mult_adds = m * n if "fc" in count else 0
        return [Part(CATEGORY, mult_adds, m * n, n if self.layer.bias else 0, 0,
                     dot(m, n) if mult_adds else "")]

    def torch_module(self):
        from mbcost.adapters.torch_modules import FlatLinear, unit

        return unit(self, "fc", FlatLinear(self.input.c, self.output.c, bias=bool(self.layer.bias)))


def define(stmt: LayerStmt, name: str, ctx: Context) -> FcDef:
    check_syntax(stmt, ctx, dims=(2,), flags=("logits", "noshrink", "fixed"), options=("bias",),
                 what="a fully connected layer", example="1024x1000", infer_at={2: 0})
    if stmt.stride not in (None, (1, 1)):
        raise ctx.error("a fully connected layer has stride 1", stmt.stride_loc)
    m, n = stmt.dims
    bias = opt_bool(stmt, "bias", ctx, None)
    return FcDef(name=name, stmt=stmt, post=stmt.post or (), in_declared=m, out_declared=n,
                 bias=bias if bias is not None else "bn" not in (stmt.post or ()))


def describe_torch(module) -> tuple[str, str, str, tuple[int, int]]:
    """An ``nn.Linear`` of a user's model."""
    return "FC", CATEGORY, f"{module.in_features} × {module.out_features}", (1, 1)


register(Kind(
    "fc", define, rank=20, keywords=("fc", "linear", "dense"), phrases=(("fully", "connected"),), category=CATEGORY,
    type_name="FC", torch_classes=("Linear",), describe_torch=describe_torch,
    doc=KindDoc("`M x N`", "`bias=`, `noshrink`, `fixed`, `logits`", "1 x 1 x N; input must be 1 x 1 x M", "M·N", "M·N", "N"),
))
