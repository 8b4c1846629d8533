"""Figures: ``mbcost plot KIND`` and the charts of ``mbcost report``.

Four computed kinds, each a function returning a matplotlib :class:`~matplotlib.figure.Figure`:

* ``tradeoff`` (:func:`tradeoff_figure`): ImageNet top-1 against Mult-Adds (the
  paper's Figure 4) and against parameters (Figure 5), both on a log scale, as
  two panels of one figure (``against="madds"`` or ``"params"``: one panel). One
  point per released MobileNet v1 checkpoint (alpha x resolution): top-1 from
  ``tables/published/checkpoints.csv``, cost COMPUTED by :func:`mbcost.analyze`
  (not the published MACs). The Pareto frontier of the checkpoints (more
  accuracy for less cost) is a dashed line. The other networks of the zoo that
  the paper compares with (:data:`REFERENCE_MODELS`, where the zoo has their spec
  and ``imagenet_models.csv`` their top-1) are grey squares: computed cost,
  published top-1. Labels are placed by :func:`place_labels` so that none
  overlaps another label or a marker.
* ``scaling`` (:func:`scaling_figure`): a model's Mult-Adds and parameters
  against the width multiplier alpha and against the input resolution, with the
  ideal alpha² and rho² curves (scaled to the alpha = 1 and full-resolution
  values) overlaid.
* ``breakdown`` (:func:`breakdown_figure`): share of Mult-Adds and of parameters
  by layer type (the paper's Table 2 as a chart; for MobileNet at alpha 1 and
  224 the published percentages are marked too).
* ``layers`` (:func:`layers_figure`): per-layer Mult-Adds and parameters along
  the depth of a network.

``mbcost plot`` also draws the kinds of :mod:`mbcost.profile_plots` (measured:
roofline, timeshare) when that module is installed; ``mbcost report`` leaves
them out, as a measurement is not reproducible byte for byte.

The same call gives the same bytes: the Agg canvas (never pyplot, so no GUI
backend and no global figure state), matplotlib's default style whatever the
user's matplotlibrc says, fixed figure sizes and dpi, a fixed SVG hash salt and
no dates or version strings in the metadata. matplotlib is imported inside the
functions here only: ``import mbcost.plots`` stays cheap and the table commands
never load it.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from mbcost.conventions import PAPER_ALPHAS, PAPER_RESOLUTIONS
from mbcost.errors import MbcostError

KINDS = {
    "tradeoff": "ImageNet top-1 against Mult-Adds and parameters (the paper's Figures 4 and 5)",
    "scaling": "Mult-Adds and parameters against alpha and resolution, with the ideal alpha² and rho² curves",
    "breakdown": "share of Mult-Adds and parameters by layer type (the paper's Table 2)",
    "layers": "Mult-Adds and parameters of each layer along the depth of the network",
}
#: Kinds drawn from a measurement (``mbcost profile``; mbcost.profile_plots, needs torch): a new run
#: measures new numbers, so these are deterministic for a given profile only.
from mbcost.profile_plots import KINDS as MEASURED_KINDS  # noqa: E402  (no matplotlib, no torch)

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
AGAINST = ("both", "madds", "params")
#: Networks shown beside the MobileNet checkpoints in the tradeoff, when the zoo has them.
REFERENCE_MODELS = ("vgg16", "googlenet", "alexnet", "squeezenet", "inception_v3")

DPI = 100
INSTALL_HINT = "pip install 'mbcost[plot]'"

# matplotlib's default style plus these, whatever the user's matplotlibrc says.
_RC = {
    "svg.hashsalt": "mbcost",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "savefig.facecolor": "white",
}
# No dates and no version strings: the bytes depend on the data only.
_METADATA = {
    "svg": {"Date": None, "Creator": "mbcost"},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": "mbcost", "Producer": None},
    "png": {"Software": "mbcost"},
}

ALPHA_COLORS = {Fraction(1): "#1f77b4", Fraction(3, 4): "#ff7f0e", Fraction(1, 2): "#2ca02c",
                Fraction(1, 4): "#d62728"}
OTHER_COLORS = ("#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
REFERENCE_COLOR = "#6b6b6b"
MADDS_COLOR, PARAMS_COLOR, IDEAL_COLOR = "#1f77b4", "#ff7f0e", "#444444"
CATEGORY_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                   "#bcbd22", "#17becf")


# -- checks (no matplotlib needed) --------------------------------------------------

def require_matplotlib(what: str = "mbcost plot") -> None:
    """A one-line :class:`MbcostError` saying how to install matplotlib when it is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MbcostError(f"{what} needs matplotlib (not installed): {INSTALL_HINT}") from None


