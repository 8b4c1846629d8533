"""Configurations that fit a budget, best accuracy first (``mbcost pick``).

Costs come from :func:`mbcost.results.sweep_grid.sweep` (exact, the paper's convention: conv
and FC Mult-Adds, weights only). Accuracy is the ImageNet top-1/top-5 of the 16
released MobileNet v1 checkpoints (tables/published/checkpoints.csv), or is
interpolated from them, never extrapolated:

* a published configuration: its published accuracy;
* a published width (alpha 1, 0.75, 0.5, 0.25) at another resolution between
  two published ones: log-linear in Mult-Adds between the two nearest published
  resolutions, ``acc = acc0 + (acc1 - acc0) * ln(M / M0) / ln(M1 / M0)``, with
  M, M0, M1 the computed Mult-Adds of the configuration and of the two published
  ones (the paper, Figure 4: accuracy is about log-linear in Mult-Adds);
* a width between two published widths: first the rule above at each of the two
  nearest published widths (at the configuration's resolution), then the same
  log-linear rule across the two widths, in the Mult-Adds at that resolution;
* anything else (alpha outside 0.25-1, resolution outside 128-224, a model other
  than the shipped mobilenet_v1): no accuracy. Such configurations are listed
  after all those with one, largest Mult-Adds first, and a note says why.

Mult-Adds never decrease with alpha or with the resolution, so every
interpolated value lies between the published values it comes from.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from mbcost.errors import MbcostError
from mbcost.attachments.roofline import number
from mbcost.numbers import MAX_REAL_CHARS, shown
from mbcost.results.frames import Framed
from mbcost.core.conventions import alpha_number, fmt_alpha
from mbcost.results.sweep_grid import parse_grid

#: The grid ``pick`` searches by default: 16 widths x 7 resolutions (112
#: configurations), which holds the 16 published ones.
DEFAULT_ALPHAS = "0.25:1:0.05"
DEFAULT_RESOLUTIONS = "128:224:16"

_SUFFIX = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9}
_BUDGET = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*([KMG]?)$", re.IGNORECASE)


def parse_budget(value, what: str = "budget") -> int:
    """``150M`` -> 150,000,000; ``2.5K`` -> 2,500; ``1G``; a plain whole number.
    Suffixes K, M, G are powers of 1000. The result must be a positive whole number."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = Fraction(value)
    else:
        text = str(value).strip().replace("_", "")
        match = _BUDGET.match(text) if len(text) <= MAX_REAL_CHARS else None
        if not match:
            raise MbcostError(f"{what} must be a count like 150M, 2.5M, 1G or 150000000 "
                              f"(suffixes K, M, G; at most {MAX_REAL_CHARS} characters), got {shown(value)}")
        number = Fraction(match.group(1)) * _SUFFIX[match.group(2).upper()]
    if number.denominator != 1 or number <= 0:
        raise MbcostError(f"{what} must be a positive whole number, got '{value}'")
    return int(number)


@dataclass(frozen=True)
class Estimate:
    """An accuracy: ``kind`` is published, interpolated or none; ``how`` says
    from what (short, for a table cell)."""

    top1: float | None
    top5: float | None
    kind: str
    how: str


@dataclass(frozen=True)
class Candidate:
    alpha: Fraction
    resolution: int
    mult_adds: int
    params: int
    accuracy: Estimate
    latency_ms: float | None = None  # predicted (--latency), else None
    roofline_macs: Fraction | None = None  # Σ max(MACs, RP·bytes) at a ridge point (pick --ridge), exact; else None

    def cost(self, ridge) -> int | Fraction:
        """What the budget applies to: the roofline cost with a ridge point, else the Mult-Adds."""
        return self.mult_adds if ridge is None else self.roofline_macs


_TIME = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|us|µs)?$", re.IGNORECASE)


def parse_time(value, what: str = "--max-latency") -> float:
    """``5ms`` -> 0.005 (seconds); ``0.5s``; ``800us``; a bare number is milliseconds."""
    text = str(value).strip()
    match = _TIME.match(text) if len(text) <= MAX_REAL_CHARS else None
    if not match or not 0 < float(match.group(1)) < math.inf:
        raise MbcostError(f"{what} must be a positive time like 5ms, 0.5s or 800us, got {shown(value)}")
    unit = (match.group(2) or "ms").lower()
    return float(match.group(1)) * {"ms": 1e-3, "s": 1.0, "us": 1e-6, "µs": 1e-6}[unit]


def _loglinear(m: int, m0: int, m1: int, v0: float, v1: float) -> float:
    if m0 == m1:  # cannot happen for distinct published points of MobileNet; stay in between
        return (v0 + v1) / 2
    return v0 + (v1 - v0) * math.log(m / m0) / math.log(m1 / m0)


