"""How mbcost times things on a shared machine: one protocol for ``calibrate``,
``calibrate --validate`` and ``profile``'s end-to-end figure (docs/latency.md).

* **A steady allocator** (:func:`steady_allocator`): glibc's malloc thresholds
  fixed, so that a pass reuses the memory the last one freed, whatever ran before.
* **No garbage collection while timing** (as :mod:`timeit`): a collection's
  time depends on how many objects are alive (a calibration keeps 100 networks
  alive, a validation 26), not on what is timed.
* **Interleaved rounds.** Everything to be timed is timed in ``rounds`` rounds;
  each round visits every item once, in its own shuffled order (seeded), with
  one untimed warm-up call and then timed calls until the item's share of the
  budget is spent (at least ``min_calls``). A slow spell of the machine lands in
  one round of several items, not in every call of one item.
* **Two clocks per call.** The wall clock (``perf_counter_ns``) and this
  thread's CPU time (``thread_time_ns``). At one thread torch and onnxruntime
  run the work on the calling thread, so on a quiet machine the two agree; on a
  busy one the CPU clock does not count the time the thread waited for a core,
  which is what another process adds. With more threads the CPU clock would
  count every thread's time, so the wall clock is used.
* **The figure** of an item is the least of its rounds' medians on the chosen
  clock (interference only ever adds time; a round's median is robust to a few
  slow calls), and its **spread** is (largest - least) / least of the rounds'
  medians: how much the measurement itself moved, shown beside every figure.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass

#: glibc's malloc thresholds set while timing (:func:`steady_allocator`): a freed block of up to
#: 32 MiB (glibc's largest mmap threshold on 64 bits) stays in the heap, and the heap is given back
#: to the system only past 1 GiB free
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 2**30


def steady_allocator() -> str:
    """Fix glibc's malloc thresholds for this process (once; they cannot be unset),
    so that a forward pass reuses the memory the previous one freed instead of
    mapping fresh pages and faulting them in: by default glibc maps every block
    above a threshold it moves with what was freed before, so the same network's
    time depended on what ran before it in the process (MobileNetV2 1.0-224 on
    this 2-core machine: 27 to 35 ms with the defaults, 17.7 to 18.1 ms with
    these; docs/latency.md). Returns what the allocator is, in words, for the
    outputs: the thresholds, or that this C library has no ``mallopt``."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "the C library's default malloc (no mallopt here: timings may depend on what ran before)"
    if mallopt(-3, MMAP_THRESHOLD) and mallopt(-1, TRIM_THRESHOLD):  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
        return "glibc malloc with fixed thresholds (mmap 32 MiB, trim 1 GiB): freed memory is reused"
    return "the C library's default malloc (mallopt refused: timings may depend on what ran before)"


def clock_for(threads: int, device: str = "cpu") -> str:
    """``cpu`` (this thread's CPU time) at one thread on the CPU, else ``wall``."""
    return "cpu" if threads == 1 and device == "cpu" else "wall"


@dataclass(frozen=True)
class Measured:
    """One item's timing under the protocol (seconds)."""

    seconds: float  # the least of the rounds' medians, on the chosen clock
    spread: float  # (largest - least) / least of the rounds' medians
    rounds: tuple[float, ...]  # each round's median, on the chosen clock
    wall: float  # the least of the rounds' wall-clock medians
    cpu: float  # the least of the rounds' CPU-time medians
    calls: int  # timed calls in all
    clock: str = "cpu"

    def to_dict(self) -> dict:
        return {"seconds": self.seconds, "spread": self.spread, "rounds": list(self.rounds), "wall_s": self.wall,
                "cpu_s": self.cpu, "calls": self.calls, "clock": self.clock}


def timed(fn) -> tuple[float, float]:
    """One call of ``fn``: (wall seconds, this thread's CPU seconds)."""
    c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
    fn()
    w1, c1 = time.perf_counter_ns(), time.thread_time_ns()
    return (w1 - w0) / 1e9, (c1 - c0) / 1e9


def summarize(per_round: list[list[tuple[float, float]]], clock: str) -> Measured:
    """The :class:`Measured` of one item from its calls, round by round ((wall, cpu) each)."""
    walls = [statistics.median(w for w, _ in calls) for calls in per_round if calls]
    cpus = [statistics.median(c for _, c in calls) for calls in per_round if calls]
    chosen = cpus if clock == "cpu" else walls
    least = min(chosen)
    spread = (max(chosen) - least) / least if least > 0 else 0.0
    return Measured(least, spread, tuple(chosen), min(walls), min(cpus), sum(map(len, per_round)), clock)


def interleaved(runs: list, *, budget: float, rounds: int = 5, clock: str = "cpu", min_calls: int = 3,
                seed: int = 0, progress=None, labels=None, step=None) -> list[Measured]:
    """Each of ``runs`` (callables) timed under the protocol, ``budget`` seconds of
    timed calls in all. ``step(i, round, result)``, when given, receives what each
    timed call of run i returned (an instrumented pass's per-row times)."""
    import gc

    steady_allocator()
    rng = random.Random(seed)
    share = budget / (rounds * max(len(runs), 1))
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()  # as timeit does: a collection's time depends on what else is alive, not on what is timed
    try:
        return _rounds(runs, share, rounds, clock, min_calls, rng, progress, labels, step)
    finally:
        if was_enabled:
            gc.enable()


def _rounds(runs, share, rounds, clock, min_calls, rng, progress, labels, step) -> list[Measured]:
    calls: list[list[list[tuple[float, float]]]] = [[[] for _ in range(rounds)] for _ in runs]
    done, total = 0, rounds * len(runs)
    for r in range(rounds):
        order = list(range(len(runs)))
        rng.shuffle(order)
        for i in order:
            fn = runs[i]
            fn()  # warm-up: this round's caches and allocator
            spent = 0.0
            while len(calls[i][r]) < min_calls or spent < share:
                if step is None:
                    wall, cpu = timed(fn)
                else:
                    box = []
                    wall, cpu = timed(lambda: box.append(fn()))
                    step(i, r, box[0])
                calls[i][r].append((wall, cpu))
                spent += wall
                if len(calls[i][r]) >= 10_000:
                    break
            done += 1
            if progress:
                progress(done, total, labels[i] if labels else "")
    return [summarize(c, clock) for c in calls]
