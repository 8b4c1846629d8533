"""The tradeoff figure's data: the released MobileNet checkpoints and the
reference networks, each with published top-1 and COMPUTED cost, and the Pareto
frontier. No matplotlib."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from mbcost.errors import MbcostError
from mbcost.figures.plot_style import alpha_text

REFERENCE_MODELS = ("vgg16", "googlenet", "alexnet", "squeezenet", "inception_v3")



@dataclass(frozen=True)
class TradeoffPoint:
    """One network in the tradeoff figure: published top-1, computed cost."""

    label: str
    model: str
    alpha: Fraction
    resolution: int
    top1: float
    top5: float | None
    mult_adds: int
    params: int
    published_mult_adds_millions: float
    published_params_millions: float
    source: str
    reference: bool  # True: another network of the zoo, not a MobileNet checkpoint
    latency_ms: float | None = None  # predicted from a calibration (with_latency), else None

    def cost(self, what: str):
        """``madds``, ``params`` (integers) or ``latency`` (predicted ms)."""
        if what == "latency":
            return self.latency_ms
        return self.mult_adds if what == "madds" else self.params

    def x(self, what: str) -> float:
        """The point's x in a figure: millions of Mult-Adds or parameters, or ms."""
        return self.latency_ms if what == "latency" else self.cost(what) / 1e6


@dataclass
class TradeoffData:
    checkpoints: list[TradeoffPoint]
    references: list[TradeoffPoint]
    skipped: list[str]  # reference networks left out, with the reason
    counted: str  # the analyses' counting convention, in words
    params_text: str

    def with_latency(self, calibration) -> TradeoffData:
        """The same points, each with its predicted latency (as ``table --latency`` totals it)."""
        from dataclasses import replace

        from mbcost.results.analysis import analyze
        from mbcost.attachments.latency import total_ms

        def timed(p: TradeoffPoint) -> TradeoffPoint:
            return replace(p, latency_ms=total_ms(analyze(p.model, alpha=p.alpha, resolution=p.resolution),
                                                  calibration))

        return replace(self, checkpoints=[timed(p) for p in self.checkpoints],
                       references=[timed(p) for p in self.references])

    def frontier(self, what: str) -> list[TradeoffPoint]:
        """The checkpoints on the Pareto frontier against ``madds``, ``params`` or ``latency``."""
        return pareto_frontier(self.checkpoints, key=lambda p: (p.cost(what), p.top1))


def pareto_frontier(items, key=lambda item: (item[0], item[1])) -> list:
    """The items no other item dominates, cheapest first. ``key(item)`` gives
    (cost, accuracy); one item dominates another when it costs no more, is no less
    accurate and is strictly better in one of the two. Equal items do not
    dominate each other (both stay)."""
    keyed = [(key(item), i, item) for i, item in enumerate(items)]
    front = [
        (cost, acc, i, item) for (cost, acc), i, item in keyed
        if not any(c2 <= cost and a2 >= acc and (c2 < cost or a2 > acc) for (c2, a2), _, _ in keyed)
    ]
    return [item for _, _, _, item in sorted(front, key=lambda t: (t[0], -t[1], t[2]))]


def tradeoff_data() -> TradeoffData:
    """The 16 checkpoints and the reference networks, costs computed."""
    from mbcost.results.analysis import analyze
    from mbcost.results.published import imagenet_result, load_published
    from mbcost.results.zoo import model_names

    checkpoints = []
    analysis = None
    for row in sorted(load_published("checkpoints"), key=lambda r: (-r["alpha"], -r["resolution"])):
        alpha = Fraction(str(row["alpha"]))
        analysis = analyze("mobilenet_v1", alpha=alpha, resolution=row["resolution"])
        checkpoints.append(TradeoffPoint(
            f"{alpha_text(alpha)}-{row['resolution']}", "mobilenet_v1", alpha, row["resolution"], row["top1"],
            row["top5"], analysis.total.mult_adds, analysis.total.params, row["mult_adds_millions"],
            row["params_millions"], row["source"], False))
    if analysis is None:
        raise MbcostError("tables/published/checkpoints.csv has no rows")
    zoo = set(model_names())
    references, skipped = [], []
    for name in REFERENCE_MODELS:
        if name not in zoo:
            skipped.append(f"{name} (no spec in the zoo)")
            continue
        ref = analyze(name)
        pub = imagenet_result(name, 1.0, ref.resolution, 1000, ref.resolution)
        if pub is None:
            skipped.append(f"{name} (no published ImageNet top-1 in tables/published/imagenet_models.csv)")
            continue
        references.append(TradeoffPoint(
            pub["label"], name, Fraction(1), ref.resolution, pub["top1"], None, ref.total.mult_adds,
            ref.total.params, pub["mult_adds_millions"], pub["params_millions"], pub["source"], True))
    return TradeoffData(checkpoints, references, skipped, analysis.counted_text(), analysis.params_text())