def _bracket(values: list, x):
    """The nearest values below and above x (x strictly between the extremes)."""
    below = max(v for v in values if v < x)
    above = min(v for v in values if v > x)
    return below, above


class AccuracyModel:
    """Published points (alpha, res) -> (top1, top5) and the Mult-Adds of any
    configuration (``madds(alpha, res)``): :meth:`estimate` applies the rule in
    this module's docstring."""

    def __init__(self, points: dict, madds) -> None:
        self.points = points
        self.madds = madds
        self.widths = sorted({a for a, _ in points})
        self.res_of = {a: sorted(r for b, r in points if b == a) for a in self.widths}
        all_res = sorted({r for _, r in points})
        self.range_text = (f"alpha {fmt_alpha(self.widths[0])}-{fmt_alpha(self.widths[-1])}, "
                           f"{all_res[0]}-{all_res[-1]} px") if points else ""

    def needed(self) -> tuple[list, list]:
        """Widths and resolutions whose Mult-Adds the estimates use."""
        return self.widths, sorted({r for _, r in self.points})

    def _along_resolution(self, alpha: Fraction, res: int):
        """(top1, top5, resolution bracket or None) at a published width, or None."""
        if (alpha, res) in self.points:
            return (*self.points[(alpha, res)], None)
        known = self.res_of[alpha]
        if not known[0] < res < known[-1]:
            return None
        r0, r1 = _bracket(known, res)
        m, m0, m1 = self.madds(alpha, res), self.madds(alpha, r0), self.madds(alpha, r1)
        (a0, b0), (a1, b1) = self.points[(alpha, r0)], self.points[(alpha, r1)]
        return _loglinear(m, m0, m1, a0, a1), _loglinear(m, m0, m1, b0, b1), (r0, r1)

    def estimate(self, alpha, res: int) -> Estimate:
        alpha = alpha if isinstance(alpha, Fraction) else Fraction(str(alpha))
        outside = Estimate(None, None, "none", f"outside the published range ({self.range_text}): not extrapolated")
        if not self.points:
            return Estimate(None, None, "none", "no published accuracy for this model")
        if (alpha, res) in self.points:
            top1, top5 = self.points[(alpha, res)]
            return Estimate(top1, top5, "published", "published")
        if alpha in self.res_of:
            got = self._along_resolution(alpha, res)
            if got is None:
                return outside
            top1, top5, (r0, r1) = got
            return Estimate(top1, top5, "interpolated", f"log-linear in Mult-Adds, {r0}-{r1} px")
        if not self.widths[0] < alpha < self.widths[-1]:
            return outside
        w0, w1 = _bracket(self.widths, alpha)
        low, high = self._along_resolution(w0, res), self._along_resolution(w1, res)
        if low is None or high is None:
            return outside
        m, m0, m1 = self.madds(alpha, res), self.madds(w0, res), self.madds(w1, res)
        top1 = _loglinear(m, m0, m1, low[0], high[0])
        top5 = _loglinear(m, m0, m1, low[1], high[1])
        brackets = {b for b in (low[2], high[2]) if b}
        via = f", each {'/'.join(f'{a}-{b}' for a, b in sorted(brackets))} px" if brackets else ""
        return Estimate(top1, top5, "interpolated",
                        f"log-linear in Mult-Adds, alpha {fmt_alpha(w0)}-{fmt_alpha(w1)}{via}")


