"""Activation memory of a torch model from its traced graph (``table --torch ... --memory``).

One forward pass (on the meta device when the model is there: no data) runs
under a :class:`torch.overrides.TorchFunctionMode` that records every torch
function and tensor method the model calls, with the tensors it reads and
writes and the innermost module running it. That is the graph: each call that
writes a new tensor is a step, the tensors are its edges.

Conventions (docs/onnx.md states them for users), where they differ from a
spec's (:mod:`mbcost.attachments.memory`, whose liveness rules are used unchanged):

* **Calls are the units**, not rows: a conv, its batch norm and its ReLU are
  three steps with three tensors, as PyTorch runs them eagerly. An in-place call
  (``ReLU(inplace=True)``, ``x += y``) writes no new tensor; a view (``flatten``
  of a contiguous tensor, ``transpose``, ``view``) is the tensor it views.
* Parameters and buffers are not activations (they are the model size).
* A row of the table (a module) reports its inputs (tensors it reads that were
  written outside it), its output (what it writes that is read outside it, or
  the model's output), and the largest alive total over its steps.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from mbcost.attachments.memory import NETWORK_INPUT, LayerMemory, MemoryReport, dtype_bytes, liveness


@dataclass
class Call:
    module: str  # innermost module running it ('' for the top level)
    reads: list[int]  # tensor keys
    writes: list[int]  # tensor keys it creates (not views, not in place)
    numel: int  # elements written


class _Recorder(TorchFunctionMode):
    def __init__(self, stack: list[str], skip: set[int]) -> None:
        super().__init__()
        self.stack = stack
        self.skip = skip  # ids of parameters and buffers
        self.calls: list[Call] = []
        self.keep: list[torch.Tensor] = []  # every tensor seen, alive so that ids stay unique
        self.alias: dict[int, int] = {}

    def key(self, t: torch.Tensor) -> int:
        k = id(t)
        while k in self.alias:
            k = self.alias[k]
        return k

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        ins = [t for t in tree_flatten((args, kwargs or {}))[0] if isinstance(t, torch.Tensor)]
        outs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        reads = [self.key(t) for t in ins if id(t) not in self.skip]
        writes, numel = [], 0
        for t in outs:
            if id(t) in self.skip:
                continue
            if any(t is i for i in ins):  # in place: the same tensor
                continue
            base = t._base
            self.keep.append(t)
            if base is not None and (id(base) in {id(i) for i in ins} or self.key(base) in reads):
                self.alias[id(t)] = self.key(base)  # a view of what it read
                continue
            writes.append(id(t))
            numel += t.numel()
        if writes:
            self.calls.append(Call(self.stack[-1] if self.stack else "", sorted(set(reads)), writes, numel))
        return out


def trace(model, args: tuple) -> tuple[list[Call], int, list[int]]:
    """(calls that write tensors, in order; the input's key; the output's keys)."""
    names = {m: n for n, m in model.named_modules()}
    stack: list[str] = []
    skip = {id(t) for t in list(model.parameters()) + list(model.buffers())}

    def pre(mod, inputs):
        stack.append(names.get(mod, ""))

    def post(mod, inputs, output):
        stack.pop()

    handles = [m.register_forward_pre_hook(pre) for m in names] + [m.register_forward_hook(post) for m in names]
    recorder = _Recorder(stack, skip)
    try:
        from mbcost.adapters.counters import meta_kernels

        on_meta = any(isinstance(a, torch.Tensor) and a.is_meta for a in args)
        with torch.no_grad(), (meta_kernels() if on_meta else nullcontext()), recorder:
            out = model(*args)
    finally:
        for h in handles:
            h.remove()
    first = next(a for a in args if isinstance(a, torch.Tensor))
    outputs = [recorder.key(t) for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
    return recorder.calls, id(first), outputs


def _row_of(module: str, rows: set[str]) -> str:
    probe = module
    while True:
        if probe in rows:
            return probe
        if not probe:
            return "(model)"
        probe = probe.rpartition(".")[0]


def torch_memory(analysis, model, args: tuple, dtype: str = "fp32") -> MemoryReport:
    """The memory report of a torch analysis (rows aligned with ``analysis.layers``)."""
    bpe = dtype_bytes(dtype)
    calls, input_key, output_keys = trace(model, args)
    producer: dict[int, int] = {}
    for i, c in enumerate(calls):
        for w in c.writes:
            producer[w] = i
    sources = [tuple(sorted({producer.get(r, -1) for r in c.reads if r in producer or r == input_key}))
               for c in calls]
    first = next(a for a in args if isinstance(a, torch.Tensor))
    input_size = first.numel()
    steps = liveness(sources, [c.numel for c in calls], input_size) if calls else []
    row_names = {r.name for r in analysis.layers}
    owner = [_row_of(c.module, row_names) for c in calls]
    by_row: dict[str, list[int]] = {}
    for i, name in enumerate(owner):
        by_row.setdefault(name, []).append(i)
    consumers: dict[int, set[str]] = {}
    for i, c in enumerate(calls):
        for r in c.reads:
            consumers.setdefault(producer.get(r, -1), set()).add(owner[i])
    final = {producer[k] for k in output_keys if k in producer}

    def alive_names(step) -> tuple[str, ...]:
        return tuple(dict.fromkeys(NETWORK_INPUT if t == -1 else calls[t].module or "(model)" for t in step.alive))

    layers, last_alive = [], (0, ())
    for r in analysis.layers:
        idx = by_row.get(r.name, [])
        params = r.weights + r.biases + r.norm
        inside = set(idx)
        reads = {s for i in idx for s in sources[i] if s not in inside}
        outs = [i for i in idx if i in final or consumers.get(i, set()) - {r.name}]
        if idx:
            peak = max(idx, key=lambda i: steps[i].elements)
            last_alive = (steps[peak].elements, alive_names(steps[peak]))
        layers.append(LayerMemory(
            name=r.name, category=r.category, mult_adds=r.mult_adds, params=params, weight_bytes=params * bpe,
            input_bytes=bpe * sum(input_size if s == -1 else calls[s].numel for s in reads),
            output_bytes=bpe * sum(calls[i].numel for i in outs),
            alive_bytes=bpe * last_alive[0], alive=last_alive[1]))
    peak_index = max(range(len(layers)), key=lambda i: (layers[i].alive_bytes, -i)) if layers else 0
    batch = int(first.shape[0]) if first.dim() else 1
    return MemoryReport(model=analysis.model, dtype=dtype.lower(), bytes_per_element=bpe, batch=batch, layers=layers,
                        input_bytes=bpe * input_size,
                        params=sum(p.numel() for p in model.parameters()), peak_index=peak_index)
