"""An :class:`~mbcost.opgraph.OpGraph` written in the spec language.

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
:mod:`mbcost.export` compiles the text and checks it against the graph before
anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mbcost.errors import MbcostError
from mbcost.opgraph import OpGraph, OpNode

ACTIVATIONS = {"Relu": "relu", "HardSwish": "hswish", "HardSigmoid": "hsigmoid", "Sigmoid": "sigmoid"}
MERGES = ("Add", "Concat", "Mul")


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
            d = succ[0]
            for s in succ[1:]:
                d = self._meet(ipdom, d, s)
            ipdom[i] = d
        return ipdom

    @staticmethod
    def _meet(ipdom, a: int, b: int) -> int:
        while a != b:
            while a < b:
                a = ipdom[a]
            while b < a:
                b = ipdom[b]
        return a

    def fail(self, node: OpNode, why: str) -> MbcostError:
        where = f"module '{node.module}'" if node.module and node.module != node.name else f"node '{node.name}'"
        return MbcostError(f"cannot write {self.g.name} as a spec: {where}, ONNX {node.op}: {why}")

    def region(self, value: str, end: str, indent: int) -> list[str]:
        """Statements computing ``end`` from ``value``."""
        lines: list[str] = []
        while value != end:
            users = [u for u in self.cons.get(value, []) if self._reaches(u, end)]
            if not users:
                raise MbcostError(f"cannot write {self.g.name} as a spec: value '{value}' does not lead to '{end}'")
            if len(users) == 1 and self.nodes[users[0]].op not in MERGES:
                node = self.take(users[0])
                line = self.padded(node) if node.op == "Pad" else self.line(node)
                value = self.out
                if line:
                    lines.append(" " * indent + line)
                continue
            join = self.join_of_within(value, users)
            if join >= len(self.nodes):
                raise self.fail(self.nodes[users[0]], "its branches never meet again")
            lines.extend(self.merge(value, self.nodes[join], join, indent))
            value = self.nodes[join].outputs[0]
        return lines

    def join_of_within(self, value: str, users: list[int]) -> int:
        d = users[0]
        for u in users[1:]:
            d = self._meet(self.ipdom, d, u)
        return d

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

    def merge(self, value: str, node: OpNode, index: int, indent: int) -> list[str]:
        self.take(index)
        pad = " " * indent
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
            return [pad + self.gate_line(node, label, chain)]
        if node.op == "Concat":
            if int(node.attrs.get("axis", 1)) not in (1, -3) or len(self.g.dims[value]) != 4:
                raise self.fail(node, "a concatenation along another axis than the channels")
        elif node.op == "Add":
            dims = [self.g.dims[v] for v in ins]
            if len(ins) != 2 or dims[0] != dims[1]:
                raise self.fail(node, "an addition of tensors of different sizes (broadcast)")
            if value in ins:
                other = ins[1 - ins.index(value)]
                body = self.region(value, other, indent + 2)
                return [pad + f"{label}: residual {{"] + body + [pad + "}"]
        out = [pad + f"{label}: {'concat' if node.op == 'Concat' else 'add'} {{"]
        for k, v in enumerate(ins):
            if v == value:
                raise self.fail(node, "a branch that is the input itself (write it as a layer the language has)")
            body = self.region(value, v, indent + 4)
            out += [pad + f"  branch {label}_b{k + 1} {{"] + body + [pad + "  }"]
        return out + [pad + "}"]

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
        base = re.sub(r"[^a-z0-9_]", "_", (node.module or node.op).lower()) or "layer"
        if base[0].isdigit():
            base = "m" + base
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

    def padded(self, node: OpNode) -> str:
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
        self.own(self.owner[self.index[id(nxt)]], [node])
        return line

    def line(self, node: OpNode, extra=(0, 0, 0, 0), padded_from=None) -> str:
        """One operator's layer line ('' for one that is nothing in a spec);
        ``self.out`` is then the value the line computes."""
        op = node.op
        self.out = node.outputs[0]
        label = self.label(node)
        comment = f"  # {node.module}" if node.module and node.module != label else ""
        if op == "Conv":
            return f"{label}: {self.conv(node, extra, padded_from)}{comment}"
        if op in ("MaxPool", "AveragePool"):
            return f"{label}: {self.pool(node, extra, padded_from)}{comment}"
        if op in ("Gemm", "MatMul"):
            return f"{label}: {self.fc(node)}{comment}"
        if op in ("GlobalAveragePool", "GlobalMaxPool") or op == "ReduceMean" and self._spatial_mean(node):
            return f"{label}: {'gmp' if op == 'GlobalMaxPool' else 'gap'}{comment}"
        if op == "BatchNormalization":
            return f"{label}: bn{comment}"
        if op in ACTIVATIONS:
            if op == "HardSigmoid" and (node.attrs.get("alpha"), node.attrs.get("beta")) not in (
                    (None, None), (1 / 6, 0.5)) and abs(node.attrs.get("alpha", 0.2) - 1 / 6) > 1e-6:
                raise self.fail(node, "a hard sigmoid with other slopes than PyTorch's (x/6 + 1/2)")
            return f"{label}: {ACTIVATIONS[op]}{comment}"
        if op == "Clip":
            low, high = node.consts.get(1, [None])[0], node.consts.get(2, [None])[0]
            if (low, high) == (0, 6):
                return f"{label}: relu6{comment}"
            if (low, high) == (0, None):
                return f"{label}: relu{comment}"
            raise self.fail(node, f"a clip to [{low}, {high}] (only ReLU and ReLU6 are expressible)")
        if op in ("Flatten", "Reshape", "Squeeze", "Unsqueeze"):
            return self.flatten(node, label, comment)
        if op == "Slice":
            return f"{label}: {self.slice(node)}{comment}"
        if op == "Softmax":
            return f"{label}: softmax{comment}"
        if op in ("Dropout", "Identity"):
            self.drop(label)
            return ""
        raise self.fail(node, "the spec language has no layer for this operator")

    def _spatial_mean(self, node: OpNode) -> bool:
        axes = node.attrs.get("axes") or node.consts.get(1)
        return axes is not None and sorted(a % 4 for a in axes) == [2, 3] and len(self.dims_in(node)) == 4

    def flatten(self, node: OpNode, label: str, comment: str) -> str:
        d_in, d_out = self.dims_in(node), self.g.dims[node.outputs[0]]
        if _trimmed(d_in) == _trimmed(d_out) and len(d_in) in (2, 4) and len(d_out) in (2, 4):
            self.drop(label)  # N x C and N x C x 1 x 1: the same 1 x 1 x C in a spec
            return ""
        if len(d_out) == 2 and d_out[0] == d_in[0]:
            return f"{label}: flatten{comment}"
        if len(d_out) == 5 and len(d_in) == 4:
            return self.shuffle(node, label, comment)
        raise self.fail(node, f"a reshape from {d_in} to {d_out} (only a flatten to N x features is expressible)")

    def shuffle(self, node: OpNode, label: str, comment: str) -> str:
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
        return f"{label}: shuffle groups={g}{comment}"

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
        stride = "" if (sh, sw) == (1, 1) else f" / s{sh}" if sh == sw else f" / s{sh}x{sw}"
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
        stride = "" if (sh, sw) == (1, 1) else f" / s{sh}" if sh == sw else f" / s{sh}x{sw}"
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

    def gate_line(self, node: OpNode, label: str, chain: list[OpNode]) -> str:
        ops = [n.op for n in chain]
        comment = f"  # {node.module}" if node.module else ""
        if ops == ["Sigmoid"]:
            return f"{label}: silu{comment}"
        weighted = [n for n in chain if n.op in ("Conv", "Gemm", "MatMul")]
        pools = [n for n in chain if n.op in ("GlobalAveragePool", "ReduceMean")]
        if len(weighted) != 2 or len(pools) != 1 or chain[0] is not pools[0]:
            raise self.fail(node, f"a product with a gate of {', '.join(ops)} (only squeeze-and-excitation "
                                  "and SiLU are expressible)")
        mid = [n for n in chain[chain.index(weighted[0]) + 1:chain.index(weighted[1])]]
        acts = {"Relu": "relu", "HardSwish": "hswish", "Clip": "relu6"}
        act = "silu" if [n.op for n in mid] == ["Sigmoid", "Mul"] else acts.get(mid[0].op) if len(mid) == 1 else None
        tail = [n.op for n in chain[chain.index(weighted[1]) + 1:] if n.op not in ("Reshape", "Flatten", "Unsqueeze")]
        gate = {("Sigmoid",): "sigmoid", ("HardSigmoid",): "hsigmoid"}.get(tuple(tail))
        if act is None or act == "relu6" or gate is None:
            raise self.fail(node, f"a squeeze-and-excitation gate of {', '.join(ops)} (act: relu, silu or hswish; "
                                  "gate: sigmoid or hsigmoid)")
        c = self.g.dims[chain[0].inputs[0]][1]
        s = self.g.dims[weighted[0].outputs[0]][1]
        if c % s == 0:
            shape = f"reduce={c // s}"
        else:
            shape = next((f"reduce={r} divisor=8" for r in (4, 8, 16) if _divisible(c // r, 8) == s), None)
            if shape is None:
                raise self.fail(node, f"a squeeze width {s} of {c} channels, which no reduce= gives")
        return f"{label}: se {shape} act={act} gate={gate}{comment}"


def _trimmed(dims) -> tuple:
    out = list(dims)
    while len(out) > 2 and out[-1] == 1:
        out.pop()
    return tuple(out)


def _divisible(value: int, divisor: int) -> int:
    """MobileNetV3's _make_divisible (the nearest multiple, never below 90%)."""
    rounded = max(divisor, (value + divisor // 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


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
    body = writer.region(graph.inputs[0], graph.outputs[0], 0)
    left = [n for i, n in enumerate(graph.nodes) if i not in writer.done]
    if left:
        raise writer.fail(left[0], "its output does not reach the model's output (a spec has one output)")
    model = re.sub(r"[^a-z0-9_]", "_", (name or graph.name).lower()) or "model"
    header = [f"# {model}: written by mbcost export from {source or graph.source}",
              "# Each label is the module that ran the layer (its path after '#' where the label differs).",
              f"model {model}", f"input {dims[2]}x{dims[3]}x{dims[1]}", ""]
    return Written("\n".join(header + body) + "\n", dict(writer.labels), dict(writer.owner))