@dataclass(repr=False)
class PickResult(Framed):
    model: str
    max_mult_adds: int
    max_params: int | None
    alphas: list[Fraction]
    resolutions: list[int]
    considered: int
    fits: list[Candidate]  # ranked, best first
    source: str  # where the published accuracy comes from ("" for none)
    range_text: str
    max_latency_ms: float | None = None
    calibration: object = None  # the latency Calibration, when latency is predicted
    mult_adds_limited: bool = True  # False: only a latency budget was given (max_mult_adds is then the largest)
    ridge: Fraction | None = None  # the ridge point when the budget is the roofline cost (pick --ridge)

    def records(self) -> list[dict]:
        """Every configuration that fits, ranked."""
        return [{"rank": i, "alpha": float(c.alpha), "resolution": c.resolution, "mult_adds": c.mult_adds,
                 "params": c.params, **({"roofline_macs": number(c.roofline_macs)} if self.ridge is not None else {}),
                 "top1": c.accuracy.top1, "top5": c.accuracy.top5, "accuracy": c.accuracy.kind,
                 **({"latency_ms": c.latency_ms} if self.calibration is not None else {})}
                for i, c in enumerate(self.fits, 1)]

    def describe(self) -> str:
        return f"{self.model} within {self.max_mult_adds:,} {self.budget_unit()}"

    def budget_unit(self) -> str:
        """What the Mult-Adds budget counts (``pick --all`` words it the same way)."""
        return _unit(self.ridge)

    def to_dict(self, top: int | None = None) -> dict:
        shown = self.fits if not top else self.fits[:top]

        def acc(value):
            return None if value is None else round(value, 4)

        return {
            "model": self.model,
            "budget": {"max_mult_adds": self.max_mult_adds if self.mult_adds_limited else None,
                       "max_params": self.max_params,
                       "max_latency_ms": self.max_latency_ms,
                       **({"ridge_point": float(self.ridge), "budget_is": "roofline_macs"}
                          if self.ridge is not None else {})},
            "latency_from": getattr(self.calibration, "source", None),
            "counted": ["conv", "fc"],
            "params_convention": "weights",
            "alphas": [alpha_number(a) for a in self.alphas],
            "resolutions": list(self.resolutions),
            "considered": self.considered,
            "fit": len(self.fits),
            "shown": len(shown),
            "accuracy_source": self.source or None,
            "interpolation": INTERPOLATION_RULE,
            "candidates": [
                {"rank": i, "alpha": alpha_number(c.alpha), "resolution": c.resolution, "mult_adds": c.mult_adds,
                 "params": c.params, **({"roofline_macs": number(c.roofline_macs)} if self.ridge is not None else {}),
                 "top1": acc(c.accuracy.top1), "top5": acc(c.accuracy.top5),
                 "accuracy": c.accuracy.kind, "how": c.accuracy.how, "latency_ms": c.latency_ms}
                for i, c in enumerate(shown, start=1)
            ],
        }


INTERPOLATION_RULE = (
    "published where a configuration is a released checkpoint; at a published width, log-linear in Mult-Adds "
    "between the two nearest published resolutions: acc0 + (acc1 - acc0) * ln(M/M0) / ln(M1/M0), M the computed "
    "Mult-Adds; between published widths, that value at the two nearest widths, then the same rule across them at "
    "the configuration's resolution; outside the published widths and resolutions, none (never extrapolated)"
)


def _rank_key(ridge):
    """Best accuracy first, ties by the budgeted cost (the roofline cost with a ridge point)."""
    def key(c: Candidate):
        if c.accuracy.top1 is not None:
            return (0, -c.accuracy.top1, c.cost(ridge), c.mult_adds, c.params, -c.alpha, -c.resolution)
        return (1, -c.cost(ridge), -c.mult_adds, c.params, -c.alpha, -c.resolution)
    return key


