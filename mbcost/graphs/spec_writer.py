"""An :class:`~mbcost.graphs.opgraph.OpGraph` written in the spec language.

``mbcost export --torch pkg.mod:factory --output my.spec`` and ``mbcost export
model.onnx --output my.spec`` come here (the torch model through its ONNX
export). Pure Python: the graph is already read.

How the graph becomes statements:

* a chain of operators is one layer line each, labelled with the module that ran
  it (``layer1_0_conv1: conv 3x3x64x64 pad=1 bias=no  # layer1.0.conv1``); a
  ``Pad`` before a convolution or pooling is folded into its ``pad=``;
* where a value is read by several operators, the branches run to the nearest
  operator every path passes through (its immediate post-dominator), and that
  operator says what the branches are: ``Add`` -> ``residual { }`` when one branch
  is the value itself, else ``add { branch ... }``; ``Concat`` (channels) ->
  ``concat { branch ... }``; ``Mul`` with a gate computed from the value (global
  pool, two 1x1 layers, sigmoid) -> ``se``, and ``x·sigmoid(x)`` -> ``silu``;
* everything else the language cannot express (a product of two computed
  tensors, attention's matrix products, a reshape that is not a flatten) is an
  error naming the module and the operator: a spec is written whole or not at all.

The classifier: the last fully connected layer is the spec's classifier (the
compiler's own rule), so ``--alpha`` scales every width but the class count.
:func:`write_spec` returns the text and, per label, the module it came from;
:mod:`mbcost.graphs.export` compiles the text and checks it against the graph before
anything is written.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from mbcost.errors import MbcostError
from mbcost.kinds.base import scale_channels, stride_text
from mbcost.graphs.opgraph import OpGraph, OpNode

ACTIVATIONS = {"Relu": "relu", "HardSwish": "hswish", "HardSigmoid": "hsigmoid", "Sigmoid": "sigmoid"}
MERGES = ("Add", "Concat", "Mul")
#: operators that only reshape: nothing in a spec, and all an ``se`` gate may hold besides its own operators
RESHAPES = ("Reshape", "Flatten", "Squeeze", "Unsqueeze")

#: ONNX operators that each make a line, one line holding at most one of them: every one is written as a layer
#: line of its own (BatchNormalization, MaxPool and AveragePool with the Pad folded into them, GlobalMaxPool,
#: Softmax, Slice, Relu, HardSwish), except a Relu or HardSwish that is the one activation between an ``se``
#: line's two weighted layers (its gate after them is a sigmoid, a hard sigmoid or a clip). None of them is
#: dropped, nor part of a branch group only. So a spec written from a graph has at least as many rows as the
#: graph has data operators of these kinds (:func:`check_rows`).
ONE_PER_LINE = frozenset({"BatchNormalization", "MaxPool", "AveragePool", "GlobalMaxPool", "Softmax", "Slice",
                          "Relu", "HardSwish"})


def fewest_rows(ops) -> int:
    """The fewest rows a spec written from a graph with the data operators
    ``ops`` (ONNX operator types) can have: one per operator of
    :data:`ONE_PER_LINE`."""
    return sum(op in ONE_PER_LINE for op in ops)


def check_rows(ops, name: str) -> None:
    """Refuse, before any statement is written, a graph whose spec would have
    more rows than a spec may make (MAX_LAYERS): the spec's own compilation
    would refuse it, but only after the writing, on a large graph many seconds."""
    from mbcost.core.network import MAX_LAYERS

    ops = list(ops)
    rows = fewest_rows(ops)
    if rows > MAX_LAYERS:
        kinds = sorted({op for op in ops if op in ONE_PER_LINE})
        raise MbcostError(f"cannot write {name} as a spec: its {rows:,} operators of kinds that are a layer line "
                          f"each ({', '.join(kinds)}) make at least {rows:,} layers; a spec may make at most "
                          f"{MAX_LAYERS:,}")


@dataclass
class Line:
    """One layer line: its label, what follows the label, the module it came from."""

    label: str
    body: str
    module: str


@dataclass
class Group:
    """``residual { }`` (one unnamed branch), ``add { }`` or ``concat { }``."""

    label: str
    kind: str
    module: str
    branches: list  # (branch name or None, items)


@dataclass
class Call:
    """A call of a block found by :func:`find_blocks`: the items it stands for, and
    the block's labels for them (original label -> label in the block)."""

    label: str
    block: str
    args: list[int]
    items: list
    rename: dict


@dataclass
class Block:
    name: str
    params: list[str]
    lines: list[str]  # the body, as written


@dataclass
class Written:
    """A spec's text and, for each layer label, the module it came from."""

    text: str
    modules: dict[str, str] = field(default_factory=dict)
    #: node index -> the label of the line that holds it (nodes that are nothing in a spec have none)
    owner: dict[int, str] = field(default_factory=dict)


