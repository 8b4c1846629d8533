"""Rows of two cost tables of the same model, matched by module path.

Two counts of one model can cut it into rows differently: a spec's row ``dw6``
is one layer with its batch norm and ReLU, while the same network exported to
ONNX (or built in torch) has modules ``dw6.conv``, ``dw6.bn``, ``dw6.act``.
:func:`roll_up` sums the finer table's rows into the coarser table's row names
(each row goes to the longest name that is its own or a dotted prefix of it),
so that the two can be compared row by row with ``==``. Pure Python.
"""

from __future__ import annotations

FIELDS = ("mult_adds", "weights", "biases", "norm")


def covering_key(name: str, keys: set[str]) -> str | None:
    probe = name
    while True:
        if probe in keys:
            return probe
        if "." not in probe:
            return "(model)" if "(model)" in keys else None
        probe = probe.rpartition(".")[0]


def roll_up(rows, keys) -> dict[str, tuple[int, ...]]:
    """``rows`` (LayerRow-like) summed into ``keys``: name -> (mult_adds, weights,
    biases, norm). A row under no key is kept under its own name."""
    keys = set(keys)
    out: dict[str, list[int]] = {}
    for r in rows:
        key = covering_key(r.name, keys) or r.name
        acc = out.setdefault(key, [0] * len(FIELDS))
        for i, f in enumerate(FIELDS):
            acc[i] += getattr(r, f)
    return {k: tuple(v) for k, v in out.items()}


def differences(coarse, fine, names: dict[str, str] | None = None) -> list[tuple[str, tuple, tuple]]:
    """Rows where ``fine`` rolled up into ``coarse``'s names differs from
    ``coarse``: (name, coarse's counts, fine's counts); rows that cost nothing on
    both sides are not compared. Empty: equal row by row. ``names``: coarse row
    name -> the name to compare it under (a written spec's rows -> the modules
    they came from; '' is the top level)."""
    zero = (0,) * len(FIELDS)
    mine = {}
    for r in coarse.layers:
        key = (names.get(r.name, r.name) if names else r.name) or "(model)"
        counts = tuple(getattr(r, f) for f in FIELDS)
        mine[key] = tuple(a + b for a, b in zip(mine.get(key, zero), counts))
    theirs = roll_up(fine.layers, mine)
    return [(k, mine.get(k, zero), theirs.get(k, zero)) for k in sorted(set(mine) | set(theirs))
            if mine.get(k, zero) != theirs.get(k, zero)]
