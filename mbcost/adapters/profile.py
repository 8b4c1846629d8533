"""Measured latency of a spec, layer by layer, with torch (``mbcost profile``).

Method (docs/latency.md):

1. The evaluation is built as a :class:`~mbcost.adapters.torch_modules.SpecNet`
   with real, seeded random weights (torch's default initialisation), in eval mode,
   on the device; the input is seeded random normal of shape (batch, C, H, W).
2. The DAG is run once and every row's inputs are kept.
3. Each row's module is timed alone on its real inputs: ``warmup`` untimed calls,
   then calls timed one by one until they have taken ``budget`` seconds and number
   at least ``min_reps`` (at most ``max_reps``): the repetition count adapts to
   the layer's speed. The median and the inter-quartile range of the per-call
   times are reported, with the count.
4. The whole forward pass is timed the same way (end to end), and the sum of the
   rows' medians is compared with it (the difference: Python dispatch between
   rows, caches warm or cold across rows, what one row leaves to the next).
   With ``method="in-context"``, steps 2 and 3 are replaced by whole forward
   passes with a timestamp after every row: each row's time is then what it
   costs inside the network (its inputs just written by the row before, other
   rows' weights having passed through the caches), and the rows' times add up
   to a pass. The repetitions are passes (``budget`` × rows seconds of them).
5. Rows are grouped by their ``category`` (a row's post ops, ``+bn +relu``, go
   with its main op: time cannot be split inside a row).

CPU: ``time.perf_counter_ns`` around each call, ``torch.set_num_threads(T)`` for
the run (restored afterwards). CUDA: a pair of CUDA events around each call and
a synchronisation after it; written with care but not exercised by the test suite
(no GPU where it was written). Everything runs under ``torch.inference_mode``.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import dataclass, field

import torch

from mbcost.adapters.torch_modules import build_module
from mbcost.errors import MbcostError
from mbcost.results.frames import Framed
from mbcost.core.graph import Graph
from mbcost.adapters.machine import cpu_name
from mbcost.attachments.memory import MemoryReport, fmt_bytes, memory

DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class Timing:
    """Per-call times of one timed thing, in seconds."""

    samples: tuple[float, ...]
    warmup: int

    @property
    def reps(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def q1(self) -> float:
        return _quantile(self.samples, 0.25)

    @property
    def q3(self) -> float:
        return _quantile(self.samples, 0.75)

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    def to_dict(self) -> dict:
        return {"median_s": self.median, "q1_s": self.q1, "q3_s": self.q3, "iqr_s": self.iqr,
                "reps": self.reps, "warmup": self.warmup}


def _quantile(values, q: float) -> float:
    """Linear-interpolation quantile (numpy's default), no numpy needed."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True)
class LayerTiming:
    name: str
    category: str
    mult_adds: int  # for the whole batch
    intensity: float  # Mult-Adds per byte moved (fp32)
    timing: Timing

    @property
    def time(self) -> float:
        return self.timing.median

    @property
    def gmacs(self) -> float:
        """Achieved Mult-Adds per second, in billions (0 for a row with none)."""
        return self.mult_adds / self.time / 1e9 if self.time > 0 and self.mult_adds else 0.0


@dataclass(frozen=True)
class TypeTiming:
    """One layer type: counted Mult-Adds and measured time (sums of its rows' medians)."""

    category: str
    layers: int
    mult_adds: int
    mult_adds_pct: float
    time: float
    time_pct: float

    @property
    def gmacs(self) -> float:
        return self.mult_adds / self.time / 1e9 if self.time > 0 and self.mult_adds else 0.0


@dataclass(repr=False)
class Profile(Framed):
    """Measured per-row and end-to-end latency of one evaluation, with its memory."""

    analysis: object
    memory: MemoryReport
    layers: list[LayerTiming]
    end_to_end: Timing | None
    device: str
    device_name: str
    threads: int | None
    batch: int
    budget: float
    min_reps: int
    max_reps: int
    channels_last: bool = False
    method: str = "isolated"
    torch_version: str = field(default_factory=lambda: torch.__version__)
    #: what ran the network: ``torch`` or ``onnxruntime`` (mbcost.adapters.profile_ort)
    runtime: str = "torch"
    runtime_version: str = field(default_factory=lambda: torch.__version__)
    #: how the runtime ran it, in words ("CPUExecutionProvider, graph optimizations: all"); "" for torch
    runtime_detail: str = ""
    #: rows none of whose nodes ran on their own -> the row whose node did their work ("" when unknown)
    fused: dict = field(default_factory=dict)
    #: the runtime's nodes in no row (onnxruntime's layout reorders), with their median time per pass
    unassigned: list = field(default_factory=list)
    #: the whole pass under the timing protocol of calibrate and validate (mbcost.adapters.timing.Measured:
    #: 5 interleaved rounds, the least of their medians, its spread); None on CUDA or without end to end
    whole: object = None

    def records(self) -> list[dict]:
        """One row per layer: its Mult-Adds, intensity and measured time (seconds)."""
        return [{"name": t.name, "category": t.category, "mult_adds": t.mult_adds, "intensity": t.intensity,
                 "median_s": t.timing.median, "q1_s": t.timing.q1, "q3_s": t.timing.q3, "reps": t.timing.reps,
                 "time_pct": self.time_pct(t)} for t in self.layers]

    def describe(self) -> str:
        return f"profile of {self.analysis.model} on {self.device}"

    @property
    def memory_format(self) -> str:
        return "channels-last (NHWC)" if self.channels_last else "contiguous (NCHW, torch's default)"

    @property
    def runtime_text(self) -> str:
        """The runtime and its version, ``torch 2.13.0`` or ``onnxruntime 1.32.0 (CPUExecutionProvider, ...)``."""
        detail = f" ({self.runtime_detail})" if self.runtime_detail else ""
        return f"{self.runtime} {self.runtime_version}{detail}"

    @property
    def unassigned_time(self) -> float:
        """Median time per pass of the runtime's nodes that are in no row (seconds, summed)."""
        return sum(u.time for u in self.unassigned)

    @property
    def layer_sum(self) -> float:
        """Sum of the rows' median times (seconds)."""
        return sum(t.time for t in self.layers)

    @property
    def mult_adds(self) -> int:
        return sum(t.mult_adds for t in self.layers)

    @property
    def gmacs(self) -> float:
        """Achieved GMAC/s end to end (else over the sum of the rows)."""
        t = self.end_to_end.median if self.end_to_end else self.layer_sum
        return self.mult_adds / t / 1e9 if t > 0 else 0.0

    #: The sum of the rows' medians and the end-to-end median disagree when one
    #: is more than this many times the other.
    INCONSISTENT = 2.0

    def inconsistency(self) -> str:
        """Why these measurements do not hang together, or "" when they do: the
        rows, timed alone, should add up to about the whole forward pass."""
        e2e = self.end_to_end
        if e2e is None or e2e.median <= 0 or self.layer_sum <= 0:
            return ""
        factor = self.layer_sum / e2e.median
        if 1 / self.INCONSISTENT <= factor <= self.INCONSISTENT:
            return ""
        return (f"the rows' medians add up to {self.layer_sum * 1e3:,.3f} ms but the whole network took "
                f"{e2e.median * 1e3:,.3f} ms end to end ({factor:,.2f}x): the machine's speed changed during the "
                "run (other load, frequency scaling) or per-call overhead dominates; the time shares may be wrong. "
                "Re-run with --threads 1, a larger --budget" + (", or --in-context" if self.runtime == "torch" else ""))

    def time_pct(self, layer: LayerTiming) -> float:
        total = self.layer_sum
        return 100.0 * layer.time / total if total > 0 else 0.0

    def by_type(self) -> list[TypeTiming]:
        """Rows grouped by category, most time first. Shares are of the sums over
        all rows, so each column adds up to 100%."""
        groups: dict[str, list] = {}
        for t in self.layers:
            acc = groups.setdefault(t.category, [0, 0, 0.0])
            acc[0] += 1
            acc[1] += t.mult_adds
            acc[2] += t.time
        total_ma, total_t = self.mult_adds, self.layer_sum
        out = [TypeTiming(cat, n, ma, 100.0 * ma / total_ma if total_ma else 0.0, tm,
                          100.0 * tm / total_t if total_t > 0 else 0.0)
               for cat, (n, ma, tm) in groups.items()]
        return sorted(out, key=lambda s: (-s.time, s.category))

    def to_dict(self) -> dict:
        a = self.analysis
        return {
            "model": a.model,
            "alpha": float(a.config.alpha),
            "resolution": a.resolution,
            "input": a.input.as_list(),
            "batch": self.batch,
            "device": self.device,
            "device_name": self.device_name,
            "threads": self.threads,
            "memory_format": "channels_last" if self.channels_last else "contiguous",
            "method": self.method,
            "torch_version": self.torch_version,
            "runtime": self.runtime,
            "runtime_version": self.runtime_version,
            "timing": {"budget_s_per_layer": self.budget, "min_reps": self.min_reps, "max_reps": self.max_reps},
            "counted": a.counted,
            "end_to_end": self.end_to_end.to_dict() if self.end_to_end else None,
            "end_to_end_protocol": self.whole.to_dict() if self.whole is not None else None,
            "layer_sum_s": self.layer_sum,
            "mult_adds": self.mult_adds,
            "gmacs": self.gmacs,
            "layers": [
                {"name": t.name, "category": t.category, "mult_adds": t.mult_adds,
                 "intensity": round(t.intensity, 6), **t.timing.to_dict(),
                 "time_pct": self.time_pct(t), "gmacs": t.gmacs}
                for t in self.layers
            ],
            "by_type": [
                {"type": s.category, "layers": s.layers, "mult_adds": s.mult_adds,
                 "mult_adds_pct": s.mult_adds_pct, "time_s": s.time, "time_pct": s.time_pct, "gmacs": s.gmacs}
                for s in self.by_type()
            ],
            "memory": self.memory.to_dict(),
            **({"runtime_detail": self.runtime_detail,
                "fused_rows": dict(self.fused),
                "unassigned_nodes": [u.to_dict() for u in self.unassigned]} if self.runtime != "torch" else {}),
        }


# -- devices ---------------------------------------------------------------------

def check_device(device: str) -> torch.device:
    """``cpu`` or ``cuda`` (``cuda:N``), usable here; MbcostError otherwise."""
    name = (device or "cpu").strip().lower()
    kind = name.split(":", 1)[0]
    if kind not in DEVICES:
        raise MbcostError(f"unknown device '{device}': choose cpu or cuda")
    if kind == "cuda":
        if not torch.cuda.is_available():
            build = f"built with CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
            raise MbcostError(f"no CUDA device: torch {torch.__version__} ({build}) sees no GPU on this machine; "
                              "use --device cpu")
        try:
            dev = torch.device(name)
        except RuntimeError:
            raise MbcostError(f"bad device '{device}': write cuda or cuda:N") from None
        index = dev.index or 0
        if index >= torch.cuda.device_count():
            raise MbcostError(f"no CUDA device {index}: this machine has {torch.cuda.device_count()}")
        return torch.device("cuda", index)
    return torch.device("cpu")


def device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return cpu_name()


# -- timing ------------------------------------------------------------------------

class Timer:
    """One call of ``fn`` timed on the device (seconds)."""

    def __init__(self, dev: torch.device) -> None:
        self.cuda = dev.type == "cuda"
        if self.cuda:
            self.start = torch.cuda.Event(enable_timing=True)
            self.end = torch.cuda.Event(enable_timing=True)

    def __call__(self, fn) -> float:
        if self.cuda:
            torch.cuda.synchronize()
            self.start.record()
            fn()
            self.end.record()
            self.end.synchronize()
            return self.start.elapsed_time(self.end) / 1e3
        t0 = time.perf_counter_ns()
        fn()
        return (time.perf_counter_ns() - t0) / 1e9


def measure(fn, timer: Timer, *, warmup: int, budget: float, min_reps: int, max_reps: int) -> Timing:
    """``warmup`` untimed calls, then timed calls until they have taken ``budget``
    seconds and number at least ``min_reps`` (at most ``max_reps``)."""
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    spent = 0.0
    while len(samples) < max_reps and (len(samples) < min_reps or spent < budget):
        t = timer(fn)
        samples.append(t)
        spent += t
    return Timing(tuple(samples), warmup)


def _pass_times(rows, graph: Graph, x, cuda: bool) -> list[float]:
    """One forward pass of the DAG, each row's time in it (seconds): the time
    from the end of the row before to the end of this one (freeing included)."""
    n = len(rows)
    if cuda:
        events = [torch.cuda.Event(enable_timing=True) for _ in range(n + 1)]
        torch.cuda.synchronize()
        events[0].record()
        graph.run(lambda i, inputs: rows[i](*inputs), x, after=lambda i: events[i + 1].record())
        events[-1].synchronize()
        return [events[i].elapsed_time(events[i + 1]) / 1e3 for i in range(n)]
    marks = [0] * (n + 1)
    marks[0] = time.perf_counter_ns()

    def mark(i: int) -> None:
        marks[i + 1] = time.perf_counter_ns()

    graph.run(lambda i, inputs: rows[i](*inputs), x, after=mark)
    return [(marks[i + 1] - marks[i]) / 1e9 for i in range(n)]


def _in_context(rows, sources, x, cuda: bool, *, warmup: int, budget: float, min_reps: int, max_reps: int,
                extra: int, progress=None) -> list[Timing]:
    """Every row timed inside whole forward passes: ``warmup`` passes, then
    passes filling about ``budget`` seconds; one sample per row per pass."""
    graph = Graph(sources)
    for _ in range(warmup):
        _pass_times(rows, graph, x, cuda)
    samples: list[list[float]] = []
    spent = 0.0
    while len(samples) < max_reps and (len(samples) < min_reps or spent < budget):
        samples.append(_pass_times(rows, graph, x, cuda))
        spent += sum(samples[-1])
        if progress:
            # the pass count is known only at the end: the bar tracks the time budget (or the minimum)
            done = min(len(samples) / min_reps, spent / budget if budget > 0 else 1.0)
            progress(min(999, int(1000 * done)), 1000 + extra, f"pass {len(samples)}")
    return [Timing(tuple(per_row), warmup) for per_row in zip(*samples)]


METHODS = ("isolated", "in-context")


def check_fits_in_memory(report: MemoryReport, dev: torch.device) -> None:
    """Profiling allocates the weights and the live activations for real: refuse
    a network that cannot fit in this machine's memory, before allocating."""
    if dev.type != "cpu":
        return
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return
    needed = report.model_size("fp32") + report.peak_bytes
    if needed > available:
        raise MbcostError(f"profiling {report.model} needs at least {fmt_bytes(needed)} (weights"
                          f" {fmt_bytes(report.model_size('fp32'))}, peak activations {fmt_bytes(report.peak_bytes)})"
                          f" but this machine has {fmt_bytes(available)} free: it cannot be measured here")


def check_settings(batch: int, threads: int | None, warmup: int, min_reps: int, max_reps: int,
                   budget: float) -> None:
    """The timing settings every runtime shares, each refused in one line."""
    from mbcost import options

    options.batch(batch, "batch"), options.threads(threads, "threads"), options.warmup(warmup, "warmup")
    options.repetitions(min_reps, "min_reps"), options.repetitions(max_reps, "max_reps")
    if max_reps < min_reps:
        raise MbcostError(f"need min_reps <= max_reps, got {min_reps:,} and {max_reps:,}")
    options.budget(budget, "the time budget", zero=True)  # 0: min_reps calls only


def profile(analysis, *, batch: int = 1, threads: int | None = None, device: str = "cpu", warmup: int = 5,
            budget: float = 0.2, min_reps: int = 20, max_reps: int = 10_000, end_to_end: bool = True,
            channels_last: bool = False, method: str = "isolated", seed: int = 0, progress=None) -> Profile:
    """Time every row of ``analysis`` (a spec's :class:`~mbcost.results.analysis.Analysis`)
    and the whole forward pass. ``budget``: seconds of timed calls per row (and
    for the end-to-end pass); ``progress(done, total, label)`` is called as rows
    finish. ``channels_last``: weights and activations in NHWC memory order
    (``torch.channels_last``) instead of torch's default NCHW.

    ``method``: ``isolated`` (each row alone, repeatedly, on its captured inputs:
    its inputs and weights stay warm in the caches) or ``in-context`` (each row
    timed inside whole forward passes, as it runs in the network: the rows'
    times add up to a pass; ``budget`` × the number of rows of passes)."""
    if method not in METHODS:
        raise MbcostError(f"unknown timing method '{method}': choose from {', '.join(METHODS)}")
    check_settings(batch, threads, warmup, min_reps, max_reps, budget)
    dev = check_device(device)
    instances = getattr(analysis, "instances", None)  # a spec's table keeps its evaluation; a model's has none
    if instances is None:
        raise MbcostError("profile needs a spec (a built-in model or a spec file)")
    report = memory(analysis, "fp32", batch=batch, instances=instances)
    check_fits_in_memory(report, dev)
    from mbcost.adapters.timing import steady_allocator

    steady_allocator()  # every timing below in the allocator state calibrate and validate use

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        torch.manual_seed(seed)
        net = build_module(instances, device=dev, name=analysis.model)
        x0 = instances[0].input
        x = torch.randn(batch, x0.c, x0.h, x0.w, device=dev)
        if channels_last:
            net = net.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        timer = Timer(dev)
        rows = [net.rows[r.name] for r in analysis.layers]
        total = len(rows) + (1 if end_to_end else 0)
        layers = []
        with torch.inference_mode():
            if method == "in-context":
                sources = [tuple(inst.sources) for inst in instances]
                timings = _in_context(rows, sources, x, dev.type == "cuda", warmup=warmup,
                                      budget=budget * len(rows), min_reps=min_reps, max_reps=max_reps,
                                      extra=1 if end_to_end else 0, progress=progress)
                total = 1000 + (1 if end_to_end else 0)
                for row, mem, timing in zip(analysis.layers, report.layers, timings):
                    layers.append(LayerTiming(row.name, row.category, batch * row.mult_adds, mem.intensity,
                                              timing))
            else:
                # every row's inputs, captured from one pass (kept: each row is timed on its own)
                captured: dict[int, tuple] = {}

                def keep(i: int, inputs: list):
                    captured[i] = tuple(inputs)
                    return rows[i](*inputs)

                Graph([tuple(inst.sources) for inst in instances]).run(keep, x)
                for i, (module, row, mem) in enumerate(zip(rows, analysis.layers, report.layers)):
                    args = captured[i]
                    timing = measure(lambda: module(*args), timer, warmup=warmup, budget=budget,
                                     min_reps=min_reps, max_reps=max_reps)
                    layers.append(LayerTiming(row.name, row.category, batch * row.mult_adds, mem.intensity,
                                              timing))
                    if progress:
                        progress(i + 1, total, row.name)
                del captured
            whole, protocol = None, None
            if end_to_end:
                whole = measure(lambda: net(x), timer, warmup=warmup, budget=budget, min_reps=min_reps,
                                max_reps=max_reps)
                if dev.type == "cpu":  # and under the protocol calibrate and validate use (mbcost.adapters.timing)
                    from mbcost.adapters.timing import clock_for, interleaved

                    protocol, = interleaved([lambda: net(x)], budget=budget, rounds=5,
                                            clock=clock_for(torch.get_num_threads()), seed=seed,
                                            min_calls=max(1, min(min_reps, max_reps) // 5))
                if progress:
                    progress(total, total, "end to end")
        used = torch.get_num_threads() if dev.type == "cpu" else None
    finally:
        torch.set_num_threads(previous)
    result = Profile(analysis, report, layers, whole, dev.type if dev.type == "cpu" else str(dev),
                     device_name(dev), used, batch, budget, min_reps, max_reps, channels_last, method)
    result.whole = protocol
    return result
