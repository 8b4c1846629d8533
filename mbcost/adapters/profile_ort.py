"""Measured latency of a spec, layer by layer, with onnxruntime (``mbcost profile --runtime onnxruntime``).

Method (the in-context method of :mod:`mbcost.adapters.profile`, with
onnxruntime's own profiler as the clock):

1. The evaluation is built in torch exactly as ``--runtime torch`` builds it
   (seeded weights, seeded random input of the asked batch) and exported with
   :func:`mbcost.adapters.onnx_export.torch_to_onnx`, whose node names carry the
   torch module path of each spec row.
2. An ``InferenceSession`` on the ``CPUExecutionProvider`` with the default graph
   optimizations (``ORT_ENABLE_ALL``: as users run it), ``intra_op_num_threads``
   = ``threads`` (onnxruntime's default when not given), ``inter_op_num_threads``
   = 1, and profiling on. ``warmup`` passes, then passes until they have taken
   ``budget`` × rows seconds and number at least ``min_reps`` (at most
   ``max_reps``).
3. The profiler's trace gives each executed node's duration (µs) in each pass.
   A node is mapped to the row its work came from: its name is an exported node's
   name, or (a node onnxruntime rewrote to its blocked NCHWc layout) the name of
   the exported value it writes plus ``_nchwc``, or an exported node's name plus
   the fusion's suffix; a node named only after its operator and index (made
   when onnxruntime inlined a function such as HardSwish) is found in the
   optimized graph onnxruntime writes. When the node's operator (``Conv``) is not
   that exported node's (``Relu``: onnxruntime fused a convolution, its batch norm
   and its ReLU and named the result after the ReLU's output), the exported graph
   is walked back, through the operators it fuses, to the node of that operator,
   whose row gets the time. A row's sample in a pass is the sum of its nodes'
   durations. Rows none of whose nodes ran on their own (fused into another row's
   node) get 0 and are listed with the row they went into (a residual addition
   goes into the later-run of its two inputs' nodes); nodes that belong to no
   row (the layout reorders onnxruntime inserts) are listed with their time,
   which is in no row.
4. End to end: a second session with the same options and no profiling, timed
   call by call around ``session.run`` (the profiler adds its own overhead).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass

from mbcost.errors import MbcostError

RUNTIMES = ("torch", "onnxruntime")

#: operator families: a fused node's operator and the exported node it grew from
_FAMILY = {"FusedConv": "Conv", "NhwcFusedConv": "Conv", "NhwcConv": "Conv",
           "FusedGemm": "Gemm", "MatMul": "Gemm", "FusedMatMul": "Gemm"}

#: at most about this many node events in a trace (its JSON is read whole; onnxruntime stops recording at 1,000,000)
MAX_EVENTS = 60_000


#: operators onnxruntime fuses into the node that produces their input
_THROUGH = frozenset({"BatchNormalization", "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish",
                      "Tanh", "Add", "Sum", "Mul", "Sub", "Div", "Identity", "Dropout"})


def _family(op: str) -> str:
    return _FAMILY.get(op, op)


def check_options(device: str, channels_last: bool) -> None:
    """Refuse the options that only the torch runtime has, in one line."""
    if (device or "cpu").strip().lower() != "cpu":
        raise MbcostError(f"--runtime onnxruntime runs on the CPU (CPUExecutionProvider): --device {device} "
                          "is for --runtime torch")
    if channels_last:
        raise MbcostError("--channels-last is a torch memory format; onnxruntime picks its own layout: drop "
                          "--channels-last or use --runtime torch")


def require_onnxruntime():
    """The ``onnxruntime`` module, or a one-line MbcostError."""
    try:
        import onnxruntime
    except ImportError:
        raise MbcostError("--runtime onnxruntime needs the onnxruntime package: pip install onnxruntime") from None
    return onnxruntime


# -- the exported graph and its rows ---------------------------------------------------------------------------

@dataclass
class _Node:
    name: str
    op: str
    row: str | None
    inputs: list[str]
    outputs: list[str]
    index: int  # topological (the export's order)


class _Exported:
    """The exported graph's data nodes (those that read the network input), each
    with the spec row its module belongs to."""

    def __init__(self, data: bytes, row_names: list[str]) -> None:
        import onnx

        from mbcost.graphs.opgraph import module_of
        from mbcost.graphs.rowmatch import covering_key

        model = onnx.load_model_from_string(data)
        graph = model.graph
        rows = set(row_names)
        live = {i.name for i in graph.input}
        self.nodes: list[_Node] = []
        for node in graph.node:
            if not any(v in live for v in node.input):
                continue  # constants, weights and their shape arithmetic
            live.update(node.output)
            module = module_of(node.name)
            row = covering_key(module, rows) if module else None
            self.nodes.append(_Node(node.name, node.op_type, row if row in rows else None,
                                    [v for v in node.input if v in live], list(node.output), len(self.nodes)))
        self.by_name = {n.name: n for n in self.nodes}
        self.producer = {v: n for n in self.nodes for v in n.outputs}
        self.consumers: dict[str, list[_Node]] = {}
        for n in self.nodes:
            for v in n.inputs:
                self.consumers.setdefault(v, []).append(n)

    def anchor(self, name: str) -> _Node | None:
        """The exported node a runtime node's name points at: the node itself, the
        producer of the value it is named after (``<value>_nchwc``), or the node
        whose name the fusion extended (``<node>/QuickGeluFusion/``)."""
        probe = re.sub(r"_token_[0-9]+$", "", name)
        for candidate in (name, probe):
            if candidate in self.by_name:
                return self.by_name[candidate]
        for candidate in (name, probe):
            value = re.sub(r"_nchwc$", "", candidate)
            if value in self.producer:
                return self.producer[value]
        parts = probe.rstrip("/").split("/")
        while len(parts) > 2:
            parts.pop()
            if "/".join(parts) in self.by_name:
                return self.by_name["/".join(parts)]
        return None

    def producers(self, node: _Node) -> list[_Node]:
        return [self.producer[v] for v in node.inputs if v in self.producer]

    def candidates(self, anchor: _Node, op: str) -> list[tuple[_Node, list[_Node]]]:
        """The exported nodes whose work a runtime node of operator ``op`` named
        after ``anchor`` may be doing, each with the nodes from the anchor back to
        it: the anchor when its operator is ``op``'s (``FusedConv`` and ``Conv``
        alike), else the first node of ``op``'s family on each path back from the
        anchor through operators onnxruntime fuses into the node before them
        (batch norm, activations, the residual addition)."""
        want = _family(op)
        if _family(anchor.op) == want:
            return [(anchor, [anchor])]
        found: dict[str, tuple[_Node, list[_Node]]] = {}

        def walk(node: _Node, path: list[_Node]) -> None:
            for p in self.producers(node):
                if _family(p.op) == want:
                    found.setdefault(p.name, (p, path + [p]))
                elif p.op in _THROUGH and len(path) < 16:
                    walk(p, path + [p])

        if anchor.op in _THROUGH:
            walk(anchor, [anchor])
        return list(found.values())

    def owners(self, owned: dict[str, tuple[str, int]]) -> dict[str, str]:
        """Every data node's owner row: ``owned`` (node -> (row whose runtime node
        did its work, that runtime node's place in a pass)), then, for a node no
        runtime node accounts for, the owner of its producer that ran last (an
        elementwise op fused into a node before it: a residual addition goes into
        the later of its two inputs, the earlier having had to exist), else of its
        consumer that ran first (a pad fused into the convolution after it)."""
        out = dict(owned)
        for n in self.nodes:
            if n.name not in out:
                done = [out[p.name] for p in self.producers(n) if p.name in out]
                if done:
                    out[n.name] = max(done, key=lambda o: o[1])
        for n in reversed(self.nodes):
            if n.name not in out:
                done = [out[c.name] for v in n.outputs for c in self.consumers.get(v, []) if c.name in out]
                if done:
                    out[n.name] = min(done, key=lambda o: o[1])
        return {name: row for name, (row, _) in out.items()}


def _assign(exported: _Exported, nodes: list[tuple[str, str]], anchors: dict[str, _Node]):
    """The row of each runtime node (``nodes``: (name, operator) in execution
    order; ``anchors``: name -> exported node it is named after) and the owner
    row of every exported data node. A runtime node with several candidate
    exported nodes (paths back through a residual addition) takes the one no
    other runtime node takes, else the latest."""
    chosen: dict[str, tuple[_Node, list[_Node]]] = {}
    pending = []
    for name, op in nodes:
        anchor = anchors.get(name)
        if anchor is None:
            continue
        found = exported.candidates(anchor, op)
        if len(found) == 1:
            chosen[name] = found[0]
        elif not found:
            chosen[name] = (anchor, [anchor])  # an operator of its own (QuickGelu for x·sigmoid(x)): the anchor's row
        else:
            pending.append((name, found))
    taken = {main.name for main, _ in chosen.values()}
    for name, found in pending:
        free = [f for f in found if f[0].name not in taken] or found
        chosen[name] = max(free, key=lambda f: f[0].index)
        taken.add(chosen[name][0].name)
    rows: dict[str, str | None] = {}
    owned: dict[str, tuple[str, int]] = {}
    for place, (name, _) in enumerate(nodes):
        if name not in chosen:
            rows[name] = None
            continue
        main, path = chosen[name]
        rows[name] = main.row
        if main.row is not None:
            for n in path:
                owned.setdefault(n.name, (main.row, place))
    return rows, exported.owners(owned)


def _optimized_anchors(ort, data: bytes, threads: int | None, exported: _Exported,
                       nodes: dict[str, str]) -> dict[str, _Node]:
    """Anchors for runtime nodes whose names say nothing (``HardSigmoid_316``: a
    node onnxruntime made when it inlined a function such as HardSwish, named
    after its operator and index), found in the optimized graph onnxruntime
    writes: such nodes of one operator are paired in order with the trace's, and
    each is anchored at the exported value it (or the inlined node it feeds) writes."""
    import onnx

    with tempfile.TemporaryDirectory(prefix="mbcost-ort-") as tmp:
        path = os.path.join(tmp, "optimized.onnx")
        _session(ort, data, threads, None, optimized=path)
        graph = onnx.load(path).graph
    unnamed: dict[str, list] = {}
    for n in graph.node:
        if not n.name:
            unnamed.setdefault(n.op_type, []).append(n)
    consumers: dict[str, list] = {}
    for n in graph.node:
        for v in n.input:
            consumers.setdefault(v, []).append(n)

    def trace(node, depth: int = 0) -> _Node | None:
        for v in node.output:
            if v in exported.producer:
                return exported.producer[v]
        if depth < 4:
            for v in node.output:
                for c in consumers.get(v, []):
                    if not c.name:
                        hit = trace(c, depth + 1)
                        if hit is not None:
                            return hit
        return None

    wanted: dict[str, list[tuple[int, str]]] = {}
    for name, op in nodes.items():
        m = re.fullmatch(re.escape(op) + r"_([0-9]+)", name)
        if m:
            wanted.setdefault(op, []).append((int(m[1]), name))
    out = {}
    for op, items in wanted.items():
        if len(items) != len(unnamed.get(op, [])):
            continue  # cannot pair them
        for (_, name), node in zip(sorted(items), unnamed[op]):
            hit = trace(node)
            if hit is not None:
                out[name] = hit
    return out


# -- the trace --------------------------------------------------------------------------------------------------

def _passes(trace: list[dict]) -> list[list[dict]]:
    """The node events of each ``model_run`` in the trace, in run order."""
    runs = sorted((e for e in trace if e.get("cat") == "Session" and e.get("name") == "model_run"),
                  key=lambda e: e["ts"])
    nodes = sorted((e for e in trace if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")),
                   key=lambda e: e["ts"])
    out: list[list[dict]] = [[] for _ in runs]
    k = 0
    for e in nodes:
        while k < len(runs) and e["ts"] > runs[k]["ts"] + runs[k]["dur"]:
            k += 1
        if k == len(runs):
            break
        if e["ts"] >= runs[k]["ts"]:
            out[k].append(e)
    return out


@dataclass(frozen=True)
class Unassigned:
    """A runtime node in no spec row: its name, operator and per-pass median time (seconds)."""

    name: str
    op: str
    time: float

    def to_dict(self) -> dict:
        return {"name": self.name, "op": self.op, "median_s": self.time}


def _session(ort, data: bytes, threads: int | None, profile_prefix: str | None, optimized: str | None = None):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads is not None:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    if optimized is not None:
        options.optimized_model_filepath = optimized
    try:
        return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own kinds; one line names the cause
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise MbcostError(f"onnxruntime could not load the exported network: {first}") from None


def profile_ort(analysis, *, batch: int = 1, threads: int | None = None, device: str = "cpu", warmup: int = 5,
                budget: float = 0.2, min_reps: int = 20, max_reps: int = 10_000, end_to_end: bool = True,
                channels_last: bool = False, seed: int = 0, progress=None):
    """Time every row of ``analysis`` and the whole forward pass in onnxruntime
    (see the module's docstring); a :class:`~mbcost.adapters.profile.Profile`
    with ``runtime="onnxruntime"`` and ``method="in-context"``."""
    import statistics
    import time

    import torch

    from mbcost.adapters.onnx_export import torch_to_onnx
    from mbcost.adapters.onnx_model import require_onnx
    from mbcost.adapters.profile import (LayerTiming, Profile, Timing, check_fits_in_memory, Timer, check_settings,
                                         device_name, measure)
    from mbcost.adapters.torch_modules import build_module
    from mbcost.attachments.memory import memory

    check_options(device, channels_last)
    check_settings(batch, threads, warmup, min_reps, max_reps, budget)
    ort = require_onnxruntime()
    require_onnx("--runtime onnxruntime")
    instances = getattr(analysis, "instances", None)  # a spec's table keeps its evaluation; a model's has none
    if instances is None:
        raise MbcostError("profile needs a spec (a built-in model or a spec file)")
    report = memory(analysis, "fp32", batch=batch, instances=instances)
    cpu = torch.device("cpu")
    check_fits_in_memory(report, cpu)

    # the same weights and input as --runtime torch
    torch.manual_seed(seed)
    net = build_module(instances, device=cpu, name=analysis.model)
    x0 = instances[0].input
    x = torch.randn(batch, x0.c, x0.h, x0.w)
    data = torch_to_onnx(net, (x,), analysis.model)
    del net
    feed = {"input": x.numpy()}
    row_names = [r.name for r in analysis.layers]
    exported = _Exported(data, row_names)

    n_rows = len(row_names)
    extra = 1 if end_to_end else 0
    # the trace holds every pass's node events: keep it under MAX_EVENTS
    cap = max(min_reps, min(max_reps, MAX_EVENTS // max(1, len(exported.nodes)) - warmup))
    with tempfile.TemporaryDirectory(prefix="mbcost-ort-") as tmp:
        session = _session(ort, data, threads, os.path.join(tmp, "profile"))
        for _ in range(warmup):
            session.run(None, feed)
        reps, spent, total_budget = 0, 0.0, budget * n_rows
        while reps < cap and (reps < min_reps or spent < total_budget):
            t0 = time.perf_counter_ns()
            session.run(None, feed)
            spent += (time.perf_counter_ns() - t0) / 1e9
            reps += 1
            if progress:
                done = min(reps / min_reps, spent / total_budget if total_budget > 0 else 1.0)
                progress(min(999, int(1000 * done)), 1000 + extra, f"pass {reps}")
        path = session.end_profiling()
        with open(path, encoding="utf-8") as f:
            trace = json.load(f)
        del session
    passes = _passes(trace)[warmup:]
    if not passes or not passes[0]:
        raise MbcostError("onnxruntime's profiler recorded no node of the timed passes")
    complete = len(passes[0])
    passes = [p for p in passes if len(p) == complete]  # a pass the profiler cut short is dropped

    # each runtime node -> the row that gets its time (None: no row)
    order = [(e["name"][: -len("_kernel_time")], e.get("args", {}).get("op_name", "")) for e in passes[0]]
    node_op = dict(order)
    anchors = {name: a for name, _ in order if (a := exported.anchor(name)) is not None}
    lost = {name: op for name, op in order if name not in anchors and not op.startswith("Reorder")}
    if lost:
        anchors.update(_optimized_anchors(ort, data, threads, exported, lost))
    node_row, owners = _assign(exported, order, anchors)

    index = {name: i for i, name in enumerate(row_names)}
    samples = [[0.0] * len(passes) for _ in row_names]
    loose: dict[str, list[float]] = {}
    for k, events in enumerate(passes):
        for e in events:
            name = e["name"][: -len("_kernel_time")]
            seconds = e.get("dur", 0) / 1e6
            row = node_row.get(name)
            if row is None:
                loose.setdefault(name, [0.0] * len(passes))[k] += seconds
            else:
                samples[index[row]][k] += seconds
    unassigned = [Unassigned(name, node_op.get(name, ""), statistics.median(times)) for name, times in loose.items()]

    ran = {row for row in node_row.values() if row is not None}
    fused: dict[str, str] = {}
    for row in row_names:
        if row in ran:
            continue
        into = [owners[n.name] for n in exported.nodes if n.row == row and owners.get(n.name, row) != row]
        fused[row] = into[-1] if into else ""

    layers = [LayerTiming(row.name, row.category, batch * row.mult_adds, mem.intensity,
                          Timing(tuple(per_pass), warmup))
              for row, mem, per_pass in zip(analysis.layers, report.layers, samples)]
    whole = None
    if end_to_end:
        plain = _session(ort, data, threads, None)
        whole = measure(lambda: plain.run(None, feed), Timer(cpu), warmup=warmup, budget=budget,
                        min_reps=min_reps, max_reps=max_reps)
        if progress:
            progress(1000 + extra, 1000 + extra, "end to end")
    return Profile(analysis, report, layers, whole, "cpu", device_name(cpu), threads, batch, budget, min_reps,
                   max_reps, False, "in-context", runtime="onnxruntime", runtime_version=ort.__version__,
                   runtime_detail="CPUExecutionProvider, graph optimizations: all", fused=fused,
                   unassigned=unassigned)
