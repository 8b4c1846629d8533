"""A spec evaluation as a real ``torch.nn.Module``.

Each layer kind's ``Instance.torch_module()`` calls one function here
(:func:`conv_module`, :func:`fc_module`, :func:`pool_module`,
:func:`elementwise_module`, :func:`merge_module`); a new kind adds one function. :func:`build_module`
assembles the rows into a :class:`SpecNet`, which executes the evaluation's DAG
(each row runs on the outputs of its ``sources``).

Conventions:

* Tensors are NCHW throughout, vectors included: a 1 x 1 x C row is ``(N, C, 1, 1)``.
  A fully connected layer flattens its 1 x 1 x C input inside its module and
  returns ``(N, C_out, 1, 1)``; ``flatten`` returns ``(N, H·W·C, 1, 1)``.
* One module per spec row, registered under the row's name, so a counter's
  per-module result maps to exactly one row. A dotted name (``fire2.squeeze``, a
  layer inside a named block) becomes nested submodules: a :class:`Block`
  container ``fire2`` holding ``squeeze``; the network still runs the rows
  itself, in order, so a block needs no forward of its own.
* A row with post ops (``+bn +relu``) or explicit padding is a :class:`Unit`, a
  small ``Sequential`` with children ``pad``, the main op (``conv``, ``fc``,
  ``pool``), ``bn`` and ``act``; counting the row's module counts its batch norm.
* ``pad=same`` can be asymmetric (TensorFlow puts the extra pixel after): the row
  then pads explicitly (``ZeroPad2d``; ``-inf`` for max pooling) and its op has no
  padding of its own. Mult-Adds do not depend on padding; shapes do, and every
  row's output shape equals the spec's.
* :func:`build_module` builds on the meta device by default: no memory, no
  initialisation, enough for shapes and for ``FlopCounterMode``.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

from mbcost.errors import MbcostError


class Unit(nn.Sequential):
    """One spec row made of several ops run in sequence: optional explicit padding,
    the row's op, then its post ops (``bn``, ``act``)."""


class Block(nn.Module):
    """A named block of the spec (the ``fire2`` of ``fire2.squeeze``): a container
    for its rows' modules. The network runs the rows; a block has no forward."""

    def forward(self, *args):  # pragma: no cover - never called
        raise RuntimeError("a Block is a container; SpecNet runs its rows")


class FlatLinear(nn.Linear):
    """A fully connected layer on a 1 x 1 x C map: ``(N, C, 1, 1) -> (N, C_out, 1, 1)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(torch.flatten(x, 1))
        return y.view(y.shape[0], -1, 1, 1)


class Flatten(nn.Module):
    """``flatten``: H x W x C -> 1 x 1 x (H·W·C), kept NCHW as ``(N, H·W·C, 1, 1)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1, 1, 1)


class Concat(nn.Module):
    """Channel concatenation of several sources (for concat nodes)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


class Add(nn.Module):
    """Elementwise sum of several sources of one shape (for residual additions)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


# -- one function per layer kind ---------------------------------------------

def post_module(op: str, channels: int) -> nn.Module:
    """A post op (``bn``, ``relu``, ``relu6``) on a map of ``channels`` channels."""
    if op == "bn":
        return nn.BatchNorm2d(channels)
    if op == "relu":
        return nn.ReLU()
    if op == "relu6":
        return nn.ReLU6()
    raise MbcostError(f"no torch module for post op '{op}'")


def _unit(inst, role: str, main: nn.Module, pad: nn.Module | None = None) -> nn.Module:
    """``main`` alone, or a :class:`Unit` with the padding and the row's post ops."""
    children: OrderedDict[str, nn.Module] = OrderedDict()
    if pad is not None:
        children["pad"] = pad
    children[role] = main
    for op in inst.layer.post:
        base = "bn" if op == "bn" else "act"
        name, i = base, 1
        while name in children:
            i += 1
            name = f"{base}{i}"
        children[name] = post_module(op, inst.output.c)
    return main if len(children) == 1 else Unit(children)


