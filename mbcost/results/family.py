"""The paper's descendants side by side: every configuration of every family
in the zoo that has a published ImageNet top-1, with its cost computed by
mbcost (``mbcost pick --all``, ``mbcost plot tradeoff --all``, the report's
"The family" section).

The points (:func:`family_points`), one per published configuration:

* MobileNet v1: the 16 released checkpoints (tables/published/checkpoints.csv);
* MobileNetV2: the 22 released checkpoints (mobilenet_v2_checkpoints.csv);
* MobileNetV3, EfficientNet B0-B7, MnasNet, ShuffleNetV2, ResNet, and
  torchvision's AlexNet and GoogLeNet: torchvision's IMAGENET1K_V1 weights
  (torchvision.csv), at the weights' evaluation crop. (ResNet's V2 weights,
  a newer training recipe for the same network, are in the table but not
  here: one recipe per family.)
* MobileNetV4 Conv-S/M/L and Hybrid-M/L: timm's ImageNet-1K weights at their
  resolutions (timm_models.csv; the zoo follows timm's code, whose counts the
  paper's table does not match).

Costs: Mult-Adds of conv + fc and weights, the paper's conventions, for every
family alike. Accuracy is only ever a published figure, except inside
MobileNet v1's published grid, where ``pick`` interpolates as it always has
(:mod:`mbcost.results.pick`); no family's accuracy is carried outside its published
points.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from mbcost.core.conventions import fmt_alpha
from mbcost.errors import MbcostError
from mbcost.results.frames import Framed

#: Zoo name prefix -> the family's name (the first prefix that matches).
FAMILIES = (("mobilenet_v1", "MobileNet v1"), ("mobilenet_v2", "MobileNetV2"), ("mobilenet_v3", "MobileNetV3"),
            ("mobilenet_v4", "MobileNetV4"), ("efficientnet", "EfficientNet"), ("mnasnet", "MnasNet"), ("shufflenet_v2", "ShuffleNetV2"),
            ("resnet", "ResNet"), ("alexnet", "AlexNet"), ("googlenet", "GoogLeNet"))
#: The weights whose top-1 stands for a torchvision architecture (its original recipe).
WEIGHTS = "IMAGENET1K_V1"


def family_of(model: str) -> str:
    for prefix, name in FAMILIES:
        if model.startswith(prefix):
            return name
    return model


@dataclass(frozen=True)
class FamilyPoint:
    """One published configuration with its computed cost."""

    family: str
    model: str
    label: str  # short, for a figure: "1.0-224", "B3", "x1_5", "50"
    alpha: Fraction
    resolution: int
    mult_adds: int  # conv + fc, computed
    params: int  # weights, computed
    top1: float
    top5: float | None
    accuracy: str  # "published" (or "interpolated": MobileNet v1's grid, in pick only)
    source: str
    latency_ms: float | None = None  # predicted (a latency calibration), else None
    roofline_macs: Fraction | None = None  # Σ max(MACs, RP·bytes) at a ridge point (pick --ridge), exact; else None
    #: the latencies its paper measured on devices, at the configuration it measured
    #: (:func:`~mbcost.results.published.device_latencies`), else None
    published_latency: dict | None = None


def _short(model: str) -> str:
    """A point's label in a figure: B3, x1.5, 0.75, large, 50."""
    for prefix in ("efficientnet_", "shufflenet_v2_", "mobilenet_v3_", "mobilenet_v4_", "resnet", "mnasnet"):
        if model.startswith(prefix):
            rest = model[len(prefix):]
            if prefix == "mobilenet_v4_":  # conv_medium -> Conv-M, as the paper names them
                kind, size = rest.split("_")
                return f"{kind.capitalize()}-{size[0].upper()}"
            return rest.upper() if prefix == "efficientnet_" else rest.replace("_", ".")
    return model.replace("_torchvision", "")


