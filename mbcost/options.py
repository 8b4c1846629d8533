"""The range of every option a command takes, in one place, checked before any
work (issue 22). Each validator returns the value or raises one
:class:`~mbcost.errors.MbcostError` line naming the option, its range and what
was given. Numbers written as text go through :mod:`mbcost.numbers`.

| option | range |
|---|---|
| ``--threads`` | 1 to this machine's CPU count |
| ``--budget`` | finite, positive seconds, at most a day (profile: 0 too, the fewest repetitions) |
| ``--min-reps`` | 1 to 10,000 (``--warmup``: 0 to 10,000) |
| ``--batch`` | 1 to 65,536 |
| ``--alpha``, ``--rho``, ``--depth-mult`` | finite, positive, at most 10^300 (counts stay exact); ``--depth-mult`` at most 100 (``core.network.MAX_DEPTH_MULT``) |
| figures' ``--alpha`` | at most 1,000: every count of a drawn network stays a float |
| ``--size`` | 3 to 60 inches each side (``figures.plot_style``); a size too small for a figure's text is refused |
| ``--torch`` | at most 1,000 characters, literal arguments (``adapters.torch_model.parse_target``) |
"""

from __future__ import annotations

import math
import os
from fractions import Fraction

from mbcost.errors import MbcostError
from mbcost.numbers import MAX_SCALE, NumberError, real

MAX_BUDGET_S = 24 * 3600.0
MAX_REPS = 10_000
MAX_WARMUP = 10_000
MAX_BATCH = 65_536
#: The widest alpha a figure draws: its counts (up to alpha² times the spec's)
#: are plotted as floats, and a network 1,000 times wider than its spec is
#: already far past any other point on the axes.
MAX_DRAWN_ALPHA = 1000


def cpu_count() -> int:
    return os.cpu_count() or 1


def threads(value: int | None, option: str = "--threads") -> int | None:
    """1 to the CPU count (None: the runtime's own choice)."""
    if value is None:
        return None
    cpus = cpu_count()
    if not 1 <= value <= cpus:
        raise MbcostError(f"{option} must be 1 to {cpus} (this machine's CPUs), got {_int(value)}")
    return value


def budget(value: float | None, option: str = "--budget", zero: bool = False) -> float | None:
    """Finite, positive seconds, at most a day (None: the command's default;
    ``zero``: 0 is allowed too, profile's "the fewest repetitions only")."""
    if value is None:
        return None
    low = 0 <= value if zero else 0 < value
    if not (isinstance(value, (int, float)) and math.isfinite(value) and low and value <= MAX_BUDGET_S):
        raise MbcostError(f"{option} must be a number of seconds {'from 0' if zero else 'above 0'} to"
                          f" {MAX_BUDGET_S:,.0f} (a day), got {value:g}")
    return float(value)


def count(value: int, option: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``."""
    if not low <= value <= high:
        raise MbcostError(f"{option} must be {low:,} to {high:,}, got {_int(value)}")
    return value


def repetitions(value: int, option: str = "--min-reps") -> int:
    return count(value, option, 1, MAX_REPS)


def warmup(value: int, option: str = "--warmup") -> int:
    return count(value, option, 0, MAX_WARMUP)


def batch(value: int, option: str = "--batch") -> int:
    return count(value, option, 1, MAX_BATCH)


def scale(value, option: str, high=MAX_SCALE) -> Fraction:
    """A width, resolution or depth multiplier: finite, positive, at most
    ``high``; returned exact ("0.75" -> 3/4)."""
    try:
        return real(value, option, low=0, low_open=True, high=high)
    except NumberError as exc:
        raise MbcostError(str(exc)) from None


def drawn_alpha(value, option: str = "--alpha") -> Fraction | None:
    """A figure's alpha: positive, at most MAX_DRAWN_ALPHA."""
    return None if value is None else scale(value, option, high=MAX_DRAWN_ALPHA)


def _int(value: int) -> str:
    return f"{value:,}" if abs(value) < 10**30 else f"a {len(str(abs(value)))}-digit number"
