"""A spec evaluation as a real ``torch.nn.Module``.

Each layer kind builds its own module (``Instance.torch_module()``, in the kind's
module, importing torch there); this module holds what they share: the
:class:`Unit` of a row with post ops (:func:`unit`), the NCHW helpers
(:class:`FlatLinear`, :class:`Flatten`, :class:`Concat`, :class:`Add`).
:func:`build_module` assembles the rows into a :class:`SpecNet`, which executes
the evaluation's DAG (each row runs on the outputs of its ``sources``).

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

from collections import OrderedDict

import torch
from torch import nn

from mbcost.errors import MbcostError
from mbcost.core.graph import Graph, GraphError


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


# -- a row's module ------------------------------------------------------------

def unit(inst, role: str, main: nn.Module, pad: nn.Module | None = None) -> nn.Module:
    """A row's module: ``main`` alone, or a :class:`Unit` with the padding and the
    row's post ops (children named after each post kind's role: ``bn``, ``act``)."""
    from mbcost.kinds import KINDS

    children: OrderedDict[str, nn.Module] = OrderedDict()
    if pad is not None:
        children["pad"] = pad
    children[role] = main
    for op in inst.layer.post:
        kind = KINDS[op]
        name, i = kind.role, 1
        while name in children:
            i += 1
            name = f"{kind.role}{i}"
        children[name] = kind.torch_module(inst.output.c)
    return main if len(children) == 1 else Unit(children)


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
        try:
            self._graph = Graph([tuple(inst.sources) for inst in instances])
        except GraphError as exc:
            raise MbcostError(f"the network's rows are not a DAG in execution order: {exc}") from None
        # a plain list: the modules are registered by name above, not here
        self._modules_in_order = rows
        self.row_names = row_names
        self.rows = dict(zip(row_names, rows))  # name -> row module (a plain dict: not registered twice)

    #: Instance attributes of nn.Module and SpecNet: a child of that name would be
    #: overwritten (``eval()`` sets ``training``), so such layer names are refused.
    RESERVED = frozenset(vars(nn.Module())) | {"spec_name", "row_names", "rows", "_graph", "_modules_in_order",
                                               "_row_paths"}

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
        rows = self._modules_in_order
        return self._graph.run(lambda i, inputs: rows[i](*inputs), x)


#: PyTorch indexes tensors with int64 and sizes their storage in bytes with it:
#: a tensor must hold fewer bytes than this, even on the meta device.
TORCH_MAX_BYTES = 2**63 - 1


def check_buildable(instances, bytes_per_element: int = 4) -> None:
    """Refuse, naming the layer, a network some tensor of which PyTorch cannot
    represent (a channel count of 2**62, an input of 10**30 pixels): its weights,
    biases or output at ``bytes_per_element`` bytes each."""
    x = instances[0].input
    if x.numel * bytes_per_element > TORCH_MAX_BYTES:
        raise MbcostError(f"the input {x} has {x.numel:,} elements: too large for a PyTorch tensor"
                          f" (at most {TORCH_MAX_BYTES // bytes_per_element:,})")
    for inst in instances:
        parts = inst.parts(frozenset())
        for what, n in (("weights", max((p.weights for p in parts), default=0)),
                        ("biases", max((p.biases for p in parts), default=0)),
                        ("output", inst.output.numel)):
            if n * bytes_per_element > TORCH_MAX_BYTES:
                raise MbcostError(f"layer {inst.layer.name}: its {what} have {n:,} elements, too many for a"
                                  f" PyTorch tensor (at most {TORCH_MAX_BYTES // bytes_per_element:,}):"
                                  " it can be counted symbolically but not built in torch")


def build_module(instances, device="meta", name: str = "spec") -> SpecNet:
    """The evaluation ``instances`` (``Network.evaluate(config)``) as a
    :class:`SpecNet` in eval mode, built on ``device`` (meta by default: no
    memory, no initialisation). A network PyTorch cannot represent is refused
    first (:func:`check_buildable`)."""
    check_buildable(instances)
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
