"""Where branches meet: ``concat`` (channels joined; the outputs of a
``concat { branch ... }``) and ``add`` (the output of a ``residual { ... }``: input
plus body). Both are rows of their own in the table.

They cost nothing: concatenation moves no arithmetic, and the paper's convention
does not count the residual addition (neither does fvcore's default). Their
shape rules: concat needs every branch at the same height and width; add needs
identical shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

from mbcost.layers.base import Context, Instance, LayerDef, Shape
from mbcost.spec.ast import Loc

KEYWORDS: dict[str, str] = {}  # written with concat { } / residual { }, not as layer lines
TWO_WORD_KEYWORDS: dict[tuple[str, str], str] = {}


@dataclass
class MergeDef(LayerDef):
    op: str = "concat"  # or "add"
    branch_names: tuple[str, ...] = ()
    branch_locs: tuple[Loc, ...] = ()

    @property
    def type_name(self) -> str:  # type: ignore[override]
        return "Concat" if self.op == "concat" else "Add"

    def resolve_many(self, inputs: list[Shape], ctx: Context) -> Instance:
        first = inputs[0]
        if self.op == "concat":
            for shape, name, loc in zip(inputs[1:], self.branch_names[1:], self.branch_locs[1:]):
                if (shape.h, shape.w) != (first.h, first.w):
                    raise ctx.error(
                        f"{self.name}: branch {name} gives {shape} but branch {self.branch_names[0]}"
                        f" gives {first}; concatenated branches need the same height and width",
                        loc,
                    )
            out = Shape(first.h, first.w, sum(s.c for s in inputs))
            return MergeInstance(self, first, out, (1, 1), " + ".join(str(s.c) for s in inputs), inputs=list(inputs))
        body = inputs[1]
        if body != first:
            raise ctx.error(
                f"{self.name}: the residual body gives {body} but its input is {first}; a residual"
                " addition needs identical shapes",
                self.stmt.loc,
            )
        return MergeInstance(self, first, first, (1, 1), "identity", inputs=list(inputs))


@dataclass
class MergeInstance(Instance):
    inputs: list[Shape] | None = None

    def torch_module(self):
        from mbcost.adapters.torch_modules import merge_module

        return merge_module(self)
