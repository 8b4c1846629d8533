"""Layers that keep the shape and cost nothing in the paper's convention: the
activations ``relu``, ``relu6`` and the mobile family's ``hswish`` (hard-swish,
MobileNetV3), ``hsigmoid`` (hard-sigmoid), ``silu`` (swish, EfficientNet),
``gelu`` (MobileNetV4-Hybrid-L; the exact erf form) and ``sigmoid`` (each can
also follow a conv or fc on its row, ``+relu``, or through an ``after conv dw:
bn relu`` header), ``softmax`` and ``dropout``. Each is a
small kind of its own, made by :func:`elementwise_kind`.

Cost on request: ``--count ...,act`` counts one operation per element for every
activation, whatever its formula (x·relu6(x+3)/6 is one hard-swish, as ReLU is
one max): the cost of an activation is a memory pass, not multiply-adds, and
one per element is what fvcore's and ptflops' activation counts use. Softmax
and dropout are never counted.

Torch: ``nn.ReLU``, ``nn.ReLU6``, ``nn.Hardswish``, ``nn.Hardsigmoid``,
``nn.SiLU``, ``nn.GELU``, ``nn.Sigmoid``, ``nn.Softmax`` over the channels, ``nn.Dropout``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from mbcost.kinds.base import Context, Instance, LayerDef, Part, Shape, check_syntax, dot
from mbcost.kinds.registry import KINDS, Kind, KindDoc, register
from mbcost.language.ast import LayerStmt


def counted_part(category: str, group: str) -> Callable[[Shape, frozenset], Part]:
    """The cost of an operation paid once per element, counted only when ``group``
    is among the counted operations."""

    def part(shape: Shape, count: frozenset) -> Part:
        if group not in count:
            return Part(category)
        return Part(category, shape.numel, formula=dot(shape.h, shape.w, shape.c), positions=shape.h * shape.w)

    return part


@dataclass
class ElementwiseDef(LayerDef):
    """A shape-keeping layer on its own row."""

    @property
    def kind(self) -> Kind:
        return KINDS[self.stmt.kind]

    @property
    def type_name(self) -> str:  # type: ignore[override]
        return self.kind.type_name

    def resolve(self, x: Shape, ctx: Context) -> Instance:
        return ElementwiseInstance(self, x, x, (1, 1), "")


@dataclass
class SoftmaxDef(ElementwiseDef):
    def resolve(self, x: Shape, ctx: Context) -> Instance:
        return ElementwiseInstance(self, x, x, (1, 1), "Classifier")  # the filter column, as Table 1 prints it


@dataclass
class ElementwiseInstance(Instance):
    def main_parts(self, count: frozenset) -> list[Part]:
        part = self.layer.kind.part
        return [part(self.input, count)] if part is not None else []

    def torch_module(self):
        return self.layer.kind.torch_module(self.input.c, self.layer.stmt)


def define_shape_keeping(stmt: LayerStmt, name: str, ctx: Context, *, options=(), flags=(),
                         make=ElementwiseDef, example: str = "") -> LayerDef:
    """Check a line of a layer that takes no shape and has stride 1; ``make``
    (called after the checks, with ``name``, ``stmt`` and ``post``) builds it."""
    check_syntax(stmt, ctx, dims=(0,), flags=flags, options=options, what=f"'{stmt.kind}'",
                 example=example or stmt.kind)
    if stmt.stride not in (None, (1, 1)):
        raise ctx.error(f"'{stmt.kind}' has stride 1", stmt.stride_loc)
    if stmt.post:
        raise ctx.error(f"nothing can follow '{stmt.kind}' on its row: write it as its own layer",
                        stmt.post_loc or stmt.loc)
    return make(name=name, stmt=stmt, post=())


def _define_plain(stmt: LayerStmt, name: str, ctx: Context) -> LayerDef:
    return define_shape_keeping(stmt, name, ctx)


def _define_softmax(stmt: LayerStmt, name: str, ctx: Context) -> LayerDef:
    return define_shape_keeping(stmt, name, ctx, flags=("classifier",), make=SoftmaxDef)


def _define_dropout(stmt: LayerStmt, name: str, ctx: Context) -> LayerDef:
    layer = define_shape_keeping(stmt, name, ctx, options=("p",))
    if "p" in stmt.options:
        raw, loc = stmt.options["p"]
        try:
            ok = 0 <= float(raw) < 1
        except ValueError:
            ok = False
        if not ok:
            raise ctx.error(f"dropout p must be a number in [0, 1), got '{raw}'", loc)
    return layer


def _torch(factory):
    """A torch module made by ``factory(nn, channels, stmt)`` (a function, or the name
    of one of :data:`_FACTORIES`), torch imported only when called."""

    def make(channels: int, stmt: LayerStmt | None = None):
        from torch import nn

        return (_FACTORIES[factory] if isinstance(factory, str) else factory)(nn, channels, stmt)

    return make


_FACTORIES = {
    "relu": lambda nn, c, stmt: nn.ReLU(),
    "relu6": lambda nn, c, stmt: nn.ReLU6(),
    "hswish": lambda nn, c, stmt: nn.Hardswish(),
    "hsigmoid": lambda nn, c, stmt: nn.Hardsigmoid(),
    "silu": lambda nn, c, stmt: nn.SiLU(),
    "sigmoid": lambda nn, c, stmt: nn.Sigmoid(),
    "gelu": lambda nn, c, stmt: nn.GELU(),
    "clip01": lambda nn, c, stmt: nn.Hardtanh(0.0, 1.0),
    "softmax": lambda nn, c, stmt: nn.Softmax(dim=1),
    "dropout": lambda nn, c, stmt: nn.Dropout(float(stmt.options["p"][0]) if stmt and "p" in stmt.options else 0.5),
}


def elementwise_kind(name: str, label: str, *, define=_define_plain, post: bool = False, counted: str | None = None,
                     torch_class: str, keywords: tuple[str, ...] | None = None, doc: KindDoc, rank: int,
                     torch_factory: Callable | None = None) -> Kind:
    """Register a small shape-keeping kind: ``label`` is its type and category;
    ``counted``: the counting group its per-element cost belongs to (None: never);
    ``torch_factory(nn, channels, stmt)``: its torch module (default: this module's
    own, by ``name``), so that a kind in another module is one call, e.g.
    ``elementwise_kind("gelu", "GELU", post=True, counted="act", torch_class="GELU",
    torch_factory=lambda nn, c, stmt: nn.GELU(), doc=..., rank=76)``."""
    return register(Kind(
        name, define, keywords=keywords or (name,), category=label, type_name=label, post=post,
        part=counted_part(label, counted) if counted else None, torch_module=_torch(torch_factory or name),
        torch_classes=(torch_class,), torch_exact=True, describe_torch=lambda m: (label, label, "", (1, 1)),
        role="act", doc=doc, rank=rank,
    ))


_ACT = KindDoc(mult_adds="H·W·C, only with `--count ...,act`")
elementwise_kind("relu", "ReLU", post=True, counted="act", torch_class="ReLU", doc=_ACT, rank=70)
elementwise_kind("relu6", "ReLU6", post=True, counted="act", torch_class="ReLU6", doc=_ACT, rank=71)
elementwise_kind("hswish", "Hard-swish", keywords=("hswish", "hardswish"), post=True, counted="act",
                 torch_class="Hardswish", doc=_ACT, rank=72)
elementwise_kind("hsigmoid", "Hard-sigmoid", keywords=("hsigmoid", "hardsigmoid"), post=True, counted="act",
                 torch_class="Hardsigmoid", doc=_ACT, rank=73)
elementwise_kind("silu", "SiLU", keywords=("silu", "swish"), post=True, counted="act", torch_class="SiLU", doc=_ACT,
                 rank=74)
elementwise_kind("sigmoid", "Sigmoid", post=True, counted="act", torch_class="Sigmoid", doc=_ACT, rank=75)
elementwise_kind("gelu", "GELU", post=True, counted="act", torch_class="GELU", doc=_ACT, rank=76)
# GhostNet's squeeze-and-excitation gate, clamp(x, 0, 1) (pytorchcv's GhostHSigmoid)
elementwise_kind("clip01", "Clip [0, 1]", counted="act", torch_class="GhostHSigmoid", doc=_ACT, rank=77)
elementwise_kind("softmax", "Softmax", define=_define_softmax, torch_class="Softmax",
                 doc=KindDoc(options="`classifier` (as Table 1 prints it)"), rank=80)
elementwise_kind("dropout", "Dropout", define=_define_dropout, torch_class="Dropout", doc=KindDoc(options="`p=`"),
                 rank=81)
