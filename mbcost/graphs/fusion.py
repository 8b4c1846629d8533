"""Operators an exporter wrote out in pieces, read back as the one operator they are.

``torch.onnx.export`` at mbcost's opset (17, :data:`mbcost.adapters.operators.OPSET`)
has no ``Gelu`` (ONNX added it at opset 20), so it writes ``nn.GELU()`` as its
formula, ``0.5 · x · (1 + erf(x / √2))`` (Div, Erf, Add, Mul, Mul), and
``nn.GELU(approximate="tanh")`` as ``0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))``
(Mul, Mul, Mul, Add, Mul, Tanh, Add, Mul, Mul). Counted operator by operator,
the first is an ``Erf`` no convention counts and the second a ``Tanh`` counted as
one activation, while the torch and spec routes count one GELU per element
under ``act``. :func:`fuse_gelu` replaces each such chain with one ``Gelu``
operator (``approximate`` ``none`` or ``tanh``, as ONNX's own ``Gelu``), so that
the three routes count, label and write it alike.

Only GELU itself is taken: every constant must be GELU's (``√2`` as a divisor or
``1/√2`` as a factor, ``1``, ``0.5``; ``0.044715`` and ``√(2/π)``, to float32's
precision), every intermediate value read by the chain alone and of the input's
size. A look-alike with other constants stays the operators it is, counted one
by one.

Pure Python: the graph is already read (:mod:`mbcost.adapters.onnx_model`).
"""

from __future__ import annotations

import math
from dataclasses import replace

from mbcost.graphs.opgraph import OpGraph, OpNode

#: relative tolerance of a constant: a float32 constant is within 6e-8 of the real number it stands for
_TOLERANCE = 1e-6


def _close(value: float | None, target: float) -> bool:
    return value is not None and abs(value - target) <= _TOLERANCE * abs(target)


def _scalar(node: OpNode, data: str, ops: tuple[str, ...], first: bool = False) -> float | None:
    """The one-element constant of a binary ``node`` (an op of ``ops``) whose other
    operand is the data value ``data`` (its first operand where ``first``: Div, Pow)."""
    if node.op not in ops or len(node.inputs) != 2 or node.inputs.count(data) != 1:
        return None
    k = 1 - node.inputs.index(data)
    if node.inputs[k] is not None or (first and k != 1):
        return None
    value = node.consts.get(k)
    return float(value[0]) if value is not None and len(value) == 1 else None


