"""A calibration with round coefficients, for tests that predict by hand (no timing)."""

from __future__ import annotations

import copy
import json

from mbcost.attachments.latency import Calibration
from mbcost.attachments.latency_ops import KIND_FEATURES

#: 10 µs per call of every kind, 0.1 ns per Mult-Add, 0.01 ns per element
COEF = {kind: {"calls": 1e-5, **({"mult_adds": 1e-10} if "mult_adds" in features else {}),
               **({"elements": 1e-11} if "elements" in features else {})}
        for kind, features in KIND_FEATURES.items()}


def toy(coef=None, **changes) -> Calibration:
    fields = dict(machine="test CPU", runtime="torch", threads=1, versions={"torch": "x"},
                  coef=copy.deepcopy(coef or COEF), created="2026-11-22", source="machine.json")
    fields.update(changes)
    return Calibration(**fields)


def write_toy(tmp_path, name: str = "machine.json", coef=None, **changes):
    """The toy calibration written as a file (top-level fields of its JSON replaced by ``changes``)."""
    data = toy(coef).to_dict()
    data.update(changes)
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path
