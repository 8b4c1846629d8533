"""A network as a graph of operators: what an ONNX file (or a torch model
exported to ONNX) is read into, before it is counted or written as a spec.

Pure Python: :mod:`mbcost.adapters.onnx_model` fills it from the ``onnx``
package; :mod:`mbcost.adapters.onnx_count` counts it and :mod:`mbcost.graphs.spec_writer`
writes it in the spec language. Neither of those imports ``onnx``.

Only the *data* part of the graph is kept: operators that read, directly or
through other data operators, one of the graph's inputs. Constants, the
shape arithmetic of a reshape (``Shape``, ``Gather``, ``Unsqueeze`` on sizes)
and parameters are not operators here; parameters are counted on the operator
that reads them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class OpNode:
    """One operator. ``inputs``: the data values it reads (names), in its own
    argument order, ``None`` where that argument is a parameter or constant;
    ``outputs``: the data values it writes. ``params``: for each argument that
    is a parameter, (argument index, the parameter's dims, role) where role is
    ``weight``, ``bias`` or ``norm`` (running statistics are not parameters)."""

    name: str
    op: str
    module: str  # the torch module path that ran it ('' for the top level), or the node's own name
    inputs: list[str | None]
    outputs: list[str]
    attrs: dict = field(default_factory=dict)
    params: list[tuple[int, tuple[int, ...], str]] = field(default_factory=list)
    #: the dims of every argument (data, parameter or constant), by index; None where unknown
    arg_dims: list[tuple[int, ...] | None] = field(default_factory=list)
    #: constant arguments' values (small int or float lists: a Reshape's shape, a Pad's pads), by index
    consts: dict = field(default_factory=dict)

    def param_counts(self) -> tuple[int, int, int]:
        """(weights, biases, norm) this operator owns."""
        out = {"weight": 0, "bias": 0, "norm": 0}
        for _, dims, role in self.params:
            out[role] += math.prod(dims)
        return out["weight"], out["bias"], out["norm"]


@dataclass
class OpGraph:
    """The data operators in execution order, every data value's dims, the
    graph's inputs and outputs."""

    name: str
    nodes: list[OpNode]
    dims: dict[str, tuple[int, ...]]
    inputs: list[str]
    outputs: list[str]
    #: where the graph came from, in words (the file, the producer)
    source: str = ""
    #: parameters a module reads that an earlier module was credited with: module -> (parameters, that module)
    shared: dict = field(default_factory=dict)
    #: whether the file says which of its parameter values are one tensor (mbcost's metadata); else each counts
    ties_known: bool = False
    #: what the reader has to say about the file's parameters (lines for the heading)
    notes: list = field(default_factory=list)

    def consumers(self) -> dict[str, list[int]]:
        """Value name -> the indices of the nodes that read it."""
        out: dict[str, list[int]] = {}
        for i, node in enumerate(self.nodes):
            for v in node.inputs:
                if v is not None:
                    out.setdefault(v, []).append(i)
        return out

    def producer(self) -> dict[str, int]:
        return {v: i for i, node in enumerate(self.nodes) for v in node.outputs}


def module_of(node_name: str) -> str:
    """The torch module path in a node name written by ``torch.onnx.export``:
    ``/layer1/layer1.0/conv1/Conv`` -> ``layer1.0.conv1`` (each scope is the
    module's attribute name, or its full path under a container); ``/Flatten``
    -> '' (the top level). A name without scopes is its own module."""
    if not node_name.startswith("/"):
        return node_name
    scopes = node_name.strip("/").split("/")[:-1]
    path = ""
    for scope in scopes:
        if path and scope.startswith(path + "."):
            path = scope
        else:
            path = f"{path}.{scope}" if path else scope
    return path