def family_points() -> list[FamilyPoint]:
    """Every published configuration of the families, cheapest first within each family."""
    from mbcost.results.analysis import analyze
    from mbcost.results.published import device_latencies, load_published

    points = []
    for table, model, source in (("checkpoints", "mobilenet_v1", "TF-Slim checkpoints (checkpoints.csv)"),
                                 ("mobilenet_v2_checkpoints", "mobilenet_v2",
                                  "TF-Slim checkpoints (mobilenet_v2_checkpoints.csv)")):
        for row in load_published(table):
            a = analyze(model, alpha=row["alpha"], resolution=row["resolution"])
            alpha = Fraction(str(row["alpha"]))
            points.append(FamilyPoint(family_of(model), model, f"{fmt_alpha(alpha)}-{row['resolution']}", alpha,
                                      row["resolution"], a.total.mult_adds, a.total.weights, row["top1"], row["top5"],
                                      "published", source))
    for row in load_published("torchvision"):
        if not row["weights"].endswith(WEIGHTS):
            continue
        a = analyze(row["model"], resolution=row["resolution"])
        points.append(FamilyPoint(family_of(row["model"]), row["model"], _short(row["model"]), Fraction(1),
                                  row["resolution"], a.total.mult_adds, a.total.weights, row["acc1"], row["acc5"],
                                  "published", f"torchvision {row['weights']} (torchvision.csv)",
                                  published_latency=device_latencies(row["model"], 1, row["resolution"])))
    for row in load_published("timm_models"):  # MobileNetV4: the released code's weights (the zoo follows the code)
        a = analyze(row["model"], resolution=row["resolution"])
        points.append(FamilyPoint(family_of(row["model"]), row["model"], _short(row["model"]), Fraction(1),
                                  row["resolution"], a.total.mult_adds, a.total.weights, row["top1"], row["top5"],
                                  "published", f"timm {row['timm_name']}.{row['weights']} (timm_models.csv)",
                                  published_latency=device_latencies(row["model"], 1, row["resolution"])))
    order = {name: i for i, (_, name) in enumerate(FAMILIES)}
    return sorted(points, key=lambda p: (order.get(p.family, 99), p.mult_adds, p.params))


def pareto(points: list, cost: str = "mult_adds") -> list:
    """The points no other point beats: as accurate or more for less ``cost``."""
    best, front = None, []
    for p in sorted(points, key=lambda p: (getattr(p, cost), -p.top1)):
        if best is None or p.top1 > best:
            front.append(p)
            best = p.top1
    return front


@dataclass(repr=False)
class FamilyPick(Framed):
    """``pick --all``: every configuration of every family within the budget,
    best published (or, inside MobileNet v1's grid, interpolated) top-1 first."""

    max_mult_adds: int | None  # None: no Mult-Adds budget (a latency budget only)
    max_params: int | None
    fits: list[FamilyPoint]
    considered: int
    families: list[str]
    max_latency_ms: float | None = None
    calibration: object = None  # the latency Calibration, when latency is predicted
    ridge: object = None  # the ridge point (a Fraction) when the budget is the roofline cost (pick --ridge)

    def shown(self, top: int | None = None) -> list[FamilyPoint]:
        """The best ``top`` that fit (all of them for None or 0)."""
        return self.fits if not top else self.fits[:top]

    def records(self, top: int | None = None) -> list[dict]:
        """One row per configuration shown (:meth:`shown`); where any of them has
        published device latencies, one ``latency_ms_<device>_published`` per
        device any of them has (None where the paper gives none)."""
        from mbcost.results.comparison import latency_key
        from mbcost.results.published import latency_devices

        shown = self.shown(top)
        devices = latency_devices([p.published_latency for p in shown])
        return [{**row, **{latency_key(d): (p.published_latency or {"ms": {}})["ms"].get(d) for d in devices}}
                for row, p in zip(self._rows(shown), shown)]

    def _rows(self, shown: list[FamilyPoint]) -> list[dict]:
        from mbcost.attachments.roofline import number

        latency = self.calibration is not None
        return [{"rank": i, "family": p.family, "model": p.model, "config": p.label, "alpha": float(p.alpha),
                 "resolution": p.resolution, "mult_adds": p.mult_adds, "params": p.params,
                 **({"latency_ms": p.latency_ms} if latency else {}),
                 **({"roofline_macs": number(p.roofline_macs)} if self.ridge is not None else {}), "top1": p.top1,
                 "top5": p.top5, "accuracy": p.accuracy} for i, p in enumerate(shown, 1)]

    def describe(self) -> str:
        return "the family within " + self.budget_text()

    def budget_text(self) -> str:
        macs = "Mult-Adds" if self.ridge is None else f"MACs of roofline cost at ridge point {float(self.ridge):g}"
        parts = ([] if self.max_mult_adds is None else [f"{self.max_mult_adds:,} {macs}"]) + (
            [] if self.max_params is None else [f"{self.max_params:,} params"]) + (
            [] if self.max_latency_ms is None else [f"{self.max_latency_ms:g} ms predicted"])
        return " and ".join(parts)

    def to_dict(self, top: int | None = None) -> dict:
        shown = self.shown(top)
        from mbcost.results.published import device_latency_json

        return {"budget": {"max_mult_adds": self.max_mult_adds, "max_params": self.max_params,
                           "max_latency_ms": self.max_latency_ms,
                           **({"ridge_point": float(self.ridge), "budget_is": "roofline_macs"}
                              if self.ridge is not None else {})},
                "latency_from": getattr(self.calibration, "source", None),
                "counted": ["conv", "fc"], "params_convention": "weights", "families": self.families,
                "considered": self.considered, "fit": len(self.fits), "shown": len(shown),
                "candidates": [dict(r, source=p.source, published_latency=device_latency_json(p.published_latency))
                               for r, p in zip(self._rows(shown), shown)]}