class _Matcher:
    def __init__(self, graph: OpGraph) -> None:
        self.g = graph
        self.prod = graph.producer()
        self.cons = graph.consumers()

    def made_by(self, value: str | None) -> tuple[int, OpNode] | tuple[None, None]:
        i = self.prod.get(value) if value is not None else None
        return (i, self.g.nodes[i]) if i is not None else (None, None)

    def only_user(self, value: str) -> tuple[int, OpNode] | tuple[None, None]:
        users = self.cons.get(value, [])
        return (users[0], self.g.nodes[users[0]]) if len(users) == 1 else (None, None)

    def plus_one(self, index: int) -> tuple[list[int], str] | None:
        """``1 + f``, where node ``index`` computes f: ([the Add], 1 + f)."""
        i, add = self.only_user(self.g.nodes[index].outputs[0])
        if add is None or not _close(_scalar(add, self.g.nodes[index].outputs[0], ("Add",)), 1.0):
            return None
        return [i], add.outputs[0]

    def halved_product(self, x: str, a: str) -> tuple[list[int], str] | None:
        """``0.5 · x · a`` in any of the orders an exporter writes it: (nodes, result)."""
        i, m = self.only_user(a)
        if m is None or m.op != "Mul":
            return None
        if sorted(m.inputs, key=str) == sorted([x, a], key=str):  # (x · a) · 0.5
            j, half = self.only_user(m.outputs[0])
            if half is not None and _close(_scalar(half, m.outputs[0], ("Mul",)), 0.5):
                return [i, j], half.outputs[0]
            return None
        if _close(_scalar(m, a, ("Mul",)), 0.5):  # x · (a · 0.5)
            j, out = self.only_user(m.outputs[0])
            if out is not None and out.op == "Mul" and \
                    sorted(out.inputs, key=str) == sorted([x, m.outputs[0]], key=str):
                return [i, j], out.outputs[0]
            return None
        other = next((v for v in m.inputs if v != a), None)  # (x · 0.5) · a
        j, half = self.made_by(other)
        if half is not None and sorted(m.inputs, key=str) == sorted([other, a], key=str) and \
                _close(_scalar(half, x, ("Mul",)), 0.5):
            return [j, i], m.outputs[0]
        return None

    def scaled_argument(self, index: int) -> tuple[int | None, OpNode | None, str | None]:
        """The node computing the argument of the unary node at ``index`` (x / √2 for
        an Erf, √(2/π) · (...) for a Tanh), and that node's data operand."""
        node = self.g.nodes[index]
        i, scaled = self.made_by(node.inputs[0] if node.inputs else None)
        data = next((v for v in scaled.inputs if v is not None), None) if scaled is not None else None
        return i, scaled, data

    def erf_form(self, index: int) -> tuple[str, list[int], str] | None:
        """``0.5 · x · (1 + erf(x / √2))`` around the Erf at ``index``."""
        d, scaled, x = self.scaled_argument(index)
        if scaled is None or not (_close(_scalar(scaled, x, ("Div",), first=True), math.sqrt(2))
                                  or _close(_scalar(scaled, x, ("Mul",)), 1 / math.sqrt(2))):
            return None
        return self.finish(x, [d, index])

    def tanh_form(self, index: int) -> tuple[str, list[int], str] | None:
        """``0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))`` around the Tanh at ``index``."""
        v, scaled, inner = self.scaled_argument(index)
        if scaled is None or not _close(_scalar(scaled, inner, ("Mul",)), math.sqrt(2 / math.pi)):
            return None
        u, add = self.made_by(inner)
        if add is None or add.op != "Add" or None in add.inputs or len(add.inputs) != 2:
            return None
        for x, term in (add.inputs, add.inputs[::-1]):
            k, times = self.made_by(term)
            if times is None:
                continue
            cube = next((w for w in times.inputs if w is not None), None)
            if not _close(_scalar(times, cube, ("Mul",)), 0.044715):
                continue
            cubed = self.cube(x, cube)
            if cubed is not None:
                return self.finish(x, cubed + [k, u, v, index])
        return None

    def cube(self, x: str, value: str) -> list[int] | None:
        """The nodes computing ``value = x³``: Pow(x, 3), or x · (x · x) in either order."""
        i, node = self.made_by(value)
        if node is None:
            return None
        if _close(_scalar(node, x, ("Pow",), first=True), 3.0):
            return [i]
        if node.op != "Mul" or len(node.inputs) != 2 or x not in node.inputs:
            return None
        square = node.inputs[1 - node.inputs.index(x)]
        j, sq = self.made_by(square)
        if sq is not None and sq.op == "Mul" and list(sq.inputs) == [x, x]:
            return [j, i]
        return None

    def finish(self, x: str, nodes: list[int]) -> tuple[str, list[int], str] | None:
        """The chain's ``1 + f`` and its halved product with ``x``, then the checks every
        match must pass: each value computed inside read only inside, all of x's size."""
        one = self.plus_one(nodes[-1])
        if one is None:
            return None
        product = self.halved_product(x, one[1])
        if product is None:
            return None
        nodes = nodes + one[0] + product[0]
        out = product[1]
        inside = set(nodes)
        size = self.g.dims.get(x)
        for i in nodes:
            for value in self.g.nodes[i].outputs:
                if self.g.dims.get(value) != size:
                    return None
                if value != out and (value in self.g.outputs or not set(self.cons.get(value, [])) <= inside):
                    return None
        return x, sorted(inside), out


def fuse_gelu(graph: OpGraph) -> OpGraph:
    """``graph`` with every GELU an exporter wrote as its formula (erf form or the
    tanh approximation) replaced by one ``Gelu`` operator (attribute
    ``approximate``: ``none`` or ``tanh``), at the place of the chain's last
    operator, in the module of its Erf or Tanh. The graph itself where there is none."""
    if not any(node.op in ("Erf", "Tanh") for node in graph.nodes):
        return graph
    matcher = _Matcher(graph)
    fused: dict[int, OpNode] = {}  # the chain's last node -> the Gelu that stands for the chain
    taken: set[int] = set()
    for index, node in enumerate(graph.nodes):
        form = {"Erf": matcher.erf_form, "Tanh": matcher.tanh_form}.get(node.op)
        match = form(index) if form else None
        if match is None or taken & set(match[1]):
            continue
        x, nodes, out = match
        taken.update(nodes)
        name = node.name.rsplit("/", 1)[0] + "/Gelu" if "/" in node.name else f"{node.name}_Gelu"
        fused[nodes[-1]] = OpNode(name=name, op="Gelu", module=node.module, inputs=[x], outputs=[out],
                                  attrs={"approximate": "none" if node.op == "Erf" else "tanh"},
                                  arg_dims=[graph.dims.get(x)])
    if not fused:
        return graph
    nodes = [fused.get(i, n) for i, n in enumerate(graph.nodes) if i not in taken or i in fused]
    return replace(graph, nodes=nodes)