def check_kind(kind: str) -> str:
    key = kind.strip().lower()
    if key not in KINDS and key not in MEASURED_KINDS:
        raise MbcostError(f"unknown plot kind '{kind}': choose from {', '.join([*KINDS, *MEASURED_KINDS])}")
    return key


def output_format(path: str | Path) -> str:
    """png, svg or pdf, from the file's extension (anything else is an error)."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise MbcostError(f"unsupported file extension '{suffix or Path(path).name}' for {path}: "
                          f"use {', '.join(FORMATS)}")
    return FORMATS[suffix]


def alpha_text(alpha) -> str:
    """1 -> '1.0', 0.75 -> '0.75' (the checkpoints' own spelling)."""
    text = f"{float(alpha):g}"
    return text if "." in text or "e" in text else text + ".0"


# -- the tradeoff's data -------------------------------------------------------------

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

    def cost(self, what: str) -> int:
        return self.mult_adds if what == "madds" else self.params


@dataclass
class TradeoffData:
    checkpoints: list[TradeoffPoint]
    references: list[TradeoffPoint]
    skipped: list[str]  # reference networks left out, with the reason
    counted: str  # the analyses' counting convention, in words
    params_text: str

    def frontier(self, what: str) -> list[TradeoffPoint]:
        """The checkpoints on the Pareto frontier against ``madds`` or ``params``."""
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
    from mbcost.analysis import analyze
    from mbcost.published import imagenet_result, load
    from mbcost.zoo import model_names

    checkpoints = []
    analysis = None
    for row in sorted(load("checkpoints"), key=lambda r: (-r["alpha"], -r["resolution"])):
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


# -- rendering ------------------------------------------------------------------------

@contextlib.contextmanager
def style():
    """matplotlib's default style with mbcost's settings (figures are built and
    saved inside this, so a user's matplotlibrc changes nothing)."""
    import matplotlib
    import matplotlib.style

    with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
        yield


def new_figure(width: float, height: float, layout: str | None = None):
    """A Figure on an Agg canvas (no pyplot), at the fixed dpi."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def render(fig, fmt: str) -> bytes:
    """The figure as PNG, SVG or PDF bytes; the same figure gives the same bytes."""
    if fmt not in _METADATA:
        raise MbcostError(f"unknown figure format '{fmt}': choose from {', '.join(_METADATA)}")
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format=fmt, dpi=DPI, metadata=_METADATA[fmt])
    return buf.getvalue()


def _subtitle(fig, lines: list[str], y: float) -> None:
    fig.text(0.5, y, "\n".join(lines), ha="center", va="top", fontsize=8, color="#444444", gid="subtitle")


def _footer(fig, text: str) -> None:
    """The conventions, under a constrained-layout figure; then the layout is
    computed once and frozen (see :func:`_freeze`)."""
    fig.supxlabel(text, fontsize=8, color="#444444")
    _freeze(fig)


def _freeze(fig) -> None:
    """Run the constrained layout once and keep its result: a layout engine runs
    again at every draw and need not land on the same floats, which would change
    the clip-path ids of a later SVG. Frozen, every save gives the same bytes."""
    fig.draw_without_rendering()
    fig.set_layout_engine("none")


def _millions(value: int) -> float:
    return value / 1e6


def _log_axis(axis) -> None:
    """Log-scale ticks at 1, 2, 5 x 10^k, written as plain numbers."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


# -- labels that do not overlap ------------------------------------------------------

# (unit dx, unit dy, ha, va): right, left, above, below, then the diagonals.
_DIRECTIONS = ((1, 0, "left", "center"), (-1, 0, "right", "center"), (0, 1, "center", "bottom"),
               (0, -1, "center", "top"), (0.7, 0.7, "left", "bottom"), (0.7, -0.7, "left", "top"),
               (-0.7, 0.7, "right", "bottom"), (-0.7, -0.7, "right", "top"))
_DISTANCES = (5, 9, 14, 20, 27, 35, 44)  # points from the marker's centre
_LEADER_FROM = 14  # a thin line joins label and marker from this distance on


def _box(x0: float, y0: float, x1: float, y1: float):
    from matplotlib.transforms import Bbox

    return Bbox.from_extents(x0, y0, x1, y1)


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def place_labels(ax, items, *, markers, marker_radius: float, fontsize: float = 7.5, obstacles=()) -> list:
    """Label points without overlaps, deterministically.

    ``items``: (x, y, text, gid) in data coordinates, labelled in this order;
    ``markers``: (x, y) of every marker on the axes (labels keep off them; each
    is a square of ``marker_radius`` points around its centre); ``obstacles``:
    more display-space boxes to avoid. Each label tries, in order, the eight
    directions (right, left, above, below, diagonals) at growing distances and
    takes the first spot inside the axes that touches no marker and no label
    placed before it (1 px apart at least); far spots get a leader line. If none
    is free, it takes the first spot. The axes' limits and the figure's layout
    must be final (label positions are computed in display space).
    """
    from matplotlib.text import Text

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    area = ax.get_window_extent(renderer)
    r = marker_radius * fig.dpi / 72 + 1
    taken = list(obstacles)
    for x, y in markers:
        px, py = ax.transData.transform((x, y))
        taken.append(_box(px - r, py - r, px + r, py + r))
    placed = []
    for x, y, text, gid in items:
        ann = ax.annotate(text, (x, y), xytext=(0, 0), textcoords="offset points", fontsize=fontsize, gid=gid,
                          color="#222222", annotation_clip=False, zorder=6)
        choice = None
        for dist in _DISTANCES:
            for ux, uy, ha, va in _DIRECTIONS:
                ann.xyann = (ux * dist, uy * dist)
                ann.set_horizontalalignment(ha)
                ann.set_verticalalignment(va)
                ann.update_positions(renderer)
                bb = Text.get_window_extent(ann, renderer)
                box = _box(bb.x0 - 1, bb.y0 - 1, bb.x1 + 1, bb.y1 + 1)
                inside = area.x0 <= box.x0 and box.x1 <= area.x1 and area.y0 <= box.y0 and box.y1 <= area.y1
                if inside and not any(_overlap(box, t) for t in taken):
                    choice = (dist, ux, uy, ha, va, box)
                    break
            if choice:
                break
        if choice is None:  # crowded beyond the search: first spot, overlapping
            ux, uy, ha, va = _DIRECTIONS[0]
            choice = (_DISTANCES[0], ux, uy, ha, va, None)
        dist, ux, uy, ha, va, box = choice
        ann.remove()
        leader = {"arrowstyle": "-", "color": "#999999", "lw": 0.6, "shrinkA": 1, "shrinkB": 3}
        ann = ax.annotate(text, (x, y), xytext=(ux * dist, uy * dist), textcoords="offset points",
                          ha=ha, va=va, fontsize=fontsize, gid=gid, color="#222222", annotation_clip=False,
                          zorder=6, arrowprops=leader if dist >= _LEADER_FROM else None)
        if box is not None:
            taken.append(box)
        placed.append(ann)
    return placed


# -- tradeoff ---------------------------------------------------------------------------

_TRADEOFF_AXES = {
    "madds": ("Mult-Adds (millions, log scale)", "Accuracy against computation (cf. the paper's Figure 4)"),
    "params": ("Parameters (millions, log scale)", "Accuracy against size (cf. the paper's Figure 5)"),
}
_MARKER_SIZE = 6.0  # points (diameter)


def tradeoff_figure(against: str = "both", data: TradeoffData | None = None):
    """ImageNet top-1 against computed Mult-Adds and/or parameters."""
    if against not in AGAINST:
        raise MbcostError(f"unknown --against '{against}': choose from {', '.join(AGAINST)}")
    require_matplotlib()
    data = data or tradeoff_data()
    panels = ["madds", "params"] if against == "both" else [against]
    with style():
        width = 7.0 * len(panels) + 0.6
        fig = new_figure(width, 7.0)
        fig.subplots_adjust(left=0.6 / width, right=1 - 0.25 / width, bottom=0.16, top=0.83,
                            wspace=0.8 / 7.0)
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, what in zip(axes, panels):
            _tradeoff_panel(ax, what, data)
        fig.suptitle("MobileNet v1: ImageNet top-1 of the 16 released checkpoints against their computed cost",
                     fontsize=12, y=0.975)
        refs = (", ".join(p.label for p in data.references) + ": published top-1 (paper Tables 8-9)"
                if data.references else "no reference networks in the zoo yet")
        _subtitle(fig, [
            "cost computed by mbcost from the layer specs (not the published figures) · "
            + data.counted.replace("Mult-Adds counted for: ", "Mult-Adds: ").replace(", ", " + ")
            + " · " + data.params_text,
            "top-1: TF-Slim model zoo checkpoints (tables/published/checkpoints.csv) · " + refs
            + " · labels: alpha-resolution",
        ] + (["not shown: " + "; ".join(data.skipped)] if data.skipped else []), y=0.935)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncols=(len(labels) + 1) // 2, frameon=False,
                   bbox_to_anchor=(0.5, 0.005))
        for ax, what in zip(axes, panels):
            _tradeoff_labels(ax, what, data)
    return fig


