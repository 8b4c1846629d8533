"""Where branches meet: ``concat`` (channels joined; the outputs of a
``concat { branch ... }``) and ``add`` (the output of a ``residual { ... }``: input
plus body; or of ``add { branch ... }``: the branches summed, e.g. a residual
with a projection shortcut). Both are rows of their own in the table.

They cost nothing: concatenation moves no arithmetic, and the paper's convention
does not count the residual addition (neither does fvcore's default). Their
shape rules: concat needs every branch at the same height and width; add needs
identical shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

from mbcost.kinds.base import Context, Instance, LayerDef, Shape
from mbcost.kinds.registry import KINDS, Kind, KindDoc, register
from mbcost.language.ast import LayerStmt, Loc


@dataclass
class MergeDef(LayerDef):
    op: str = "concat"  # or "add"
    branch_names: tuple[str, ...] = ()
    branch_locs: tuple[Loc, ...] = ()

    @property
    def type_name(self) -> str:  # type: ignore[override]
        return KINDS[self.op].type_name

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
            return MergeInstance(self, first, out, (1, 1), channels_joined(inputs), inputs=list(inputs))
        if self.branch_names:  # add { branch ... }: every branch gives one shape
            for shape, name, loc in zip(inputs[1:], self.branch_names[1:], self.branch_locs[1:]):
                if shape != first:
                    raise ctx.error(
                        f"{self.name}: branch {name} gives {shape} but branch {self.branch_names[0]} gives"
                        f" {first}; added branches need identical shapes", loc)
            return MergeInstance(self, first, first, (1, 1), " + ".join(self.branch_names), inputs=list(inputs))
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
        """:class:`~mbcost.adapters.torch_modules.Concat` (along the channels, in
        branch order) or :class:`~mbcost.adapters.torch_modules.Add` (a residual:
        the block's input plus its body's output)."""
        from mbcost.adapters.torch_modules import Add, Concat

        return Concat() if self.layer.op == "concat" else Add()


#: A concat of more branches than this is written with its first few and a count
#: (``3 + 3 + 3 + … (19,998 branches)``): the text is every row's column width.
MAX_LISTED_BRANCHES = 8


def channels_joined(inputs: list[Shape]) -> str:
    """The channels a concat joins, ``64 + 64``; summarised past MAX_LISTED_BRANCHES."""
    if len(inputs) <= MAX_LISTED_BRANCHES:
        return " + ".join(str(s.c) for s in inputs)
    return " + ".join(str(s.c) for s in inputs[:3]) + f" + … ({len(inputs):,} branches)"


def merge(op: str, name: str, loc: Loc, branch_names=(), branch_locs=()) -> MergeDef:
    """The join of a ``concat { }`` (op "concat") or a ``residual { }`` ("add")."""
    return MergeDef(name=name, stmt=LayerStmt(kind=op, written=op, loc=loc), op=op,
                    branch_names=tuple(branch_names), branch_locs=tuple(branch_locs))


def _written_as_construct(stmt, name, ctx):  # pragma: no cover - no keyword reaches it
    raise ctx.error(f"'{stmt.kind}' is written as a construct, not as a layer line", stmt.loc)


register(Kind("concat", _written_as_construct, rank=90, category="Concat", type_name="Concat",
              doc=KindDoc(mult_adds="never (`concat { branch ... }`)")))
register(Kind("add", _written_as_construct, rank=91, category="Add", type_name="Add",
              doc=KindDoc(mult_adds="never (`residual { ... }`, `add { branch ... }`: the addition is not counted)")))