def pick(max_mult_adds=None, max_params=None, *, model="mobilenet_v1", alphas=None, resolutions=None,
         max_latency=None, latency=None, ridge=None, bytes_per_element=None) -> PickResult:
    """The configurations of the grid (default :data:`DEFAULT_ALPHAS` ×
    :data:`DEFAULT_RESOLUTIONS`) with at most ``max_mult_adds`` Mult-Adds (and
    ``max_params`` parameters; and ``max_latency`` predicted by the calibration
    ``latency``, a :class:`mbcost.attachments.latency.Calibration`), best accuracy first.
    Budgets: ints or strings with K, M, G suffixes; a time like ``5ms``.
    ``ridge`` (MACs per byte): each configuration carries its roofline cost at that
    ridge point (``roofline_macs``, Σ max(MACs, RP·bytes) at ``bytes_per_element``,
    1 by default: :mod:`mbcost.attachments.roofline`), and ``max_mult_adds`` budgets
    it instead of the Mult-Adds (as ``pick --all --ridge``); accuracy is still
    interpolated in Mult-Adds.
    MbcostError when nothing fits, naming the cheapest."""
    if max_mult_adds is None and max_latency is None:
        raise MbcostError("give a budget: --max-madds, or --max-latency with --latency FILE")
    if max_latency is not None and latency is None:
        raise MbcostError("--max-latency needs --latency FILE (a calibration made by mbcost calibrate)")
    from mbcost.results.sweep_grid import checkpoint_rows, is_builtin_mobilenet, sweep
    from mbcost.results.zoo import load_network

    max_seconds = None if max_latency is None else (
        max_latency if isinstance(max_latency, float) else parse_time(max_latency))
    unlimited = max_mult_adds is None
    max_mult_adds = None if unlimited else parse_budget(max_mult_adds, "the Mult-Adds budget")
    max_params = None if max_params is None else parse_budget(max_params, "the parameter budget")
    network = load_network(model)
    grid_alphas = parse_grid(DEFAULT_ALPHAS if alphas is None else alphas, "alpha")
    grid_res = parse_grid(DEFAULT_RESOLUTIONS if resolutions is None else resolutions, "resolution")
    points, source = {}, ""
    if is_builtin_mobilenet(network):
        rows = checkpoint_rows()
        points = {key: (row["top1"], row["top5"]) for key, row in rows.items()}
        source = "; ".join(sorted({row["source"] for row in rows.values()})) + "; tables/published/checkpoints.csv"
    extra_a = sorted({a for a, _ in points})
    extra_r = sorted({r for _, r in points})
    costs = sweep(network, sorted(set(grid_alphas) | set(extra_a), reverse=True),
                  sorted(set(grid_res) | set(extra_r), reverse=True))
    a_index = {a: i for i, a in enumerate(costs.alphas)}
    r_index = {r: j for j, r in enumerate(costs.resolutions)}
    madds_table, params_table = costs.mult_adds.tolist(), costs.params.tolist()

    def madds(alpha, res) -> int:
        return madds_table[a_index[alpha]][r_index[res]]

    model_acc = AccuracyModel(points, madds)
    everything = [Candidate(a, r, madds(a, r), params_table[a_index[a]][r_index[r]], model_acc.estimate(a, r))
                  for a in grid_alphas for r in grid_res]
    if ridge is not None:
        ridge = Fraction(ridge)
        everything = _with_roofline(network, everything, ridge, bytes_per_element)
    fits = [c for c in everything
            if (unlimited or c.cost(ridge) <= max_mult_adds) and (max_params is None or c.params <= max_params)]
    if latency is not None:
        fits = [_with_latency(network, c, latency) for c in fits]
        if max_seconds is not None:
            fits = [c for c in fits if c.latency_ms <= 1e3 * max_seconds]
    if not fits:
        if max_seconds is not None:
            raise MbcostError(f"nothing fits {1e3 * max_seconds:g} ms predicted on {latency.machine} ({latency.runtime}, "
                              f"{latency.threads} thread(s)) among the {len(everything)} configurations searched"
                              + ("" if unlimited else f" within {max_mult_adds:,} {_unit(ridge)}"))
        raise MbcostError(_nothing_fits(everything, max_mult_adds, max_params, ridge))
    fits.sort(key=_rank_key(ridge))
    total_budget = max_mult_adds if not unlimited else max(c.cost(ridge) for c in everything)
    return PickResult(network.name, total_budget, max_params, grid_alphas, grid_res, len(everything), fits,
                      source, model_acc.range_text, None if max_seconds is None else 1e3 * max_seconds, latency,
                      not unlimited, ridge)


def _unit(ridge) -> str:
    return "Mult-Adds" if ridge is None else f"MACs of roofline cost at ridge point {float(ridge):g}"


def _with_roofline(network, candidates: list[Candidate], ridge: Fraction, bytes_per_element) -> list[Candidate]:
    """Each configuration with its roofline cost at ``ridge``: one analysis each (the
    roofline needs every row's bytes, which the vectorized sweep does not keep)."""
    from dataclasses import replace

    from mbcost.attachments.roofline import DEFAULT_BYTES_PER_ELEMENT, roofline_macs, roofline_rows
    from mbcost.core.network import Config
    from mbcost.results.tables import Analysis

    size = DEFAULT_BYTES_PER_ELEMENT if bytes_per_element is None else bytes_per_element
    out = []
    for c in candidates:
        config = Config.make(alpha=c.alpha, resolution=c.resolution)
        rows = roofline_rows(Analysis(network, config, network.evaluate(config)), size)
        out.append(replace(c, roofline_macs=roofline_macs(rows, ridge)))
    return out


def _with_latency(network, c: Candidate, calibration) -> Candidate:
    from dataclasses import replace

    from mbcost.attachments.latency import network_ms
    from mbcost.core.network import Config

    return replace(c, latency_ms=network_ms(network, Config.make(alpha=c.alpha, resolution=c.resolution),
                                            calibration))


def _nothing_fits(everything: list[Candidate], max_mult_adds: int, max_params: int | None, ridge=None) -> str:
    budget = f"{max_mult_adds:,} {_unit(ridge)}" + ("" if max_params is None else f" and {max_params:,} params")
    cheapest = min(everything, key=lambda c: (c.cost(ridge), c.params))
    cost = "" if ridge is None else f"{round(cheapest.roofline_macs):,} MACs of roofline cost, "
    text = (f"nothing fits {budget} among the {len(everything)} configurations searched: the cheapest is "
            f"alpha {fmt_alpha(cheapest.alpha)} at {cheapest.resolution} px at {cost}{cheapest.mult_adds:,} Mult-Adds "
            f"({cheapest.params:,} params)")
    if max_params is not None:
        smallest = min(everything, key=lambda c: (c.params, c.mult_adds))
        if smallest.params > max_params and smallest.params < cheapest.params:
            text += f"; the fewest params: alpha {fmt_alpha(smallest.alpha)}, {smallest.params:,}"
    return text