def _tradeoff_panel(ax, what: str, data: TradeoffData) -> None:
    import math

    xlabel, title = _TRADEOFF_AXES[what]
    points = data.checkpoints + data.references
    alphas = sorted({p.alpha for p in data.checkpoints}, reverse=True)
    extra = iter(OTHER_COLORS)
    for alpha in alphas:
        row = sorted((p for p in data.checkpoints if p.alpha == alpha), key=lambda p: p.resolution)
        color = ALPHA_COLORS.get(alpha) or next(extra, "#333333")
        ax.plot([_millions(p.cost(what)) for p in row], [p.top1 for p in row], "-o", color=color, lw=1.0,
                ms=_MARKER_SIZE, zorder=4, gid=f"{what}-alpha-{alpha_text(alpha)}",
                label=f"MobileNet α = {alpha_text(alpha)} (resolution {row[0].resolution} to {row[-1].resolution})")
    front = data.frontier(what)
    ax.plot([_millions(p.cost(what)) for p in front], [p.top1 for p in front], "-", color="black", lw=6,
            alpha=0.18, solid_capstyle="round", zorder=3, gid=f"{what}-pareto",
            label="Pareto frontier of the checkpoints (best top-1 for the cost)")
    if data.references:
        ax.plot([_millions(p.cost(what)) for p in data.references], [p.top1 for p in data.references], "s",
                color=REFERENCE_COLOR, ms=_MARKER_SIZE, zorder=4, gid=f"{what}-references",
                label="other networks (published top-1)")
    ax.set_xscale("log")
    costs = [_millions(p.cost(what)) for p in points]
    lo, hi = math.log10(min(costs)), math.log10(max(costs))
    pad = max(0.25, 0.12 * (hi - lo))
    ax.set_xlim(10 ** (lo - pad), 10 ** (hi + pad))
    accs = [p.top1 for p in points]
    ax.set_ylim(math.floor(min(accs)) - 3, math.ceil(max(accs)) + 3)
    _log_axis(ax.xaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("ImageNet top-1 accuracy (%)")
    ax.set_title(title)


def _tradeoff_labels(ax, what: str, data: TradeoffData) -> list:
    points = data.checkpoints + data.references
    # Best first, so the top of each crowded column gets the nearest spot.
    order = sorted(points, key=lambda p: (-p.top1, p.cost(what), p.label))
    items = [(_millions(p.cost(what)), p.top1, p.label, f"{what}-label-{p.model}-{p.label}".replace(" ", "_"))
             for p in order]
    markers = [(_millions(p.cost(what)), p.top1) for p in points]
    return place_labels(ax, items, markers=markers, marker_radius=_MARKER_SIZE / 2)


# -- scaling ----------------------------------------------------------------------------

def _sweep_resolutions(full: int, at: int) -> list[int]:
    """Multiples of 8 from a quarter of the spec's resolution up to it (or up to
    ``at`` when that is larger), with both ends and the paper's resolutions."""
    top = max(full, at)
    low = max(8, full // 4)
    values = {r for r in range(8, top, 8) if r >= low} | {full, at} | {r for r in PAPER_RESOLUTIONS if r <= top}
    return sorted(values)


def _try_analyze(model, **settings):
    from mbcost.analysis import analyze

    try:
        return analyze(model, **settings)
    except MbcostError:
        return None  # e.g. a feature map that vanishes at a small resolution


def scaling_figure(model: str = "mobilenet_v1", alpha: float | None = None, resolution: int | None = None):
    """Mult-Adds and parameters against alpha (at ``resolution``) and against
    resolution (at ``alpha``), with the ideal alpha² and rho² curves."""
    from mbcost.analysis import analyze
    from mbcost.network import to_fraction

    require_matplotlib()
    width = to_fraction(1 if alpha is None else alpha, "alpha")
    base = analyze(model, alpha=width, resolution=resolution)
    full_res = analyze(model, alpha=width).resolution  # the spec's own input
    at_res = base.resolution
    one = analyze(model, alpha=1, resolution=at_res)
    alphas = sorted({Fraction(k, 40) for k in range(4, 41)} | set(PAPER_ALPHAS) | {width})
    by_alpha = [(a, _try_analyze(model, alpha=a, resolution=at_res)) for a in alphas]
    by_alpha = [(a, an) for a, an in by_alpha if an is not None]
    full = analyze(model, alpha=width, resolution=full_res)
    by_res = [(r, _try_analyze(model, alpha=width, resolution=r)) for r in _sweep_resolutions(full_res, at_res)]
    by_res = [(r, an) for r, an in by_res if an is not None]

    with style():
        fig = new_figure(12.0, 8.6, layout="constrained")
        axes = fig.subplots(2, 2)
        for row, (what, unit, color) in enumerate((("mult_adds", "Mult-Adds (millions)", MADDS_COLOR),
                                                   ("params", "Parameters (millions)", PARAMS_COLOR))):
            name = "Mult-Adds" if what == "mult_adds" else "Parameters"
            # against alpha
            ax = axes[row][0]
            ref = getattr(one.total, what)
            xs = [float(a) for a, _ in by_alpha]
            ax.plot(xs, [_millions(getattr(an.total, what)) for _, an in by_alpha], "-", color=color, lw=1.6,
                    label=f"{name}, computed", gid=f"scaling-{what}-alpha")
            marks = [(a, an) for a, an in by_alpha if a in PAPER_ALPHAS]
            ax.plot([float(a) for a, _ in marks], [_millions(getattr(an.total, what)) for _, an in marks], "o",
                    color=color, ms=5, label="the paper's widths (1, 0.75, 0.5, 0.25)")
            ax.plot(xs, [_millions(ref) * x * x for x in xs], "--", color=IDEAL_COLOR, lw=1.1,
                    label="ideal: α² × value at α = 1", gid=f"scaling-{what}-alpha-ideal")
            ax.set_xlabel("width multiplier α")
            ax.set_ylabel(unit)
            ax.set_title(f"{name} against width (input {at_res}×{at_res})")
            ax.set_xlim(0, 1.05)
            ax.set_ylim(bottom=0)
            ax.legend(loc="upper left")
            # against resolution
            ax = axes[row][1]
            ref = getattr(full.total, what)
            rs = [r for r, _ in by_res]
            ax.plot(rs, [_millions(getattr(an.total, what)) for _, an in by_res], "-", color=color, lw=1.6,
                    label=f"{name}, computed", gid=f"scaling-{what}-res")
            marks = [(r, an) for r, an in by_res if r in PAPER_RESOLUTIONS]
            if marks:
                ax.plot([r for r, _ in marks], [_millions(getattr(an.total, what)) for _, an in marks], "o",
                        color=color, ms=5, label="the paper's resolutions (224, 192, 160, 128)")
            if what == "mult_adds":
                ideal = [_millions(ref) * (r / full_res) ** 2 for r in rs]
                ideal_label = f"ideal: ρ² × value at {full_res} (ρ = r / {full_res})"
            else:
                ideal = [_millions(ref) for _ in rs]
                ideal_label = f"ideal: independent of ρ (value at {full_res})"
            ax.plot(rs, ideal, "--", color=IDEAL_COLOR, lw=1.1, label=ideal_label, gid=f"scaling-{what}-res-ideal")
            ax.set_xlabel(f"input resolution (pixels; ρ = r / {full_res})")
            ax.set_ylabel(unit)
            ax.set_title(f"{name} against resolution (α = {float(width):g})")
            ax.set_xlim(0, max(full_res, at_res) * 1.05)
            ax.set_ylim(bottom=0)
            ax.legend(loc="upper left")
        fig.suptitle(f"{base.model}: cost against the width multiplier α and the input resolution", fontsize=12)
        _footer(fig, f"{base.counted_text()} · {base.params_text()} · channels under α: int(α·c)")
    return fig


# -- breakdown --------------------------------------------------------------------------

def style_share_axes(ax, ys, labels) -> None:
    """Horizontal bars of shares (0 to 100%) by layer type, one row per label,
    with room at the right for the value labels."""
    ax.set_yticks(ys, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 125)
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel("share of the network's total (%)")
    ax.set_ylabel("layer type")
    ax.grid(axis="y", visible=False)


def breakdown_figure(model: str = "mobilenet_v1", alpha: float | None = None, resolution: int | None = None):
    """Share of Mult-Adds and of parameters by layer type, as horizontal bars."""
    from mbcost.analysis import analyze
    from mbcost.published import load

    require_matplotlib()
    analysis = analyze(model, alpha=1 if alpha is None else alpha, resolution=resolution)
    shares = analysis.by_type()
    published = {}
    if analysis.model == "mobilenet_v1" and analysis.alpha == 1 and analysis.resolution == 224:
        published = {row["type"]: row for row in load("table2_by_type")}
    with style():
        fig = new_figure(10.0, 1.9 + 0.62 * max(len(shares), 2), layout="constrained")
        ax = fig.subplots()
        h = 0.38
        ys = list(range(len(shares)))
        ma = [s.mult_adds_pct for s in shares]
        pa = [s.params_pct for s in shares]
        ax.barh([y - h / 2 for y in ys], ma, height=h, color=MADDS_COLOR, label="share of Mult-Adds",
                gid="breakdown-mult-adds")
        ax.barh([y + h / 2 for y in ys], pa, height=h, color=PARAMS_COLOR, label="share of parameters",
                gid="breakdown-params")
        for y, s in zip(ys, shares):
            ax.text(s.mult_adds_pct + 2.0, y - h / 2, f"{s.mult_adds_pct:.2f}%  ({s.mult_adds / 1e6:,.2f} M)",
                    va="center", fontsize=7.5)
            ax.text(s.params_pct + 2.0, y + h / 2, f"{s.params_pct:.2f}%  ({s.params / 1e6:,.3f} M)",
                    va="center", fontsize=7.5)
        if published:
            rows = [(y, published[s.type]) for y, s in zip(ys, shares) if s.type in published]
            ax.plot([r["mult_adds_pct"] for _, r in rows], [y - h / 2 for y, _ in rows], "D", color="black",
                    ms=4, label="the paper's Table 2 (as printed)", gid="breakdown-table2")
            ax.plot([r["params_pct"] for _, r in rows], [y + h / 2 for y, _ in rows], "D", color="black", ms=4)
        style_share_axes(ax, ys, [s.type for s in shares])
        handles, labels = ax.get_legend_handles_labels()
        order = sorted(range(len(labels)), key=lambda i: labels[i].startswith("the paper"))
        fig.legend([handles[i] for i in order], [labels[i] for i in order], loc="outside right upper",
                   frameon=False)
        t = analysis.total
        ax.set_title(f"{analysis.model} · α {analysis.alpha:g} · input {analysis.input}: "
                     f"{t.mult_adds / 1e6:,.2f} M Mult-Adds, {t.params / 1e6:,.3f} M parameters", fontsize=9)
        fig.suptitle("Mult-Adds and parameters by layer type (cf. the paper's Table 2)", fontsize=12)
        _footer(fig, f"{analysis.counted_text()} · {analysis.params_text()}")
    return fig


# -- layers -----------------------------------------------------------------------------

def layers_figure(model: str = "mobilenet_v1", alpha: float | None = None, resolution: int | None = None):
    """Mult-Adds and parameters of each layer, in network order, coloured by type."""
    from matplotlib.patches import Patch

    from mbcost.analysis import analyze

    require_matplotlib()
    analysis = analyze(model, alpha=1 if alpha is None else alpha, resolution=resolution)
    rows = analysis.layers
    categories = [s.type for s in analysis.by_type()]
    colors = {c: CATEGORY_COLORS[i % len(CATEGORY_COLORS)] for i, c in enumerate(categories)}
    n = len(rows)
    with style():
        fig = new_figure(min(max(9.0, 2.5 + 0.22 * n), 40.0), 7.6, layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True)
        xs = list(range(n))
        bar_colors = [colors.get(r.category, "#cccccc") for r in rows]
        top.bar(xs, [_millions(r.mult_adds) for r in rows], color=bar_colors, width=0.75, gid="layers-mult-adds")
        bottom.bar(xs, [_millions(r.params) for r in rows], color=bar_colors, width=0.75, gid="layers-params")
        top.set_ylabel("Mult-Adds (millions)")
        bottom.set_ylabel("Parameters (millions)")
        bottom.set_xlabel("layer (network order)")
        bottom.set_xticks(xs, [r.name for r in rows], rotation=90, fontsize=7 if n <= 60 else 5)
        bottom.set_xlim(-0.7, n - 0.3)
        for ax in (top, bottom):
            ax.grid(axis="x", visible=False)
        t = analysis.total
        top.set_title(f"Mult-Adds per layer (total {t.mult_adds / 1e6:,.2f} M)")
        bottom.set_title(f"Parameters per layer (total {t.params / 1e6:,.3f} M)")
        fig.legend(handles=[Patch(color=colors[c], label=c) for c in categories], loc="outside right upper",
                   title="layer type", frameon=False)
        fig.suptitle(f"{analysis.model} · α {analysis.alpha:g} · input {analysis.input}: cost along the depth",
                     fontsize=12)
        _footer(fig, f"{analysis.counted_text()} · {analysis.params_text()}")
    return fig


# -- the command ------------------------------------------------------------------------

def figure(kind: str, model: str | None = None, alpha: float | None = None, resolution: int | None = None,
           against: str = "both"):
    """The figure of one kind (see :data:`KINDS`)."""
    kind = check_kind(kind)
    if kind == "tradeoff":
        if model is not None or alpha is not None or resolution is not None:
            raise MbcostError("plot tradeoff takes no MODEL, --alpha or --res: it shows the 16 released "
                              "MobileNet checkpoints and the reference networks")
        return tradeoff_figure(against)
    if against != "both":
        raise MbcostError("--against applies to plot tradeoff only")
    if kind in MEASURED_KINDS:
        from mbcost.profile_plots import FIGURES

        return FIGURES[kind](model or "mobilenet_v1", alpha=alpha, resolution=resolution)
    builder = {"scaling": scaling_figure, "breakdown": breakdown_figure, "layers": layers_figure}[kind]
    return builder(model or "mobilenet_v1", alpha=alpha, resolution=resolution)


def plot(kind: str, out: str | Path | None = None, model: str | None = None, alpha: float | None = None,
         resolution: int | None = None, against: str = "both") -> Path:
    """Draw one figure and write it to ``out`` (default ``KIND.png``), whole or
    not at all; the format follows the extension (.png, .svg, .pdf)."""
    from mbcost.output import check_output_path

    kind = check_kind(kind)
    check_output_path(None if out is None else str(out))
    path = Path(out) if out is not None else Path(f"{kind}.png")
    fmt = output_format(path)
    if against not in AGAINST:
        raise MbcostError(f"unknown --against '{against}': choose from {', '.join(AGAINST)}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():  # fail before drawing; write_atomic checks again
        raise MbcostError(f"cannot write {path}: folder {folder} does not exist")
    require_matplotlib()
    from mbcost.output import write_atomic

    data = render(figure(kind, model, alpha, resolution, against), fmt)
    write_atomic(path, data)
    return path