def with_latency(points: list[FamilyPoint], calibration) -> list[FamilyPoint]:
    """The points with their predicted latency (``latency_ms``), each as
    ``table MODEL --alpha A --res R --latency FILE`` totals it."""
    from dataclasses import replace

    from mbcost.results.analysis import analyze
    from mbcost.attachments.latency import total_ms

    return [p if p.latency_ms is not None else
            replace(p, latency_ms=total_ms(analyze(p.model, alpha=p.alpha, resolution=p.resolution), calibration))
            for p in points]


def with_roofline(points: list[FamilyPoint], ridge, bytes_per_element: int = 1) -> list[FamilyPoint]:
    """The points with their roofline cost at ``ridge`` (``roofline_macs``: Σ over
    rows of max(MACs, RP·bytes), see :mod:`mbcost.attachments.roofline`)."""
    from dataclasses import replace

    from mbcost.attachments.roofline import roofline_macs, roofline_rows
    from mbcost.results.analysis import analyze

    return [replace(p, roofline_macs=roofline_macs(roofline_rows(
        analyze(p.model, alpha=p.alpha, resolution=p.resolution), bytes_per_element), ridge)) for p in points]


def pick_family(max_mult_adds=None, max_params=None, families: list[str] | None = None, *, max_latency=None,
                latency=None, ridge=None) -> FamilyPick:
    """The published configurations of every family (or of ``families``: names
    or zoo-name prefixes) within the budget, best top-1 first; MobileNet v1 adds
    the interpolated widths and resolutions of its grid, as ``pick`` ranks them.
    ``max_latency`` (``5ms``) with ``latency`` (a :class:`mbcost.attachments.latency.Calibration`):
    a budget of predicted time; ``latency`` alone adds each point's prediction.
    ``ridge`` (MACs per byte): the Mult-Adds budget is on the roofline cost at
    that ridge point instead, and each point carries it."""
    from mbcost.results.pick import parse_budget, parse_time, pick

    if max_mult_adds is None and max_latency is None:
        raise MbcostError("give a budget: --max-madds, or --max-latency with --latency FILE")
    if max_latency is not None and latency is None:
        raise MbcostError("--max-latency needs --latency FILE (a calibration made by mbcost calibrate)")
    max_mult_adds = None if max_mult_adds is None else parse_budget(max_mult_adds, "the Mult-Adds budget")
    max_params = None if max_params is None else parse_budget(max_params, "the parameter budget")
    max_seconds = None if max_latency is None else parse_time(max_latency)
    points = family_points()
    wanted = _families(families)
    points = [p for p in points if p.family in wanted]
    candidates = list(points)
    if "MobileNet v1" in wanted:
        candidates = [p for p in candidates if p.family != "MobileNet v1"]
        try:
            # with a ridge point pick budgets (and carries) the grid's roofline cost
            grid = pick(max_mult_adds, max_params, max_latency=max_seconds, latency=latency, ridge=ridge).fits
        except MbcostError:
            grid = []
        candidates += [FamilyPoint("MobileNet v1", "mobilenet_v1", f"{fmt_alpha(c.alpha)}-{c.resolution}", c.alpha,
                                   c.resolution, c.mult_adds, c.params, c.accuracy.top1, c.accuracy.top5,
                                   c.accuracy.kind, c.accuracy.how if c.accuracy.kind != "published" else
                                   "TF-Slim checkpoints (checkpoints.csv)", c.latency_ms, c.roofline_macs)
                       for c in grid if c.accuracy.top1 is not None]
    if ridge is not None:
        from fractions import Fraction

        ridge = Fraction(ridge)  # MobileNet v1's grid carries its roofline cost from pick already
        candidates = (with_roofline([p for p in candidates if p.roofline_macs is None], ridge)
                      + [p for p in candidates if p.roofline_macs is not None])
    cost = "mult_adds" if ridge is None else "roofline_macs"
    fits = [p for p in candidates if (max_mult_adds is None or getattr(p, cost) <= max_mult_adds)
            and (max_params is None or p.params <= max_params)]
    if latency is not None:
        fits = with_latency(fits, latency)
        if max_seconds is not None:
            fits = [p for p in fits if p.latency_ms <= 1e3 * max_seconds]
    if not fits:
        if max_seconds is not None:
            raise MbcostError(f"nothing in the family fits {1e3 * max_seconds:g} ms predicted on {latency.machine} "
                              f"({latency.runtime}, {latency.threads} thread(s))"
                              + ("" if max_mult_adds is None else f" within {max_mult_adds:,} Mult-Adds"))
        pool = points if ridge is None else candidates
        cheapest = min(pool, key=lambda p: getattr(p, cost))
        what = "Mult-Adds" if ridge is None else f"MACs of roofline cost at ridge point {float(ridge):g}"
        raise MbcostError(f"nothing in the family fits {max_mult_adds:,} {what}: the cheapest "
                          f"configuration is {cheapest.model} {cheapest.label} at {round(getattr(cheapest, cost)):,}")
    fits.sort(key=lambda p: (-p.top1, getattr(p, cost), p.params, p.model, -p.alpha))
    return FamilyPick(max_mult_adds, max_params, fits, len(candidates), sorted(wanted, key=_family_order),
                      None if max_seconds is None else 1e3 * max_seconds, latency, ridge)