class _Writer:
    def __init__(self, graph: OpGraph) -> None:
        self.g = graph
        self.nodes = graph.nodes
        self.cons = graph.consumers()
        self.prod = graph.producer()
        self.done: set[int] = set()
        self.labels: dict[str, str] = {}
        self.owner: dict[int, str] = {}
        self.index = {id(n): i for i, n in enumerate(graph.nodes)}
        self.ipdom = self._post_dominators()
        self.out = ""  # the value the last line computes
        self.after: dict[int, str] = {}  # a merge's node -> the value its line ends at, when past the merge

    # -- structure -------------------------------------------------------------
    def _post_dominators(self) -> list[int]:
        """Immediate post-dominator of every node (len(nodes): the exit)."""
        n = len(self.nodes)
        ipdom = [n] * (n + 1)
        outputs = set(self.g.outputs)
        for i in range(n - 1, -1, -1):
            succ = sorted({c for v in self.nodes[i].outputs for c in self.cons.get(v, [])})
            if not succ or any(v in outputs for v in self.nodes[i].outputs):
                succ = succ + [n]
            ipdom[i] = self._meet(ipdom, succ)
        return ipdom

    @staticmethod
    def _meet(ipdom, nodes: list[int]) -> int:
        """The nearest node that every path from each of ``nodes`` passes through
        (Cooper, Harvey and Kennedy's intersection: a post-dominator comes later)."""
        d = nodes[0]
        for b in nodes[1:]:
            while d != b:
                while d < b:
                    d = ipdom[d]
                while b < d:
                    b = ipdom[b]
        return d

    def fail(self, node: OpNode, why: str) -> MbcostError:
        where = f"module '{node.module}'" if node.module and node.module != node.name else f"node '{node.name}'"
        return MbcostError(f"cannot write {self.g.name} as a spec: {where}, ONNX {node.op}: {why}")

    def region(self, value: str, end: str) -> list:
        """Statements (:class:`Line`, :class:`Group`) computing ``end`` from ``value``."""
        lines: list = []
        reach = self._reaching(end, self.prod.get(value, -1) + 1)  # once per region: linear, not per step
        while value != end:
            users = [u for u in self.cons.get(value, []) if u in reach]
            if not users:
                raise MbcostError(f"cannot write {self.g.name} as a spec: value '{value}' does not lead to '{end}'")
            if len(users) == 1 and self.nodes[users[0]].op == "Split" and len(self.nodes[users[0]].outputs) > 1:
                group = self.split(users[0])
                lines.append(group)
                value = self.out
                continue
            if len(users) == 1 and (self.nodes[users[0]].op not in MERGES or self._const(self.nodes[users[0]]) is not None):
                node = self.take(users[0])
                item = self.padded(node) if node.op == "Pad" else self.line(node)
                value = self.out
                if item is not None:
                    lines.append(item)
                continue
            join = self._meet(self.ipdom, users)
            if join >= len(self.nodes):
                raise self.fail(self.nodes[users[0]], "its branches never meet again")
            lines.append(self.merge(value, self.nodes[join], join))
            value = self.after.get(join, self.nodes[join].outputs[0])
        return lines

    def split(self, index: int) -> Group:
        """A channel split whose parts meet again in a concatenation (ShuffleNetV2's
        ``x1, x2 = x.chunk(2, dim=1)`` ... ``cat((x1, f(x2)), 1)``): one branch per
        part, each starting with ``split parts=P take=T``."""
        node = self.take(index)
        parts = node.outputs
        dims = [self.g.dims[o] for o in parts]
        axis = int(node.attrs.get("axis", 0))
        if axis % 4 != 1 or len(self.dims_in(node)) != 4 or len(set(dims)) != 1:
            raise self.fail(node, "a split that is not into equal parts of the channels")
        join = self.ipdom[index]
        if join >= len(self.nodes) or self.nodes[join].op != "Concat":
            raise self.fail(node, "a channel split whose parts do not meet again in a concatenation")
        concat = self.take(join)
        if int(concat.attrs.get("axis", 1)) % 4 != 1:
            raise self.fail(concat, "a concatenation along another axis than the channels")
        label = self.label(concat)
        base = _mangle(node.module or "split")
        branches = []
        for k, v in enumerate(concat.inputs):
            if v is None:
                raise self.fail(concat, "one of its operands is a constant")
            take = next((j for j, o in enumerate(parts) if o == v or any(self._reaches(u, v) for u in
                                                                         self.cons.get(o, []))), None)
            if take is None:
                raise self.fail(concat, "an input that comes from no part of the split")
            split_label = f"{base}_take{take + 1}"
            n = 1
            while split_label in self.labels:
                n += 1
                split_label = f"{base}_take{take + 1}_{n}"
            self.labels[split_label] = node.module
            self.owner.setdefault(index, split_label)
            first = Line(split_label, f"split parts={len(parts)} take={take + 1}", node.module)
            branches.append((f"{label}_b{k + 1}", [first] + self.region(parts[take], v)))
        self.out = concat.outputs[0]
        return Group(label, "concat", concat.module, branches)

    def _reaching(self, end: str, low: int) -> set[int]:
        """The operators numbered ``low`` or later from which ``end`` can be
        reached (a walk back from its producer; indices are in execution order,
        so no path from them passes below ``low``)."""
        target = self.prod.get(end)
        if target is None:
            return set()
        seen, stack = {target}, [target]
        while stack:
            for v in self.nodes[stack.pop()].inputs:
                p = self.prod.get(v) if v is not None else None
                if p is not None and p >= low and p not in seen:
                    seen.add(p)
                    stack.append(p)
        return seen

    def _reaches(self, start: int, end: str) -> bool:
        target = self.prod.get(end)
        if target is None:
            return False
        stack, seen = [start], set()
        while stack:
            i = stack.pop()
            if i == target:
                return True
            if i in seen or i > target:
                continue
            seen.add(i)
            for v in self.nodes[i].outputs:
                stack.extend(self.cons.get(v, []))
        return False

    def take(self, i: int) -> OpNode:
        if i in self.done:
            raise self.fail(self.nodes[i], "it is shared by two branches (the language's branches do not share "
                                           "layers)")
        self.done.add(i)
        return self.nodes[i]

    def merge(self, value: str, node: OpNode, index: int):
        self.take(index)
        ins = [v for v in node.inputs if v is not None]
        if len(ins) != len(node.inputs) or len(set(ins)) != len(ins):
            raise self.fail(node, "one of its operands is a constant or the same tensor twice")
        label = self.label(node)
        if node.op == "Mul":
            gate = next((v for v in ins if v != value), None)
            if value not in ins or gate is None:
                raise self.fail(node, "a product of two computed tensors (only an SE gate or SiLU is expressible)")
            chain = self.chain(value, gate)
            self.own(label, chain)
            if self._hard_gate(chain, value):  # x · relu6(x + 3) (/ 6): h-swish
                scaled = len(chain) == 3 or self._divide_by_six(node.outputs[0], index, label)
                if not scaled:
                    raise self.fail(node, "x · relu6(x + 3) not divided by 6 (h-swish is x · relu6(x + 3) / 6)")
                return Line(label, "hswish", node.module)
            return Line(label, self.gate_line(node, chain), node.module)
        if node.op == "Concat":
            if int(node.attrs.get("axis", 1)) not in (1, -3) or len(self.g.dims[value]) != 4:
                raise self.fail(node, "a concatenation along another axis than the channels")
        elif node.op == "Add":
            dims = [self.g.dims[v] for v in ins]
            if len(ins) != 2 or dims[0] != dims[1]:
                raise self.fail(node, "an addition of tensors of different sizes (broadcast)")
            if value in ins:
                other = ins[1 - ins.index(value)]
                return Group(label, "residual", node.module, [(None, self.region(value, other))])
        branches = []
        for k, v in enumerate(ins):
            if v == value:
                if node.op != "Concat":
                    raise self.fail(node, "a branch that is the input itself (write it as a layer the language has)")
                # the block's own input among the concatenated (DenseNet, GhostNet): the whole input, one part of one
                whole = f"{label}_input"
                while whole in self.labels:
                    whole += "_"
                self.labels[whole] = node.module
                branches.append((f"{label}_b{k + 1}", [Line(whole, "split parts=1 take=1", node.module)]))
                continue
            branches.append((f"{label}_b{k + 1}", self.region(value, v)))
        return Group(label, "concat" if node.op == "Concat" else "add", node.module, branches)

    def chain(self, value: str, end: str) -> list[OpNode]:
        """The operators from ``value`` to ``end`` when they are one chain."""
        out = []
        while value != end:
            users = [u for u in self.cons.get(value, []) if self._reaches(u, end)]
            ops = sorted(self.nodes[u].op for u in users)
            if ops == ["Mul", "Sigmoid"]:  # x·sigmoid(x) inside the chain: SiLU
                sig, mul = sorted(users, key=lambda u: self.nodes[u].op != "Sigmoid")
                if set(self.nodes[mul].inputs) == {value, self.nodes[sig].outputs[0]}:
                    out += [self.take(sig), self.take(mul)]
                    value = self.nodes[mul].outputs[0]
                    continue
            if len(users) != 1:
                raise self.fail(self.nodes[self.prod[end]], "the gate of a product is not a single chain")
            out.append(self.take(users[0]))
            value = out[-1].outputs[0]
        return out

    # -- lines -------------------------------------------------------------------
    def label(self, node: OpNode) -> str:
        base = _mangle(node.module or node.op)
        label, k = base, 1
        while label in self.labels:
            k += 1
            label = f"{base}_{k}"
        self.labels[label] = node.module
        self.owner[self.index[id(node)]] = label
        return label

    def drop(self, label: str) -> None:
        """An operator that is nothing in a spec: no line, no label."""
        self.labels.pop(label)
        self.owner = {i: lab for i, lab in self.owner.items() if lab != label}

    def own(self, label: str, nodes) -> None:
        """More operators held by the line ``label`` (a folded pad, a bias, a gate)."""
        for n in nodes:
            self.owner[self.index[id(n)]] = label

    def dims_in(self, node: OpNode) -> tuple[int, ...]:
        return self.g.dims[next(v for v in node.inputs if v is not None)]

    def padded(self, node: OpNode) -> Line:
        """A Pad, folded into the convolution or pooling that reads it."""
        users = self.cons.get(node.outputs[0], [])
        pads = node.consts.get(1)
        mode = node.attrs.get("mode", "constant")
        value = node.consts.get(2, [0])
        if len(users) != 1 or self.nodes[users[0]].op not in ("Conv", "MaxPool", "AveragePool") or pads is None \
                or mode != "constant" or any(value) or len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)):
            raise self.fail(node, "padding that is not folded into a convolution or pooling")
        nxt = self.take(users[0])
        extra = (pads[2], pads[3], pads[6], pads[7])  # top, left, bottom, right
        line = self.line(nxt, extra, self.dims_in(node))
        self.own(line.label, [node])
        return line

    def line(self, node: OpNode, extra=(0, 0, 0, 0), padded_from=None) -> Line | None:
        """One operator's layer line (None for one that is nothing in a spec);
        ``self.out`` is then the value the line computes."""
        self.out = node.outputs[0]
        label = self.label(node)
        body = self.body(node, label, extra, padded_from)
        if body is None:
            self.drop(label)
            return None
        return Line(label, body, node.module)

    # -- hard sigmoid and hard swish as real code writes them ---------------------
    @staticmethod
    def _const(node: OpNode) -> float | None:
        """The one scalar constant operand of a binary operator, or None."""
        values = [v for k, v in node.consts.items() if k < 2 and v is not None]
        if len(values) != 1 or len(values[0]) != 1 or sum(v is not None for v in node.inputs[:2]) != 1:
            return None
        return float(values[0][0])

    @staticmethod
    def _clip_bounds(node: OpNode) -> tuple:
        return node.consts.get(1, [None])[0], node.consts.get(2, [None])[0]

    def _is_clip6(self, node: OpNode) -> bool:
        return node.op == "Clip" and self._clip_bounds(node) == (0, 6)

    def _hard_gate(self, chain: list[OpNode], value: str) -> bool:
        """``relu6(x + 3)`` (and ``/ 6``) as a gate's chain."""
        ops = [n.op for n in chain]
        if ops not in (["Add", "Clip"], ["Add", "Clip", "Div"], ["Add", "Clip", "Mul"]):
            return False
        return self._const(chain[0]) == 3 and self._is_clip6(chain[1]) and value in chain[0].inputs and \
            (len(chain) == 2 or self._sixth(chain[2]))

    def _sixth(self, node: OpNode) -> bool:
        c = self._const(node)
        return c is not None and (node.op == "Div" and c == 6 or node.op == "Mul" and abs(c - 1 / 6) < 1e-7)

    def _divide_by_six(self, value: str, index: int, label: str) -> bool:
        """The operator after a merge is ``/ 6``: taken into the merge's line."""
        users = self.cons.get(value, [])
        if len(users) != 1 or not self._sixth(self.nodes[users[0]]):
            return False
        div = self.take(users[0])
        self.own(label, [div])
        self.after[index] = div.outputs[0]
        return True

    def hard_sigmoid(self, node: OpNode, label: str) -> str | None:
        """``relu6(x + 3) / 6`` from its Add: the chain taken into one ``hsigmoid`` line."""
        if self._const(node) != 3:
            return None
        chain = [node]
        for test in (self._is_clip6, self._sixth):
            users = self.cons.get(chain[-1].outputs[0], [])
            if len(users) != 1 or not test(self.nodes[users[0]]):
                return None
            chain.append(self.nodes[users[0]])
        for n in chain[1:]:
            self.take(self.index[id(n)])
        self.own(label, chain)
        self.out = chain[-1].outputs[0]
        return "hsigmoid"

    def body(self, node: OpNode, label: str, extra, padded_from) -> str | None:
        """What follows the label on an operator's line (None: nothing in a spec)."""
        op = node.op
        if op == "Add":
            line = self.hard_sigmoid(node, label)
            if line is not None:
                return line
        if op == "Conv":
            return self.conv(node, extra, padded_from)
        if op in ("MaxPool", "AveragePool"):
            return self.pool(node, extra, padded_from)
        if op in ("Gemm", "MatMul"):
            return self.fc(node)
        if op in ("GlobalAveragePool", "GlobalMaxPool") or op == "ReduceMean" and self._spatial_mean(node):
            return "gmp" if op == "GlobalMaxPool" else "gap"
        if op == "BatchNormalization":
            return "bn"
        if op in ACTIVATIONS:
            if op == "HardSigmoid" and (node.attrs.get("alpha"), node.attrs.get("beta")) not in (
                    (None, None), (1 / 6, 0.5)) and abs(node.attrs.get("alpha", 0.2) - 1 / 6) > 1e-6:
                raise self.fail(node, "a hard sigmoid with other slopes than PyTorch's (x/6 + 1/2)")
            return ACTIVATIONS[op]
        if op == "Gelu":  # ONNX's own (opset 20), or the formula mbcost.graphs.fusion read as one
            if node.attrs.get("approximate", "none") != "none":
                raise self.fail(node, "GELU's tanh approximation (the spec language's gelu is the exact erf form)")
            return "gelu"
        if op == "Clip":
            low, high = node.consts.get(1, [None])[0], node.consts.get(2, [None])[0]
            if (low, high) == (0, 6):
                return "relu6"
            if (low, high) == (0, None):
                return "relu"
            if (low, high) == (0, 1):
                return "clip01"
            raise self.fail(node, f"a clip to [{low}, {high}] (only ReLU and ReLU6 are expressible)")
        if op in ("Flatten", "Reshape", "Squeeze", "Unsqueeze"):
            return self.flatten(node, label)
        if op == "Slice":
            return self.slice(node)
        if op == "Softmax":
            return "softmax"
        if op in ("Dropout", "Identity"):
            return None
        raise self.fail(node, "the spec language has no layer for this operator")

    def _spatial_mean(self, node: OpNode) -> bool:
        axes = node.attrs.get("axes") or node.consts.get(1)
        return axes is not None and sorted(a % 4 for a in axes) == [2, 3] and len(self.dims_in(node)) == 4

    def flatten(self, node: OpNode, label: str) -> str | None:
        d_in, d_out = self.dims_in(node), self.g.dims[node.outputs[0]]
        if _trimmed(d_in) == _trimmed(d_out) and len(d_in) in (2, 4) and len(d_out) in (2, 4):
            return None  # N x C and N x C x 1 x 1: the same 1 x 1 x C in a spec
        flat = _trimmed(d_out)
        if len(flat) == 2 and flat[0] == d_in[0] and flat[1] == math.prod(d_in[1:]):
            return "flatten"
        if len(d_out) == 5 and len(d_in) == 4:
            return self.shuffle(node, label)
        raise self.fail(node, f"a reshape from {d_in} to {d_out} (only a flatten to N x features is expressible)")

    def shuffle(self, node: OpNode, label: str) -> str:
        """Reshape N x C x H x W -> N x G x C/G x H x W, swap axes 1 and 2, reshape
        back: a channel shuffle with G groups."""
        n, c, h, w = self.dims_in(node)
        g = self.g.dims[node.outputs[0]][1]
        chain = [node]
        for op in ("Transpose", "Reshape"):
            users = self.cons.get(chain[-1].outputs[0], [])
            if len(users) != 1 or self.nodes[users[0]].op != op:
                raise self.fail(node, "a reshape to 5 dims that is not a channel shuffle")
            chain.append(self.take(users[0]))
        perm = chain[1].attrs.get("perm")
        if self.g.dims[node.outputs[0]] != (n, g, c // g, h, w) or perm != [0, 2, 1, 3, 4] \
                or self.g.dims[chain[2].outputs[0]] != (n, c, h, w):
            raise self.fail(node, "a reshape to 5 dims that is not a channel shuffle")
        self.own(label, chain)
        self.out = chain[2].outputs[0]
        return f"shuffle groups={g}"

    def slice(self, node: OpNode) -> str:
        """A slice of the channels: split parts=P take=T."""
        c = self.dims_in(node)[1]
        starts, ends = node.consts.get(1), node.consts.get(2)
        axes, steps = node.consts.get(3, [0, 1, 2, 3][:len(starts or [])]), node.consts.get(4, [1])
        if starts is None or ends is None or len(starts) != 1 or axes[0] % 4 != 1 or steps != [1]:
            raise self.fail(node, "a slice that is not one range of the channels")
        start, end = starts[0], min(ends[0], c)
        size = end - start
        if size <= 0 or c % size or start % size:
            raise self.fail(node, f"a slice of channels {start}:{end} of {c}, not one of equal parts")
        return f"split parts={c // size} take={start // size + 1}"

    def conv(self, node: OpNode, extra, padded_from) -> str:
        m, cg, kh, kw = node.arg_dims[1]
        d_in = padded_from or self.dims_in(node)
        c = d_in[1]
        g = int(node.attrs.get("group", 1))
        sh, sw = node.attrs.get("strides") or (1, 1)
        dh, dw_ = node.attrs.get("dilations") or (1, 1)
        pad = self.padding(node, extra, d_in, (kh, kw), (sh, sw), (dh, dw_))
        bias = "yes" if len(node.inputs) > 2 and (node.inputs[2] is not None or node.arg_dims[2]) else "no"
        stride = "" if (sh, sw) == (1, 1) else f" / {stride_text((sh, sw))}"
        dil = "" if (dh, dw_) == (1, 1) else f" dil={dh}" if dh == dw_ else f" dil={dh}x{dw_}"
        if g > 1 and g == c:
            mult = "" if m == c else f" mult={m // c}"
            return f"dw{stride} {kh}x{kw}x{c}{pad}{dil} bias={bias}{mult}"
        groups = f" groups={g}" if g > 1 else ""
        return f"conv{stride} {kh}x{kw}x{c}x{m}{pad}{dil} bias={bias}{groups}"

    def padding(self, node, extra, d_in, kernel, stride, dilation) -> str:
        pads = list(node.attrs.get("pads") or (0, 0, 0, 0))
        if node.attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
            return " pad=same"
        top, left, bottom, right = (pads[0] + extra[0], pads[1] + extra[1], pads[2] + extra[2], pads[3] + extra[3])
        if (top, left) == (bottom, right):
            if top == left:
                return " pad=valid" if top == 0 else f" pad={top}"
            return f" pad={top}x{left}"
        same = []
        for size, k, s, d in zip(d_in[2:], kernel, stride, dilation):
            total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
            same.append((total // 2, total - total // 2))
        if [(top, bottom), (left, right)] == same:
            return " pad=same"
        raise self.fail(node, f"padding top {top}, left {left}, bottom {bottom}, right {right}: neither symmetric "
                              "nor TensorFlow's 'same'")

    def pool(self, node: OpNode, extra, padded_from) -> str:
        kh, kw = node.attrs.get("kernel_shape")
        sh, sw = node.attrs.get("strides") or (1, 1)
        kind = "maxpool" if node.op == "MaxPool" else "avgpool"
        d_in = padded_from or self.dims_in(node)
        pad = self.padding(node, extra, d_in, (kh, kw), (sh, sw), (1, 1))
        pad = "" if pad == " pad=valid" else pad
        ceil = " ceil=yes" if node.attrs.get("ceil_mode") else ""
        stride = "" if (sh, sw) == (1, 1) else f" / {stride_text((sh, sw))}"
        return f"{kind}{stride} {kh}x{kw}{pad}{ceil}"

    def fc(self, node: OpNode) -> str:
        d_in, d_out = self.dims_in(node), self.g.dims[node.outputs[0]]
        if len(d_in) != 2 or node.inputs[0] is None or node.inputs[1] is not None:
            raise self.fail(node, "a matrix product that is not a linear layer on N x features "
                                  "(attention, or a linear layer on a sequence)")
        bias = "no"
        if node.op == "Gemm":
            bias = "yes" if len(node.inputs) > 2 and node.arg_dims[2] else "no"
        else:
            users = self.cons.get(node.outputs[0], [])
            follow = self.nodes[users[0]] if len(users) == 1 else None
            if follow is not None and follow.op == "Add" and sum(v is not None for v in follow.inputs) == 1:
                self.take(users[0])
                self.own(self.owner[self.index[id(node)]], [follow])
                self.out = follow.outputs[0]
                bias = "yes"
        return f"fc {d_in[1]}x{d_out[1]} bias={bias}"

    def gate_line(self, node: OpNode, chain: list[OpNode]) -> str:
        """The line of ``x · gate(x)``: ``silu``, or ``se ...`` for a squeeze-and-excitation gate."""
        ops = [n.op for n in chain]
        if ops == ["Sigmoid"]:
            return "silu"
        weighted = [n for n in chain if n.op in ("Conv", "Gemm", "MatMul")]
        pools = [n for n in chain if n.op in ("GlobalAveragePool", "ReduceMean")]
        if len(weighted) != 2 or len(pools) != 1 or chain[0] is not pools[0] \
                or any(n.op not in RESHAPES for n in chain[1:chain.index(weighted[0])]):
            raise self.fail(node, f"a product with a gate of {', '.join(ops)} (only squeeze-and-excitation "
                                  "and SiLU are expressible)")
        mid = [n for n in chain[chain.index(weighted[0]) + 1:chain.index(weighted[1])]]
        acts = {"Relu": "relu", "HardSwish": "hswish", "Clip": "relu6"}
        act = "silu" if [n.op for n in mid] == ["Sigmoid", "Mul"] else acts.get(mid[0].op) if len(mid) == 1 else None
        tail_nodes = [n for n in chain[chain.index(weighted[1]) + 1:] if n.op not in ("Reshape", "Flatten", "Unsqueeze")]
        tail = [n.op for n in tail_nodes]
        gate = {("Sigmoid",): "sigmoid", ("HardSigmoid",): "hsigmoid"}.get(tuple(tail))
        if tail == ["Clip"] and self._clip_bounds(tail_nodes[0]) == (0, 1):  # GhostNet's clamp(x, 0, 1)
            gate = "clip01"
        if tail == ["Add", "Clip", "Div"] or tail == ["Add", "Clip", "Mul"]:  # relu6(x + 3) / 6
            if self._const(tail_nodes[0]) == 3 and self._is_clip6(tail_nodes[1]) and self._sixth(tail_nodes[2]):
                gate = "hsigmoid"
        if act is None or act == "relu6" or gate is None:
            raise self.fail(node, f"a squeeze-and-excitation gate of {', '.join(ops)} (act: relu, silu or hswish; "
                                  "gate: sigmoid or hsigmoid)")
        c = self.g.dims[chain[0].inputs[0]][1]
        s = self.g.dims[weighted[0].outputs[0]][1]
        if c % s == 0:
            shape = f"reduce={c // s}"
        else:
            shape = next((f"reduce={r} divisor=8" for r in (4, 8, 16) if scale_channels(c // r, 1, 0, 8) == s), None)
            if shape is None:
                raise self.fail(node, f"a squeeze width {s} of {c} channels, which no reduce= gives")
        return f"se {shape} act={act} gate={gate}"


def _conv_classifier(line: Line, graph: OpGraph) -> bool:
    """A ``conv 1x1xCxM`` (ungrouped) whose M channels are the model's output, N x M
    (or N x M x 1 x 1): the logits of a classifier written as a convolution."""
    words = line.body.split()
    dims = words[1].split("x") if len(words) > 1 and words[0] == "conv" else []
    if len(dims) != 4 or dims[:2] != ["1", "1"] or "groups=" in line.body:
        return False
    out = _trimmed(graph.dims[graph.outputs[0]])
    return len(out) == 2 and out[1] == int(dims[3])


def _trimmed(dims) -> tuple:
    out = list(dims)
    while len(out) > 2 and out[-1] == 1:
        out.pop()
    return tuple(out)


# -- repeated structures as blocks ----------------------------------------------------------------------------

#: the channel numbers of a line's dims, by kind: conv Kh x Kw x M x N, dw Kh x Kw x M, fc M x N
_CHANNELS = (("conv", re.compile(r"\b(\d+)x(\d+)x(\d+)x(\d+)\b"), (3, 4)),
             ("dw", re.compile(r"\b(\d+)x(\d+)x(\d+)\b"), (3,)),
             ("fc", re.compile(r"\b(\d+)x(\d+)\b"), (1, 2)))


def _mangle(text: str) -> str:
    """A module path as a label the parser takes: lower case, '_' for anything
    else, not a keyword (``conv`` -> ``conv_op``), not starting with a digit."""
    from mbcost.language.parser import KEYWORDS, STRUCTURE

    label = re.sub(r"[^a-z0-9_]", "_", text.lower()) or "layer"
    label = "m" + label if label[0].isdigit() else label
    return label + "_op" if label in KEYWORDS or label in STRUCTURE else label


def _modules(item) -> list[str]:
    if isinstance(item, Line):
        return [item.module]
    return [item.module] + [m for _, items in item.branches for it in items for m in _modules(it)]


def _unit(item, depth: int) -> str | None:
    """The module ``depth`` components deep that holds all of ``item`` (None if none does)."""
    units = set()
    for m in _modules(item):
        parts = m.split(".") if m else []
        if len(parts) < depth:
            return None
        units.add(".".join(parts[:depth]))
    return units.pop() if len(units) == 1 else None


def _template(run: list, unit: str):
    """(template lines, channel values, rename) of a run of items inside ``unit``."""
    values: list[int] = []
    rename: dict[str, str] = {}
    used: set[str] = set()

    def new_label(item) -> str:
        rel = item.module[len(unit) + 1:] if item.module.startswith(unit + ".") else ""
        base = _mangle(rel or (item.kind if isinstance(item, Group) else item.body.split()[0]))
        label, k = base, 1
        while label in used:
            k += 1
            label = f"{base}_{k}"
        used.add(label)
        rename[item.label] = label
        return label

    def body(text: str) -> str:
        for kind, pattern, groups in _CHANNELS:
            if text.split()[0] == kind:
                match = pattern.search(text)
                if match:
                    parts = list(match.groups())
                    for g in groups:
                        value = int(parts[g - 1])
                        if value not in values:
                            values.append(value)
                        parts[g - 1] = "{c%d}" % (values.index(value) + 1)
                    text = text[:match.start()] + "x".join(parts) + text[match.end():]
                break
        return text

    lines: list[str] = []

    def walk(items, indent):
        for item in items:
            label = new_label(item)
            if isinstance(item, Line):
                lines.append(" " * indent + f"{label}: {body(item.body)}")
                continue
            lines.append(" " * indent + f"{label}: {item.kind} {{")
            for k, (bname, sub) in enumerate(item.branches):
                if bname is None:
                    walk(sub, indent + 2)
                else:
                    rename[bname] = f"{label}_b{k + 1}"
                    lines.append(" " * (indent + 2) + f"branch {label}_b{k + 1} {{")
                    walk(sub, indent + 4)
                    lines.append(" " * (indent + 2) + "}")
            lines.append(" " * indent + "}")

    walk(run, 2)
    return tuple(lines), values, rename


def find_blocks(items: list) -> tuple[list[Block], list]:
    """Runs of top-level items that make up one module and whose layers repeat
    elsewhere (same kinds, strides and options; channels may differ) become one
    block, called once per module: ``layer1_0: basic_block(64, 64)``. The module
    depth that covers the most items with repeated blocks is used."""
    best = (0, 0, None)
    for depth in range(1, 6):
        runs: list[tuple[str | None, list]] = []
        for item in items:
            unit = _unit(item, depth)
            if runs and unit is not None and runs[-1][0] == unit:
                runs[-1][1].append(item)
            else:
                runs.append((unit, [item]))
        found: dict[tuple, list] = {}
        for unit, run in runs:
            if unit is not None and (len(run) > 1 or isinstance(run[0], Group)):
                lines, values, rename = _template(run, unit)
                found.setdefault(lines, []).append((unit, run, values, rename))
        covered = sum(len(run) for calls in found.values() if len(calls) > 1 for _, run, _, _ in calls)
        if covered > best[0]:
            best = (covered, depth, (runs, found))
    if best[2] is None:
        return [], items
    runs, found = best[2]
    blocks: list[Block] = []
    call_of: dict[int, Call] = {}
    names: set[str] = set()
    for lines, calls in found.items():
        if len(calls) < 2:
            continue
        unit = calls[0][0]
        base = next((p for p in reversed(unit.split(".")) if not p.isdigit()), "unit")
        name, k = f"{_mangle(base)}_block", 1
        while name in names:
            k += 1
            name = f"{_mangle(base)}_block{k}"
        names.add(name)
        params = [f"c{i + 1}" for i in range(len(calls[0][2]))]
        blocks.append(Block(name, params, list(lines)))
        for unit_, run, values, rename in calls:
            call_of[id(run[0])] = Call(_mangle(unit_), name, values, run, rename)
    out: list = []
    for unit, run in runs:
        call = call_of.get(id(run[0]))
        out.extend([call] if call is not None else run)
    return blocks, out


class _Renderer:
    """Statements as text, and each original label's row name once compiled."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.full: dict[str, str] = {}

    def block(self, block: Block) -> None:
        self.lines += [f"block {block.name}({', '.join(block.params)}) {{"] + block.lines + ["}", ""]

    def items(self, items: list, prefix: str, indent: int) -> None:
        pad = " " * indent
        for item in items:
            if isinstance(item, Call):
                self.lines.append(pad + f"{item.label}: {item.block}({', '.join(map(str, item.args))})"
                                  + _comment(item.label, _call_module(item)))
                self.names(item.items, prefix + item.label + ".", item.rename)
            elif isinstance(item, Line):
                self.lines.append(pad + f"{item.label}: {item.body}" + _comment(item.label, item.module))
                self.full[item.label] = prefix + item.label
            else:
                self.lines.append(pad + f"{item.label}: {item.kind} {{" + _comment(item.label, item.module))
                self.full[item.label] = prefix + item.label
                for bname, sub in item.branches:
                    if bname is None:
                        self.items(sub, prefix, indent + 2)
                    else:
                        self.lines.append(pad + f"  branch {bname} {{")
                        self.items(sub, prefix + bname + ".", indent + 4)
                        self.lines.append(pad + "  }")
                self.lines.append(pad + "}")

    def names(self, items: list, prefix: str, rename: dict) -> None:
        """Row names of a call's items: the call's label, then the block's labels."""
        for item in items:
            label = rename[item.label]
            self.full[item.label] = prefix + label
            if isinstance(item, Group):
                for bname, sub in item.branches:
                    self.names(sub, prefix if bname is None else prefix + rename[bname] + ".", rename)


def _call_module(call: Call) -> str:
    modules = [m for it in call.items for m in _modules(it)]
    common = modules[0].split(".")
    for m in modules[1:]:
        parts = m.split(".")
        n = 0
        while n < min(len(common), len(parts)) and common[n] == parts[n]:
            n += 1
        common = common[:n]
    return ".".join(common)


def _comment(label: str, module: str) -> str:
    return f"  # {module}" if module and module != label else ""


def write_spec(graph: OpGraph, name: str | None = None, source: str = "") -> Written:
    """``graph`` as spec text (one input, batch 1, N x C x H x W)."""
    if len(graph.inputs) != 1:
        raise MbcostError(f"cannot write {graph.name} as a spec: it has {len(graph.inputs)} inputs (a spec has one)")
    dims = graph.dims[graph.inputs[0]]
    if len(dims) != 4 or dims[0] != 1:
        raise MbcostError(f"cannot write {graph.name} as a spec: its input is {'x'.join(map(str, dims))}; a spec "
                          "takes one image, 1 x C x H x W (give --input 1xCxHxW)")
    if len(graph.outputs) != 1:
        raise MbcostError(f"cannot write {graph.name} as a spec: it has {len(graph.outputs)} outputs (a spec has one)")
    writer = _Writer(graph)
    items = writer.region(graph.inputs[0], graph.outputs[0])
    left = [n for i, n in enumerate(graph.nodes) if i not in writer.done]
    if left:
        raise writer.fail(left[0], "its output does not reach the model's output (a spec has one output)")
    model = re.sub(r"[^a-z0-9_]", "_", (name or graph.name).lower()) or "model"
    header = [f"# {model}: written by mbcost export from {source or graph.source}",
              "# Each label is the module that ran the layer (its path after '#' where the label differs).",
              f"model {model}", f"input {dims[2]}x{dims[3]}x{dims[1]}"]
    last = next((it for it in reversed(items) if isinstance(it, Line) and it.body.split()[0] in ("fc", "conv", "dw")),
                None)
    if last is not None and last.body.startswith("fc "):
        # the classifier: the last weighted layer, a fully connected one; --alpha leaves its outputs alone
        header.append(f"classes {last.body.split()[1].split('x')[1]}")
    elif last is not None and _conv_classifier(last, graph):
        # a 1x1 conv whose outputs are the model's (MobileNetV2's and SqueezeNet's classifier): the classifier too
        header.append(f"classes {last.body.split()[1].split('x')[3]}")
    header.append("")
    blocks, items = find_blocks(items)
    rendered = _Renderer()
    for block in blocks:
        rendered.block(block)
    rendered.items(items, "", 0)
    full = rendered.full  # label as written by the writer -> the row name the compiler gives it
    modules = {full[label]: module for label, module in writer.labels.items() if label in full}
    owner = {i: full[label] for i, label in writer.owner.items() if label in full}
    return Written("\n".join(header + rendered.lines) + "\n", modules, owner)
