"""Attention over a feature map: ``mqa`` (MobileNetV4's Mobile MQA, multi-query
attention) and ``mhsa`` (multi-head self-attention). One row each, on an
H x W x M input, output H x W x N::

    mqa 160x160 heads=4 key=64 kv_stride=2      # Mobile MQA, K/V downsampled 2x
    mhsa 256x256 heads=8 key=32                 # multi-head self-attention

What the row holds (MobileNetV4's Mobile MQA, Qin et al. 2024, its section of that name, as
tensorflow/models and timm's ``MultiQueryAttention2d`` build it):

1. queries: a 1x1 conv M -> h·dk (h heads of dk channels each), at every one
   of the L = H·W positions;
2. with ``kv_stride=S`` (> 1), the keys' and the values' input is first
   downsampled, each by its own depthwise k x k conv of stride S (``kernel=``,
   3 by default, TensorFlow's "same" padding, no bias) and a batch norm: the
   keys and values then have P = ceil(H/S)·ceil(W/S) positions (else P = L);
3. keys and values: 1x1 convs M -> g·dk and M -> g·dv, where g is the number
   of key/value heads: 1 for ``mqa`` (every query head shares one key and one
   value), h for ``mhsa``;
4. the products: Q·Kᵀ per head (L x dk times dk x P) and the attention
   weights times V (L x P times P x dv); scaling and softmax in between;
5. the output projection: a 1x1 conv h·dv -> N.

Options: ``heads=h`` (required), ``key=dk`` (required), ``value=dv`` (default
dk), ``kv_stride=S`` (default 1), ``kernel=k`` (the downsampling conv's,
default 3). No biases anywhere (MobileNetV4's are off). The query stride of the
reference implementation is not supported (MobileNetV4's models do not use it).
The normalization before the block and its LayerScale are rows of their own
(``bn``, ``layerscale``).

Cost (Mult-Adds), with Hk·Wk = P::

    projections  L·M·h·dk + P·M·g·dk + P·M·g·dv + L·h·dv·N      (conv)
    downsampling 2 · k·k·M·P  (with kv_stride > 1)              (conv)
    products     h·L·P·dk (Q·Kᵀ) + h·L·P·dv (A·V)                (fc: matrix products)
    norms        2 · P·M, only with ``--count ...,bn``
    weights      M·h·dk + M·g·dk + M·g·dv + h·dv·N (+ 2·k·k·M); norm 4·M

On a table (``table --formula``) the row's formula is written in named factors,
``2·L·M·C + 2·P·M·(3·3+dk) + 2·L·P·C`` with C = h·dk (:meth:`AttentionInstance.named_formula`),
their values in a note under the table: in numbers it is four products of three
or four numbers, too long beside a layer's name on an 80-column terminal. CSV and
JSON keep the formula in numbers.

The two products are matrix multiplications and are Mult-Adds like a fully
connected layer's: they are counted with the ``fc`` group (which is where both
torch counters put ``matmul``); scaling, softmax and the reshapes are never
counted.

Width under alpha: N (and M, through the input) scale like any layer's output;
the number of heads and the key and value widths are kept (timm's
``_gen_mobilenet_v4`` rounds only a block's output channels), so the products
scale with the resolution only.

Torch: :func:`torch_attention`, a module with ``query``, ``key``, ``value`` and
``output`` (``nn.Conv2d`` 1x1) and, with ``kv_stride``, ``key_down`` and
``value_down`` (padding, depthwise conv, batch norm); the products are
``torch.matmul`` (aten::matmul), which fvcore and FlopCounterMode both count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mbcost.kinds.base import (
    Context,
    Instance,
    LayerDef,
    NamedFormula,
    Part,
    Shape,
    check_syntax,
    dot,
    opt_int,
    spatial,
)
from mbcost.kinds.registry import KINDS, Kind, KindDoc, register
from mbcost.language.ast import LayerStmt

CATEGORY = "Attention"
#: The counting group of the attention products (Q·Kᵀ and A·V): matrix products,
#: counted as fully connected layers are (the torch counters' ``matmul``).
PRODUCTS = "fc"


def grouped_sum(terms: list[tuple[int, tuple[int, ...]]]) -> str:
    """A sum of products as a formula, each product of the same factors (in any
    order, so of the same value) written once with its count in front: the keys'
    and the values' projections ``64·160·64 + 64·160·64`` as ``2·64·160·64``, the
    queries' ``256·160·256`` and the output's ``256·256·160`` as ``2·256·160·256``
    (the first one's order). ``terms``: (count, factors) pairs."""
    counts: dict[tuple[int, ...], int] = {}
    first: dict[tuple[int, ...], tuple[int, ...]] = {}
    for count, factors in terms:
        key = tuple(sorted(factors))
        counts[key] = counts.get(key, 0) + count
        first.setdefault(key, factors)
    return " + ".join(f"{c}·{dot(*first[key])}" if c > 1 else dot(*first[key]) for key, c in counts.items())


@dataclass
class AttentionDef(LayerDef):
    in_declared: int | None = 0
    out_declared: int = 0
    heads: int = 1
    key_dim: int = 1
    value_dim: int = 1
    shared_kv: bool = True  # mqa: one key/value head for all query heads
    kv_stride: int = 1
    kernel: int = 3

    weighted = True

    @property
    def type_name(self) -> str:  # type: ignore[override]
        return "MQA" if self.shared_kv else "MHSA"

    def resolve(self, x: Shape, ctx: Context) -> Instance:
        self.check_in_channels(self.in_declared, x, ctx)
        n = self.out_channels(self.out_declared, ctx)
        s, k = self.kv_stride, self.kernel
        if s > 1:
            ph, pw, pads = spatial(self, x, (k, k), (s, s), "same", ctx)
        else:
            ph, pw, pads = x.h, x.w, (0, 0, 0, 0)
        kv = "" if self.shared_kv else f"×{self.heads}"
        text = (f"{self.type_name} {x.c} → {n}, {self.heads}×{self.key_dim} q, k{kv}/v{kv}"
                + (f" at {ph}×{pw}" if s > 1 else ""))
        return AttentionInstance(self, x, Shape(x.h, x.w, n), (1, 1), text, kv_size=(ph, pw), pads=pads)


@dataclass
class AttentionInstance(Instance):
    kv_size: tuple[int, int] = (0, 0)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def kv_heads(self) -> int:
        return 1 if self.layer.shared_kv else self.layer.heads

    def main_parts(self, count: frozenset) -> list[Part]:
        layer = self.layer
        m, n = self.input.c, self.output.c
        h, dk, dv, g, k = layer.heads, layer.key_dim, layer.value_dim, self.kv_heads, layer.kernel
        positions = self.input.h * self.input.w
        p = self.kv_size[0] * self.kv_size[1]
        conv, bn = "conv" in count, "bn" in count
        down = layer.kv_stride > 1
        # (count, factors) of each counted product, for the row's formula
        terms = [(1, (positions, m, h * dk)), (1, (p, m, g * dk)), (1, (p, m, g * dv)), (1, (positions, h * dv, n))]
        terms = (terms if conv else []) + ([(2, (k, k, m, p))] if conv and down else []) + (
            [(2, (p, m))] if bn and down else []) + (
            [(1, (h, positions, p, dk)), (1, (h, positions, p, dv))] if PRODUCTS in count else [])
        parts = [
            Part(CATEGORY, positions * m * h * dk if conv else 0, weights=m * h * dk,
                 formula=grouped_sum(terms), positions=positions),  # queries (the row's whole formula)
            Part(CATEGORY, p * m * g * (dk + dv) if conv else 0, weights=m * g * (dk + dv), positions=p),  # keys, values
            Part(CATEGORY, positions * h * dv * n if conv else 0, weights=h * dv * n, positions=positions),  # output
        ]
        if down:
            parts.append(Part(CATEGORY, 2 * k * k * m * p if conv else 0, weights=2 * k * k * m, positions=p))
            parts.append(Part("BatchNorm", 2 * p * m if bn else 0, norm=4 * m, positions=p))
        if PRODUCTS in count:
            parts.append(Part(CATEGORY, h * positions * p * (dk + dv), positions=positions))
        return parts

    def named_formula(self, count: frozenset) -> NamedFormula | None:
        """The row's Mult-Adds in named factors (its formula in numbers, four products
        of three or four numbers, is too long for a table cell beside a name on an
        80-column terminal): the queries and the output projection at the L query
        positions, the keys' and the values' branches at the P key/value positions
        (each its downsampling conv, its batch norm and its projection: P·M·(3·3+1+dk),
        the sum without spaces, so that a table folding the formula keeps it whole),
        the two matrix products. A pair of equal products is written once, with
        a 2 in front. The post ops' formulas follow in numbers."""
        layer = self.layer
        m, n = self.input.c, self.output.c
        h, dk, dv, k = layer.heads, layer.key_dim, layer.value_dim, layer.kernel
        (ph, pw), mqa = self.kv_size, layer.shared_kv
        conv, bn, down = "conv" in count, "bn" in count, layer.kv_stride > 1
        v = "C" if dv == dk else "V"  # the values' width over all heads
        out = "M" if n == m else "N"
        widths = ("dk", "dk" if dv == dk else "dv") if mqa else ("C", v)  # a key's and a value's branch
        terms = []
        if conv:
            terms.append("2·L·M·C" if (v, out) == ("C", "M") else f"L·M·C + L·{v}·{out}")
        branch = [w for w, on in ((f"{k}·{k}", conv and down), ("1", bn and down)) if on]
        inner = [branch + [w] if conv else branch for w in widths]
        inner = [i for i in inner if i]
        sums = [i[0] if len(i) == 1 else f"({'+'.join(i)})" for i in inner]  # one word: a fold never splits it
        if len(sums) == 2 and sums[0] == sums[1]:
            terms.append(f"2·P·M·{sums[0]}")
        else:
            terms += [f"P·M·{x}" for x in sums]
        if PRODUCTS in count:
            terms.append("2·L·P·C" if v == "C" else f"L·P·C + L·P·{v}")
        terms += [part.formula for part in (KINDS[op].part(self.output, count) for op in layer.post) if part.formula]
        if not terms:
            return None
        text = " + ".join(terms)
        symbols = (("L", self.input.h * self.input.w, dot(self.input.h, self.input.w), "query positions (H·W)"),
                   ("P", ph * pw, dot(ph, pw), "key/value positions"),
                   ("M", m, "", "channels in"), ("N", n, "", "channels out"),
                   ("C", h * dk, dot(h, dk), "query channels (h heads of dk)"),
                   ("V", h * dv, dot(h, dv), "value channels (h heads of dv)"),
                   ("dk", dk, "", "a key head's channels"), ("dv", dv, "", "a value head's channels"))
        used = set(re.split(r"[\s()·+]+", text))
        remarks = ((f"{k}·{k}: the depthwise convs that downsample the keys and the values",) if conv and down
                   else ()) + (("1: their batch norms",) if bn and down else ())
        return NamedFormula(text, tuple(s for s in symbols if s[0] in used), remarks)

    def torch_module(self):
        from mbcost.adapters.torch_modules import unit

        layer = self.layer
        return unit(self, "attn", torch_attention(self.input.c, self.output.c, layer.heads, layer.key_dim,
                                                  layer.value_dim, self.kv_heads, layer.kv_stride, layer.kernel,
                                                  self.pads))


def torch_attention(m: int, n: int, heads: int, key_dim: int, value_dim: int, kv_heads: int, kv_stride: int,
                    kernel: int, pads: tuple[int, int, int, int]):
    """The row as a torch module (see the module's docstring)."""
    import torch
    from torch import nn

    def down():
        top, bottom, left, right = pads
        return nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)),
                             nn.Conv2d(m, m, kernel, stride=kv_stride, groups=m, bias=False), nn.BatchNorm2d(m))

    class Attention2d(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.query = nn.Conv2d(m, heads * key_dim, 1, bias=False)
            if kv_stride > 1:
                self.key_down = down()
                self.value_down = down()
            self.key = nn.Conv2d(m, kv_heads * key_dim, 1, bias=False)
            self.value = nn.Conv2d(m, kv_heads * value_dim, 1, bias=False)
            self.output = nn.Conv2d(heads * value_dim, n, 1, bias=False)

        def forward(self, x):
            b, _, hh, ww = x.shape
            kx = self.key_down(x) if kv_stride > 1 else x
            vx = self.value_down(x) if kv_stride > 1 else x
            q = self.query(x).reshape(b, heads, key_dim, hh * ww).transpose(-1, -2)  # b, h, L, dk
            k = self.key(kx).reshape(b, kv_heads, key_dim, -1)  # b, g, dk, P
            v = self.value(vx).reshape(b, kv_heads, value_dim, -1).transpose(-1, -2)  # b, g, P, dv
            weights = torch.softmax(torch.matmul(q, k) * key_dim ** -0.5, dim=-1)  # b, h, L, P
            o = torch.matmul(weights, v)  # b, h, L, dv
            return self.output(o.transpose(-1, -2).reshape(b, heads * value_dim, hh, ww))

    return Attention2d()


def _define(stmt: LayerStmt, name: str, ctx: Context, shared_kv: bool) -> AttentionDef:
    what = "'mqa'" if shared_kv else "'mhsa'"
    example = "160x160 heads=4 key=64 kv_stride=2" if shared_kv else "256x256 heads=8 key=32"
    check_syntax(stmt, ctx, dims=(2,), options=("heads", "key", "value", "kv_stride", "kernel"), what=what,
                 example=example, infer_at={2: 0})
    if stmt.stride not in (None, (1, 1)):
        raise ctx.error(f"{what} has stride 1 (use kv_stride= to downsample keys and values)", stmt.stride_loc)
    for key in ("heads", "key"):
        if key not in stmt.options:
            raise ctx.error(f"{what} needs {key}=, e.g. '{stmt.kind} {example}'", stmt.loc)
    key_dim = opt_int(stmt, "key", ctx, 1)
    m, n = stmt.dims
    return AttentionDef(
        name=name, stmt=stmt, post=stmt.post or (), in_declared=m, out_declared=n,
        heads=opt_int(stmt, "heads", ctx, 1), key_dim=key_dim, value_dim=opt_int(stmt, "value", ctx, key_dim),
        shared_kv=shared_kv, kv_stride=opt_int(stmt, "kv_stride", ctx, 1), kernel=opt_int(stmt, "kernel", ctx, 3),
    )


def define_mqa(stmt: LayerStmt, name: str, ctx: Context) -> AttentionDef:
    return _define(stmt, name, ctx, shared_kv=True)


def define_mhsa(stmt: LayerStmt, name: str, ctx: Context) -> AttentionDef:
    return _define(stmt, name, ctx, shared_kv=False)


_OPTIONS = "`heads=h`, `key=dk`, `value=dv`, `kv_stride=S`, `kernel=k`"
_PRODUCTS = "h·L·P·(dk + dv) (Q·Kᵀ and A·V, with fc)"
register(Kind(
    "mqa", define_mqa, rank=46, keywords=("mqa",), category=CATEGORY, type_name="MQA",
    doc=KindDoc("`M x N`", _OPTIONS, "H x W x N",
                f"L·M·h·dk + P·M·(dk + dv) + L·h·dv·N (+ 2·k·k·M·P with `kv_stride`) + {_PRODUCTS};"
                " L = H·W, P = key/value positions", "M·h·dk + M·(dk + dv) + h·dv·N (+ 2·k·k·M)", "",
                "4·M with `kv_stride`"),
))
register(Kind(
    "mhsa", define_mhsa, rank=46, keywords=("mhsa",), category=CATEGORY, type_name="MHSA",
    doc=KindDoc("`M x N`", _OPTIONS, "H x W x N",
                f"L·M·h·dk + P·M·h·(dk + dv) + L·h·dv·N (+ 2·k·k·M·P with `kv_stride`) + {_PRODUCTS}",
                "M·h·dk + M·h·(dk + dv) + h·dv·N (+ 2·k·k·M)", "", "4·M with `kv_stride`"),
))
