"""Memory of a network evaluation: activation sizes, peak activation memory,
model size and arithmetic intensity. Pure Python (no torch, no numpy).

Conventions (docs/latency.md states them for users):

* **Rows are units.** A row (one line of the table: a conv with its ``+bn +relu``,
  a pool, a concat) reads the outputs of its sources and writes *one* output
  tensor. Post ops are taken as fused or in place, so a conv row with batch norm
  and ReLU holds one output, not three; the transient buffers inside a row
  (im2col, a non-fused BN's intermediate) are not counted. A standalone
  elementwise row (``relu``, ``bn``, ``flatten``, ``softmax``) writes its own new
  tensor, as the torch build executes it.
* **Liveness over the DAG, sequential execution in the evaluation's order.** A
  tensor is alive from the step that produces it until the step of its last
  consumer has finished. The network input is a tensor alive from the start until
  its last consumer (a residual's shortcut keeps it, or any block input, alive
  across the whole body). While a row runs, its inputs and its output are alive
  together, with every tensor that a later row still needs. The network's final
  output counts (it is alive at the last step). A tensor nobody reads is alive
  only at its own step.
* **Peak activation memory** is the largest sum, over the steps, of the bytes
  alive during that step; the step and the tensors alive there are reported.
* **Model size** is every trainable parameter (weights, biases and batch-norm
  scale/shift; running statistics are buffers and not counted) times the bytes of
  the dtype: fp32 4, fp16 2, int8 1. Batch norm is *not* assumed folded and
  biases are taken at the same width as the weights: the int8 figure is params ×
  1 byte, a lower bound of a real int8 deployment, which keeps biases in int32
  and adds per-channel scales (for MobileNet all of this is well under 1% of the
  weights).
* **Arithmetic intensity** of a row: its Mult-Adds (as counted by the analysis:
  conv and fc in the paper's convention) divided by the bytes it must move at
  least once: its parameters plus all its input tensors plus its output tensor,
  at the chosen dtype (fp32 by default). With a batch of B, Mult-Adds and
  activations scale by B, the parameters do not.
"""

from __future__ import annotations

from dataclasses import dataclass

from mbcost.errors import MbcostError
from mbcost.numbers import scaled
from mbcost.core.graph import INPUT, Graph, GraphError

#: Bytes per element of each dtype mbcost knows.
DTYPE_BYTES = {"fp32": 4, "fp16": 2, "int8": 1}

NETWORK_INPUT = "input"


def dtype_bytes(dtype: str) -> int:
    """Bytes per element of ``dtype`` (fp32, fp16 or int8); MbcostError otherwise."""
    try:
        return DTYPE_BYTES[dtype.lower()]
    except (KeyError, AttributeError):
        raise MbcostError(f"unknown dtype '{dtype}': choose from {', '.join(DTYPE_BYTES)}") from None


#: The most alive tensors a step lists by name (a concat of thousands of branches
#: holds thousands: listing them all at every step is quadratic); past it, the
#: list ends with "… (N tensors)", and the sizes still count every one.
MAX_LISTED = 64


@dataclass(frozen=True)
class Step:
    """What is alive while one row runs: the indices of the tensors (-1 is the
    network input; the first MAX_LISTED of them), their total size in elements
    and how many they are."""

    alive: tuple[int, ...]
    elements: int
    count: int = 0


def liveness(sources: list[tuple[int, ...]], sizes: list[int], input_size: int) -> list[Step]:
    """The tensors alive at each step of a sequential execution of a DAG (the
    rules of :class:`mbcost.core.graph.Graph`), with their total size.

    ``sources[i]``: the producers of row i's inputs (-1: the network input),
    each earlier than i; ``sizes[i]``: the elements of row i's output;
    ``input_size``: the network input's elements."""
    if len(sizes) != len(sources):
        raise ValueError("one size per row")
    try:
        graph = Graph(sources)
    except GraphError as exc:
        raise ValueError(str(exc)) from None
    return [Step(held, elements, count) for held, count, elements in graph.sweep(sizes, input_size, MAX_LISTED)]