def _family_order(name: str) -> int:
    return next((i for i, (_, n) in enumerate(FAMILIES) if n == name), 99)


def _families(names: list[str] | None) -> set[str]:
    every = {name for _, name in FAMILIES}
    if not names:
        return every
    out = set()
    for name in names:
        key = name.strip().lower().replace("-", "_").replace(" ", "_")
        match = {n for prefix, n in FAMILIES if key in (prefix, n.lower().replace(" ", "_")) or prefix.startswith(key)}
        if not match:
            raise MbcostError(f"unknown family '{name}': choose from {', '.join(n for _, n in FAMILIES)}")
        out |= match
    return out


@dataclass(frozen=True)
class PaperFigure:
    """One row of a descendant's own paper (tables/published/family_papers.csv)
    against mbcost's count of the zoo network it describes."""

    family: str
    label: str
    model: str  # "" where the zoo has no spec of it (MnasNet-A1)
    printed_mult_adds: str
    unit: str  # "M" or "G", as the paper prints it
    computed_mult_adds: float | None  # in that unit
    mult_adds_check: str
    printed_params: str
    computed_params: float | None  # millions, weights
    params_check: str
    top1: float | None
    source: str


def paper_figures() -> list[PaperFigure]:
    """Each paper figure beside the computed one, judged as ``mbcost paper``
    judges the MobileNet paper's (rounding at the printed precision, then the
    readings that fit the whole column: batch norm counted, every operation
    counted, every parameter counted)."""
    from mbcost.results.analysis import analyze
    from mbcost.results.paper import Check, Reading, judge
    from mbcost.results.published import load_published

    rows, checks = [], {}
    for row in load_published("family_papers"):
        text = row["_text"]
        unit = row["mult_adds_unit"].split()[0]
        scale = Fraction(1000 if unit == "G" else 1) * 10**6
        top1 = row["top1"] if row["top1"] is not None else (
            None if row["top1_error"] is None else round(100 - row["top1_error"], 2))
        madds = params = None
        if row["model"]:
            settings = dict(alpha=row["alpha"] or 1, resolution=row["resolution"])
            a = analyze(row["model"], **settings)
            every = analyze(row["model"], count="conv,fc,bn,pool,act", params="all", **settings)
            with_bn = analyze(row["model"], count="conv,fc,bn", **settings).total.mult_adds
            madds = Check(text["mult_adds_printed"], Fraction(a.total.mult_adds) / scale, [
                Reading("batch norm counted too", Fraction(with_bn) / scale),
                Reading("every operation counted (bn, pool, activations)", Fraction(every.total.mult_adds) / scale)],
                label=row["label"], source=row["source"])
            checks.setdefault((row["family"], "madds"), []).append(madds)
            if text["params_millions"]:
                params = Check(text["params_millions"], Fraction(a.total.weights, 10**6), [
                    Reading("every parameter (biases, batch norm: --params all)",
                            Fraction(every.total.params, 10**6))], label=row["label"], source=row["source"])
                checks.setdefault((row["family"], "params"), []).append(params)
        rows.append((row, unit, top1, madds, params))
    for column in checks.values():
        judge(column)
    return [PaperFigure(row["family"], row["label"], row["model"] or "", row["_text"]["mult_adds_printed"], unit,
                        None if m is None else m.computed, "no spec in the zoo" if m is None else m.verdict(),
                        row["_text"]["params_millions"], None if p is None else p.computed,
                        "" if p is None else p.verdict(), top1, row["source"])
            for row, unit, top1, m, p in rows]
