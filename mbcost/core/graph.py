"""The one executor of a network's DAG (pure Python: no torch).

An evaluation (``Network.evaluate``) lists its rows in execution order, each
with the indices of the rows it reads (``sources``; -1 is the network input).
:class:`Graph` is that DAG with its liveness written once: when each tensor is
last read, which tensors are alive while a row runs, and which can be freed
after it. The memory report (``mbcost.attachments.memory``), the torch build
(``SpecNet.forward``) and ``profile``'s in-context timing all run on it.

Liveness, sequential execution in the listed order: a tensor is alive from the
step that makes it until the step of its last reader has finished; a tensor
nobody reads is alive at its own step only; the network input is alive from the
start until its last reader; the last row's output (the network's output) is
never freed.
"""

from __future__ import annotations

from typing import Callable, Sequence

INPUT = -1


class GraphError(ValueError):
    """The sources do not describe a DAG in execution order (a programming error)."""


class Graph:
    def __init__(self, sources: Sequence[Sequence[int]]) -> None:
        self.sources = [tuple(src) for src in sources]
        n = len(self.sources)
        #: last_use[t]: the last step that reads tensor t (t itself when nobody does)
        self.last_use: dict[int, int] = {t: t for t in range(n)}
        for i, src in enumerate(self.sources):
            if not src:
                raise GraphError(f"row {i} reads nothing")
            for s in src:
                if s < INPUT or s >= i:
                    raise GraphError(f"row {i}: source {s} is not an earlier row")
                self.last_use[s] = max(self.last_use.get(s, i), i)
        #: freed_after[i]: tensors no later step needs once step i is done
        self.freed_after: list[tuple[int, ...]] = [() for _ in range(n)]
        by_step: dict[int, list[int]] = {}
        for t, last in self.last_use.items():
            if t != n - 1:
                by_step.setdefault(last, []).append(t)
        for step, tensors in by_step.items():
            self.freed_after[step] = tuple(sorted(tensors))

    def __len__(self) -> int:
        return len(self.sources)

    def alive(self, step: int) -> tuple[int, ...]:
        """The tensors alive while row ``step`` runs: its inputs, its output and
        every tensor a later row still needs. One step's answer (it looks at
        every earlier tensor): to walk every step, use :meth:`sweep`."""
        return tuple(t for t in range(INPUT, step + 1) if t in self.last_use and self.last_use[t] >= step)

    def sweep(self, sizes: Sequence[int], input_size: int, listed: int):
        """For each step in order: (the first ``listed`` alive tensors, how many
        are alive, their total size), in one pass whose work is the rows plus
        the listed tensors (not every earlier tensor at every step: a
        20,000-row chain is linear, a concat of 20,000 branches too).
        ``sizes[i]``: row i's output size; ``input_size``: the network input's."""
        live: dict[int, None] = {INPUT: None} if INPUT in self.last_use else {}
        total = input_size if live else 0
        for i in range(len(self.sources)):
            live[i] = None
            total += sizes[i]
            first = tuple(t for t, _ in zip(live, range(listed)))
            yield first, len(live), total
            for t in self.freed_after[i]:
                del live[t]
                total -= input_size if t == INPUT else sizes[t]

    def run(self, call: Callable[[int, list], object], x, after: Callable[[int], None] | None = None):
        """Execute the rows in order: ``call(i, inputs)`` gives row i's output from
        its sources' outputs (``x`` is the network input); tensors are dropped as
        soon as no later row reads them; ``after(i)`` runs after each row.
        Returns the last row's output."""
        outs = {INPUT: x}
        y = x
        for i, src in enumerate(self.sources):
            y = call(i, [outs[s] for s in src])
            outs[i] = y
            for t in self.freed_after[i]:
                outs.pop(t, None)
            if after is not None:
                after(i)
        return y