@dataclass(frozen=True)
class LayerMemory:
    """One row's memory traffic and what is alive while it runs (bytes)."""

    name: str
    category: str
    mult_adds: int  # for the batch
    params: int  # weights + biases + norm
    weight_bytes: int
    input_bytes: int  # all of its inputs (a concat reads several)
    output_bytes: int
    alive_bytes: int  # every tensor alive during this step
    alive: tuple[str, ...]  # their producers' names ("input": the network input)

    @property
    def moved_bytes(self) -> int:
        return self.weight_bytes + self.input_bytes + self.output_bytes

    @property
    def intensity(self) -> float:
        """Mult-Adds per byte moved (0 for a row that counts no Mult-Adds)."""
        return self.mult_adds / self.moved_bytes if self.moved_bytes else 0.0


@dataclass(frozen=True)
class MemoryReport:
    """Memory of one evaluation at one dtype and batch."""

    model: str
    dtype: str
    bytes_per_element: int
    batch: int
    layers: list[LayerMemory]
    input_bytes: int  # the network input
    params: int  # all trainable parameters
    peak_index: int

    @property
    def peak(self) -> LayerMemory:
        return self.layers[self.peak_index]

    @property
    def peak_bytes(self) -> int:
        return self.peak.alive_bytes

    def model_size(self, dtype: str) -> int:
        """Bytes of the parameters at ``dtype`` (see the module's conventions)."""
        return self.params * dtype_bytes(dtype)

    @property
    def model_sizes(self) -> dict[str, int]:
        return {d: self.model_size(d) for d in DTYPE_BYTES}

    def to_dict(self) -> dict:
        return {
            "dtype": self.dtype,
            "bytes_per_element": self.bytes_per_element,
            "batch": self.batch,
            "input_bytes": self.input_bytes,
            "peak_activation_bytes": self.peak_bytes,
            "peak_layer": self.peak.name,
            "peak_tensors": list(self.peak.alive),
            "params": self.params,
            "model_size_bytes": self.model_sizes,
            "layers": [
                {
                    "name": m.name,
                    "input_bytes": m.input_bytes,
                    "output_bytes": m.output_bytes,
                    "weight_bytes": m.weight_bytes,
                    "alive_bytes": m.alive_bytes,
                    "alive": list(m.alive),
                    "intensity": round(m.intensity, 6),
                }
                for m in self.layers
            ],
        }


def memory(analysis, dtype: str = "fp32", batch: int = 1, instances=None) -> MemoryReport:
    """The memory report of an :class:`~mbcost.results.analysis.Analysis` of a spec.
    ``instances``: the evaluation it was made from (re-evaluated when not given)."""
    bpe = dtype_bytes(dtype)
    if batch < 1:
        raise MbcostError(f"batch must be >= 1, got {batch}")
    if instances is None:
        instances = getattr(analysis, "instances", None)
        if instances is None:
            raise MbcostError("memory needs a spec's analysis (the layers' connections come from the spec)")
    rows = analysis.layers
    if len(instances) != len(rows):
        raise ValueError("the instances do not match the analysis")
    sources = [tuple(inst.sources) for inst in instances]
    sizes = [batch * r.output.numel for r in rows]
    input_size = batch * analysis.input.numel
    steps = liveness(sources, sizes, input_size)

    def name(t: int) -> str:
        return NETWORK_INPUT if t == -1 else rows[t].name

    layers = []
    for r, src, step in zip(rows, sources, steps):
        params = r.weights + r.biases + r.norm
        layers.append(LayerMemory(
            name=r.name,
            category=r.category,
            mult_adds=batch * r.mult_adds,
            params=params,
            weight_bytes=params * bpe,
            input_bytes=bpe * sum(input_size if s == -1 else sizes[s] for s in src),
            output_bytes=bpe * batch * r.output.numel,
            alive_bytes=bpe * step.elements,
            alive=tuple(name(t) for t in step.alive) + ((f"… ({step.count:,} tensors)",)
                                                       if step.count > len(step.alive) else ()),
        ))
    peak_index = max(range(len(layers)), key=lambda i: (layers[i].alive_bytes, -i))
    return MemoryReport(
        model=analysis.model,
        dtype=dtype.lower(),
        bytes_per_element=bpe,
        batch=batch,
        layers=layers,
        input_bytes=bpe * input_size,
        params=sum(r.weights + r.biases + r.norm for r in rows),
        peak_index=peak_index,
    )


def fmt_bytes(n: int | float) -> str:
    """Bytes for people: 1.23 MB (decimal units: kB = 1000 B)."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{scaled(n, scale)} {unit}" if isinstance(n, int) else f"{n / scale:,.2f} {unit}"
    return f"{int(n)} B"