def conv_module(inst) -> nn.Module:
    """``Conv2d`` with the spec's kernel, stride, dilation, groups and bias; padding
    as the spec computed it (explicit ``ZeroPad2d`` when asymmetric)."""
    layer = inst.layer
    top, bottom, left, right = inst.pads
    symmetric = top == bottom and left == right
    conv = nn.Conv2d(
        inst.input.c,
        inst.output.c,
        kernel_size=layer.kernel,
        stride=inst.stride,
        padding=(top, left) if symmetric else 0,
        dilation=layer.dilation,
        groups=inst.groups,
        bias=bool(layer.bias),
    )
    pad = None if symmetric else nn.ZeroPad2d((left, right, top, bottom))
    return _unit(inst, "conv", conv, pad)


def fc_module(inst) -> nn.Module:
    """``Linear`` on the flattened 1 x 1 x M input (see :class:`FlatLinear`)."""
    return _unit(inst, "fc", FlatLinear(inst.input.c, inst.output.c, bias=bool(inst.layer.bias)))


def _pool_length(size: int, kernel: int, stride: int, pad: int, ceil: bool) -> int:
    """PyTorch's pooling output length (``pooling_output_shape``), dilation 1."""
    span = size + 2 * pad - kernel
    out = (-(-span // stride) if ceil else span // stride) + 1
    if ceil and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def pool_module(inst) -> nn.Module:
    """Average or max pooling; global pooling is adaptive (any resolution).

    PyTorch's own padding is used when it gives the spec's output (symmetric, at
    most half the kernel); otherwise the row pads explicitly, sized so that the
    pooling's floor rounding gives exactly the spec's output."""
    layer = inst.layer
    is_max = layer.mode == "max"
    if layer.is_global:
        return _unit(inst, "pool", nn.AdaptiveMaxPool2d(1) if is_max else nn.AdaptiveAvgPool2d(1))
    (kh, kw), (sh, sw) = inst.window, inst.stride
    top, bottom, left, right = inst.pads
    x, out = inst.input, inst.output
    native = (
        top == bottom and left == right and top <= kh // 2 and left <= kw // 2
        and _pool_length(x.h, kh, sh, top, layer.ceil) == out.h
        and _pool_length(x.w, kw, sw, left, layer.ceil) == out.w
    )
    if native:
        if is_max:
            pool = nn.MaxPool2d((kh, kw), (sh, sw), padding=(top, left), ceil_mode=layer.ceil)
        else:
            pool = nn.AvgPool2d((kh, kw), (sh, sw), padding=(top, left), ceil_mode=layer.ceil,
                                count_include_pad=layer.padding != "same")
        return _unit(inst, "pool", pool)
    # floor((H + top + b - kh) / sh) + 1 == Ho  with  H + top + b == (Ho - 1)·sh + kh
    bottom = (out.h - 1) * sh + kh - x.h - top
    right = (out.w - 1) * sw + kw - x.w - left
    pad = nn.ConstantPad2d((left, right, top, bottom), -math.inf if is_max else 0.0)
    pool = nn.MaxPool2d((kh, kw), (sh, sw)) if is_max else nn.AvgPool2d((kh, kw), (sh, sw))
    return _unit(inst, "pool", pool, pad)


def elementwise_module(inst) -> nn.Module:
    """``relu``, ``relu6``, ``bn``, ``softmax`` (over channels), ``dropout``, ``flatten``."""
    op = inst.layer.op
    if op in ("bn", "relu", "relu6"):
        return post_module(op, inst.input.c)
    if op == "softmax":
        return nn.Softmax(dim=1)
    if op == "dropout":
        raw = inst.layer.stmt.options.get("p")
        return nn.Dropout(float(raw[0]) if raw else 0.5)
    if op == "flatten":
        return Flatten()
    raise MbcostError(f"layer {inst.layer.name}: no torch module for '{op}'")


def merge_module(inst) -> nn.Module:
    """Where branches meet: :class:`Concat` (along the channels, in branch order)
    or :class:`Add` (a residual: the block's input plus its body's output)."""
    return Concat() if inst.layer.op == "concat" else Add()


# -- the network ---------------------------------------------------------------

class SpecNet(nn.Module):
    """A spec evaluation as a module. Its rows are registered under the spec's
    layer names (dotted names nested); ``forward`` runs them in execution order,
    each on the outputs of its sources (-1: the network input), and frees every
    output after its last use."""

    def __init__(self, instances, name: str = "spec") -> None:
        super().__init__()
        self.spec_name = name
        rows: list[nn.Module] = []
        row_names: list[str] = []
        self._row_paths: set[str] = set()
        for inst in instances:
            make = getattr(inst, "torch_module", None)
            if make is None:
                raise MbcostError(f"layer {inst.layer.name}: its kind has no torch module")
            module = make()
            self._attach(inst.layer.name, module)
            rows.append(module)
            row_names.append(inst.layer.name)
        n = len(instances)
        sources = [tuple(inst.sources) for inst in instances]
        for i, src in enumerate(sources):
            if not src or any(s < -1 or s >= i for s in src):
                raise MbcostError(f"layer {row_names[i]}: its sources {src} are not earlier layers")
        last_use: dict[int, int] = {}
        for i, src in enumerate(sources):
            for s in src:
                last_use[s] = i
        release = [[] for _ in range(n)]
        for s, i in last_use.items():
            if s != n - 1:
                release[i].append(s)
        # plain lists: the modules are registered by name above, not here
        self._steps = list(zip(rows, sources, release))
        self.row_names = row_names
        self.rows = dict(zip(row_names, rows))  # name -> row module (a plain dict: not registered twice)

    #: Instance attributes of nn.Module and SpecNet: a child of that name would be
    #: overwritten (``eval()`` sets ``training``), so such layer names are refused.
    RESERVED = frozenset(vars(nn.Module())) | {"spec_name", "row_names", "rows", "_steps", "_row_paths"}

    def _attach(self, path: str, module: nn.Module) -> None:
        parts = path.split(".")
        if any(not p for p in parts):
            raise MbcostError(f"layer name '{path}' cannot be a module name")
        clash = next((p for p in parts if p in self.RESERVED), None)
        if clash is not None:
            raise MbcostError(f"layer name '{path}': '{clash}' is an attribute of every torch module; "
                              "label the layer differently to build it in torch")
        parent: nn.Module = self
        for depth, part in enumerate(parts[:-1]):
            prefix = ".".join(parts[: depth + 1])
            child = parent._modules.get(part)
            if child is None:
                child = Block()
                parent._modules[part] = child  # not add_module: method names ('forward') are fine here
            elif prefix in self._row_paths:
                raise MbcostError(f"layer '{path}' is inside '{prefix}', which is a layer, not a block")
            parent = child
        leaf = parts[-1]
        if leaf in parent._modules:
            raise MbcostError(f"two modules would be named '{path}'")
        parent._modules[leaf] = module
        self._row_paths.add(path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = {-1: x}
        y = x
        for i, (module, sources, release) in enumerate(self._steps):
            y = module(*(outs[s] for s in sources))
            outs[i] = y
            for s in release:
                del outs[s]
        return y


def build_module(instances, device="meta", name: str = "spec") -> SpecNet:
    """The evaluation ``instances`` (``Network.evaluate(config)``) as a
    :class:`SpecNet` in eval mode, built on ``device`` (meta by default: no
    memory, no initialisation)."""
    with torch.device(device):
        net = SpecNet(instances, name=name)
    return net.eval()


def input_tensor(instances, device="meta", batch: int = 1) -> torch.Tensor:
    """A zero input of the network's input shape, ``(batch, C, H, W)``."""
    x = instances[0].input
    return torch.zeros(batch, x.c, x.h, x.w, device=device)


def materialize(module: nn.Module, device="cpu") -> nn.Module:
    """A meta-device module given real (zero) storage on ``device``; batch-norm
    statistics reset (mean 0, variance 1). In place; returns the module."""
    if any(t.is_meta for t in list(module.parameters()) + list(module.buffers())):
        module.to_empty(device=device)
        with torch.no_grad():
            for t in list(module.parameters()) + list(module.buffers()):
                t.zero_()
            for m in module.modules():
                if isinstance(m, nn.modules.batchnorm._NormBase) and m.track_running_stats:
                    m.reset_running_stats()
    return module
