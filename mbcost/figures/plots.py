"""Figures: ``mbcost plot KIND`` and the charts of ``mbcost report``.

Four computed kinds, each a function returning a matplotlib :class:`~matplotlib.figure.Figure`:

* ``tradeoff`` (:func:`tradeoff_figure`): ImageNet top-1 against Mult-Adds (the
  paper's Figure 4) and against parameters (Figure 5), both on a log scale, as
  two panels of one figure (``against="madds"`` or ``"params"``: one panel). One
  point per released MobileNet v1 checkpoint (alpha x resolution): top-1 from
  ``tables/published/checkpoints.csv``, cost COMPUTED by :func:`mbcost.analyze`
  (not the published MACs). The Pareto frontier of the checkpoints (more
  accuracy for less cost) is a dashed line. The other networks of the zoo that
  the paper compares with (:data:`mbcost.figures.plot_data.REFERENCE_MODELS`, where the zoo has their spec
  and ``imagenet_models.csv`` their top-1) are grey squares: computed cost,
  published top-1. Labels are placed by :func:`mbcost.figures.plot_labels.place_labels`
  so that none overlaps another label or a marker.
* ``scaling`` (:func:`scaling_figure`): a model's Mult-Adds and parameters
  against the width multiplier alpha and against the input resolution, with the
  ideal alpha² and rho² curves (scaled to the alpha = 1 and full-resolution
  values) overlaid.
* ``breakdown`` (:func:`breakdown_figure`): share of Mult-Adds and of parameters
  by layer type (the paper's Table 2 as a chart; for MobileNet at alpha 1 and
  224 the published percentages are marked too).
* ``layers`` (:func:`layers_figure`): per-layer Mult-Adds and parameters along
  the depth of a network.

``mbcost plot`` also draws the kinds of :mod:`mbcost.figures.profile_plots` (measured:
roofline, timeshare) when that module is installed; ``mbcost report`` leaves
them out, as a measurement is not reproducible byte for byte.

The data of the tradeoff figure is :mod:`mbcost.figures.plot_data`, label placement
:mod:`mbcost.figures.plot_labels`, and what every figure shares (style, colours, canvas,
rendering) :mod:`mbcost.figures.plot_style`. The same call gives the same bytes: the Agg canvas (never pyplot, so no GUI
backend and no global figure state), matplotlib's default style whatever the
user's matplotlibrc says, fixed figure sizes and dpi, a fixed SVG hash salt and
no dates or version strings in the metadata. matplotlib is imported inside the
functions here only: ``import mbcost.figures.plots`` stays cheap and the table commands
never load it.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from mbcost.core.conventions import PAPER_ALPHAS, PAPER_RESOLUTIONS
from mbcost.errors import MbcostError
from mbcost.figures.plot_data import (REFERENCE_MODELS, TradeoffData, TradeoffPoint, pareto_frontier,  # noqa: F401  (API)
                              tradeoff_data)
from mbcost.figures.plot_labels import line_boxes, place_labels
from mbcost.figures.plot_style import (ALPHA_COLORS, CATEGORY_COLORS, DPI, type_color, IDEAL_COLOR, MADDS_COLOR, OTHER_COLORS,  # noqa: F401
                               PARAMS_COLOR, REFERENCE_COLOR, alpha_text, footer, log_axis, millions, new_figure,
                               output_format, render, require_matplotlib, style, style_share_axes, subtitle,
                               too_small, wrap_items, accuracy_axes, check_latency, latency_note)

KINDS = {
    "tradeoff": "ImageNet top-1 against Mult-Adds and parameters (the paper's Figures 4 and 5)",
    "scaling": "Mult-Adds and parameters against alpha and resolution, with the ideal alpha² and rho² curves",
    "breakdown": "share of Mult-Adds and parameters by layer type (the paper's Table 2)",
    "layers": "Mult-Adds and parameters of each layer along the depth of the network",
}
#: Kinds drawn from a measurement (``mbcost profile``; mbcost.figures.profile_plots, needs torch): a new run
#: measures new numbers, so these are deterministic for a given profile only.
from mbcost.figures.profile_plots import KINDS as MEASURED_KINDS  # noqa: E402  (no matplotlib, no torch)

AGAINST = ("both", "madds", "params", "latency", "roofline")


def check_kind(kind: str) -> str:
    key = kind.strip().lower()
    if key not in KINDS and key not in MEASURED_KINDS:
        raise MbcostError(f"unknown plot kind '{kind}': choose from {', '.join([*KINDS, *MEASURED_KINDS])}")
    return key


# -- tradeoff ---------------------------------------------------------------------------

_TRADEOFF_AXES = {
    "madds": ("Mult-Adds (millions, log scale)", "Accuracy against computation (cf. the paper's Figure 4)"),
    "params": ("Parameters (millions, log scale)", "Accuracy against size (cf. the paper's Figure 5)"),
    "latency": ("Predicted latency (ms, batch 1, log scale)", "Accuracy against predicted time on this machine"),
}
_MARKER_SIZE = 6.0  # points (diameter)


def tradeoff_figure(against: str = "both", data: TradeoffData | None = None, latency=None):
    """ImageNet top-1 against computed Mult-Adds and/or parameters, or
    (``against="latency"``) against the latency the calibration ``latency``
    predicts."""
    if against not in AGAINST:
        raise MbcostError(f"unknown --against '{against}': choose from {', '.join(AGAINST)}")
    check_latency(against, latency)
    require_matplotlib()
    data = data or tradeoff_data()
    if latency is not None:
        data = data.with_latency(latency)
    panels = ["madds", "params"] if against == "both" else [against]
    refs = (", ".join(p.label for p in data.references) + ": published top-1 (paper Tables 8-9)"
            if data.references else "no reference networks in the zoo yet")
    notes = [
        "cost computed by mbcost from the layer specs (not the published figures)",
        data.counted.replace("Mult-Adds counted for: ", "Mult-Adds: ").replace(", ", " + "),
        data.params_text,
        "top-1: TF-Slim model zoo checkpoints (tables/published/checkpoints.csv)",
        refs,
        "labels: alpha-resolution, where there is room for one",
    ] + (["not shown: " + "; ".join(data.skipped)] if data.skipped else []) + (
        [latency_note(latency)] if latency is not None else [])
    with style():
        fig = new_figure(7.0 * len(panels) + 0.6 if len(panels) > 1 else 9.0, 7.0)
        width, height = fig.get_figwidth(), fig.get_figheight()
        lines = wrap_items(notes, width)
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, what in zip(axes, panels):
            _tradeoff_panel(ax, what, data)
        handles, labels = axes[0].get_legend_handles_labels()
        ncols = max(1, min(len(labels), int(width // 4.4)))
        legend_rows = -(-len(labels) // ncols)
        title = ("MobileNet v1: ImageNet top-1 of the 16 released checkpoints against their "
                 + ("predicted latency" if against == "latency" else "computed cost"))
        if width < 11:
            title = title.replace(" against", "\nagainst")
        title_lines = title.count("\n") + 1
        title_in = 0.12 + 0.22 * title_lines  # the top of the subtitle, inches from the top
        bottom_in = 0.75 + 0.2 * legend_rows
        top_in = title_in + 0.16 * len(lines) + 0.3
        if len(panels) > 1 and width < TWO_PANELS_WIDTH:  # the two panels' titles and tick labels overlap
            raise too_small(fig, width_needed=TWO_PANELS_WIDTH)
        if height - bottom_in - top_in < 0.5:  # less than half an inch of axes
            raise too_small(fig, bottom_in + top_in + 0.5)
        fig.subplots_adjust(left=0.75 / width, right=1 - 0.25 / width, bottom=bottom_in / height,
                            top=1 - (title_in + 0.16 * len(lines) + 0.3) / height, wspace=0.8 / 7.0)
        fig.suptitle(title, fontsize=12, y=1 - 0.1 / height, va="top")
        subtitle(fig, lines, y=1 - title_in / height)
        fig.legend(handles, labels, loc="lower center", ncols=ncols, frameon=False, bbox_to_anchor=(0.5, 0.005))
        for ax, what in zip(axes, panels):
            _tradeoff_labels(ax, what, data)
    return fig


#: The narrowest tradeoff figure with two panels side by side (inches) whose texts do
#: not overlap: narrower, the log axis's tick labels (10000, 20000) and the panels'
#: titles and axis labels run into each other (tests/test_figure_layout.py).
TWO_PANELS_WIDTH = 11.0


def _tradeoff_panel(ax, what: str, data: TradeoffData) -> None:
    import math

    xlabel, title = _TRADEOFF_AXES[what]
    points = data.checkpoints + data.references
    alphas = sorted({p.alpha for p in data.checkpoints}, reverse=True)
    extra = iter(OTHER_COLORS)
    for alpha in alphas:
        row = sorted((p for p in data.checkpoints if p.alpha == alpha), key=lambda p: p.resolution)
        color = ALPHA_COLORS.get(alpha) or next(extra, "#333333")
        ax.plot([p.x(what) for p in row], [p.top1 for p in row], "-o", color=color, lw=1.0,
                ms=_MARKER_SIZE, zorder=4, gid=f"{what}-alpha-{alpha_text(alpha)}",
                label=f"MobileNet α = {alpha_text(alpha)} (resolution {row[0].resolution} to {row[-1].resolution})")
    front = data.frontier(what)
    ax.plot([p.x(what) for p in front], [p.top1 for p in front], "-", color="black", lw=6,
            alpha=0.18, solid_capstyle="round", zorder=3, gid=f"{what}-pareto",
            label="Pareto frontier of the checkpoints (best top-1 for the cost)")
    if data.references:
        ax.plot([p.x(what) for p in data.references], [p.top1 for p in data.references], "s",
                color=REFERENCE_COLOR, ms=_MARKER_SIZE, zorder=4, gid=f"{what}-references",
                label="other networks (published top-1)")
    costs = [p.x(what) for p in points]
    spread = math.log10(max(costs)) - math.log10(min(costs))
    pad = max(0.25, 0.12 * spread)
    accuracy_axes(ax, costs, [p.top1 for p in points], xlabel, title, pad, pad, 3)


def _tradeoff_labels(ax, what: str, data: TradeoffData) -> list:
    points = data.checkpoints + data.references
    # Best first, so the top of each crowded column gets the nearest spot.
    order = sorted(points, key=lambda p: (-p.top1, p.cost(what), p.label))
    items = [(p.x(what), p.top1, p.label, f"{what}-label-{p.model}-{p.label}".replace(" ", "_"))
             for p in order]
    markers = [(p.x(what), p.top1) for p in points]
    front = data.frontier(what)
    line = line_boxes(ax, [p.x(what) for p in front], [p.top1 for p in front], half_width=3.0)  # lw 6
    return place_labels(ax, items, markers=markers, marker_radius=_MARKER_SIZE / 2, obstacles=line)


# -- scaling ----------------------------------------------------------------------------

def _sweep_resolutions(full: int, at: int) -> list[int]:
    """Multiples of 8 from a quarter of the spec's resolution up to it (or up to
    ``at`` when that is larger), with both ends and the paper's resolutions."""
    top = max(full, at)
    low = max(8, full // 4)
    values = {r for r in range(8, top, 8) if r >= low} | {full, at} | {r for r in PAPER_RESOLUTIONS if r <= top}
    return sorted(values)


def _try_analyze(model, **settings):
    from mbcost.results.analysis import analyze

    try:
        return analyze(model, **settings)
    except MbcostError:
        return None  # e.g. a feature map that vanishes at a small resolution


def _evaluated(model: str, alpha, resolution: int | None):
    """The analysis a figure of one network draws, and a line for its footer: with
    no resolution given, at alpha 1, a zoo network whose published weights are
    evaluated at another input than its spec's is drawn at that crop, as
    ``compare``, ``pick`` and ``plot tradeoff`` evaluate it (EfficientNet-B2: 288 px)."""
    from mbcost.results.analysis import analyze
    from mbcost.results.published import crop_note

    analysis = analyze(model, alpha=1 if alpha is None else alpha, resolution=resolution)
    crop = crop_note(analysis.model, analysis.resolution, "--res R") if resolution is None and analysis.alpha == 1 \
        else None
    if crop is None:
        return analysis, ""
    return analyze(model, alpha=analysis.alpha, resolution=crop[0]), " · " + crop[1]


def scaling_figure(model: str = "mobilenet_v1", alpha: float | None = None, resolution: int | None = None):
    """Mult-Adds and parameters against alpha (at ``resolution``) and against
    resolution (at ``alpha``), with the ideal alpha² and rho² curves."""
    from mbcost.results.analysis import analyze
    from mbcost.core.network import to_fraction

    require_matplotlib()
    width = to_fraction(1 if alpha is None else alpha, "alpha")
    base, note = _evaluated(model, width, resolution)
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
            ax.plot(xs, [millions(getattr(an.total, what)) for _, an in by_alpha], "-", color=color, lw=1.6,
                    label=f"{name}, computed", gid=f"scaling-{what}-alpha")
            marks = [(a, an) for a, an in by_alpha if a in PAPER_ALPHAS]
            ax.plot([float(a) for a, _ in marks], [millions(getattr(an.total, what)) for _, an in marks], "o",
                    color=color, ms=5, label="the paper's widths" if base.model == "mobilenet_v1"
                    else "α = " + ", ".join(f"{float(a):g}" for a, _ in marks))
            ax.plot(xs, [millions(ref) * x * x for x in xs], "--", color=IDEAL_COLOR, lw=1.1,
                    label="ideal: α² × value at α = 1", gid=f"scaling-{what}-alpha-ideal")
            ax.set_xlabel("width multiplier α")
            ax.set_ylabel(unit)
            ax.set_title(f"{name} against width (input {at_res}×{at_res})")
            ax.set_xlim(0, 1.05)
            _legend_room(ax)
            # against resolution
            ax = axes[row][1]
            ref = getattr(full.total, what)
            rs = [r for r, _ in by_res]
            ax.plot(rs, [millions(getattr(an.total, what)) for _, an in by_res], "-", color=color, lw=1.6,
                    label=f"{name}, computed", gid=f"scaling-{what}-res")
            marks = [(r, an) for r, an in by_res if r in PAPER_RESOLUTIONS]
            if marks:
                ax.plot([r for r, _ in marks], [millions(getattr(an.total, what)) for _, an in marks], "o",
                        color=color, ms=5, label="the paper's resolutions" if base.model == "mobilenet_v1"
                        else ", ".join(str(r) for r, _ in marks) + " px")
            if what == "mult_adds":
                ideal = [millions(ref) * (r / full_res) ** 2 for r in rs]
                ideal_label = f"ideal: ρ² × value at {full_res}"
            else:
                ideal = [millions(ref) for _ in rs]
                ideal_label = "ideal: independent of ρ"
            ax.plot(rs, ideal, "--", color=IDEAL_COLOR, lw=1.1, label=ideal_label, gid=f"scaling-{what}-res-ideal")
            ax.set_xlabel(f"input resolution (pixels; ρ = r / {full_res})")
            ax.set_ylabel(unit)
            ax.set_title(f"{name} against resolution (α = {float(width):g})")
            ax.set_xlim(0, max(full_res, at_res) * 1.05)
            _legend_room(ax)
        fig.suptitle(f"{base.model}: cost against the width multiplier α and the input resolution", fontsize=12)
        from mbcost.documents.views import channel_rule_text

        rule = channel_rule_text(base) or "channels under alpha: int(alpha·c)"
        footer(fig, f"{base.counted_text()} · {base.params_text()} · {rule.replace('alpha', 'α')}{note}")
    return fig


def _legend_room(ax) -> None:
    """y from 0 with headroom above the data, and the legend where it covers none of it."""
    top = max((max(line.get_ydata()) for line in ax.get_lines()), default=1.0)
    ax.set_ylim(0, top * 1.4)
    ax.legend(loc="best")


# -- breakdown --------------------------------------------------------------------------

def breakdown_figure(model: str = "mobilenet_v1", alpha: float | None = None, resolution: int | None = None):
    """Share of Mult-Adds and of parameters by layer type, as horizontal bars."""
    from mbcost.results.published import load_published

    require_matplotlib()
    analysis, note = _evaluated(model, alpha, resolution)
    shares = analysis.by_type()
    published = {}
    if analysis.model == "mobilenet_v1" and analysis.alpha == 1 and analysis.resolution == 224:
        published = {row["type"]: row for row in load_published("table2_by_type")}
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
            for value, dy, text in ((s.mult_adds_pct, -h / 2, f"{s.mult_adds_pct:.2f}%  ({s.mult_adds / 1e6:,.2f} M)"),
                                    (s.params_pct, h / 2, f"{s.params_pct:.2f}%  ({s.params / 1e6:,.3f} M)")):
                ax.annotate(text, (value, y + dy), xytext=(6, 0), textcoords="offset points", va="center",
                            fontsize=7.5, annotation_clip=False)
        if published:
            rows = [(y, published[s.type]) for y, s in zip(ys, shares) if s.type in published]
            ax.plot([r["mult_adds_pct"] for _, r in rows], [y - h / 2 for y, _ in rows], "D", color="black",
                    ms=4, label="the paper's Table 2 (as printed)", gid="breakdown-table2")
            ax.plot([r["params_pct"] for _, r in rows], [y + h / 2 for y, _ in rows], "D", color="black", ms=4)
        style_share_axes(ax, ys, [s.type for s in shares], ma + pa)
        handles, labels = ax.get_legend_handles_labels()
        order = sorted(range(len(labels)), key=lambda i: labels[i].startswith("the paper"))
        fig.legend([handles[i] for i in order], [labels[i] for i in order], loc="outside right center",
                   frameon=False)
        t = analysis.total
        ax.set_title(f"{analysis.model} · α {analysis.alpha:g} · input {analysis.input}: "
                     f"{t.mult_adds / 1e6:,.2f} M Mult-Adds, {t.params / 1e6:,.3f} M parameters", fontsize=9)
        fig.suptitle("Mult-Adds and parameters by layer type (cf. the paper's Table 2)", fontsize=12)
        footer(fig, f"{analysis.counted_text()} · {analysis.params_text()}{note}")
    return fig


# -- layers -----------------------------------------------------------------------------

#: Above this many rows, the layers figure lays the network out top to bottom.
DEEP_LAYERS = 60
#: The narrowest such figure whose two panels' titles do not run into each other (inches).
DEEP_WIDTH = 9.0


def _check_room(fig, width: float, height: float) -> None:
    """A --size with less room than a layer's name needs at 7 pt (about 0.1 inch a
    column or a row, the rotated names' length below the columns) is refused,
    naming the size needed: the names would overlap (tests/test_figure_layout.py)."""
    import math

    width, height = (math.ceil(round(10 * v, 6)) / 10 for v in (width, height))  # up to a tenth of an inch
    if fig.get_figwidth() < width:
        raise too_small(fig, width_needed=width)
    if fig.get_figheight() < height:
        raise too_small(fig, height_needed=height)


def layers_figure(model: str = "mobilenet_v1", alpha: float | None = None, resolution: int | None = None):
    """Mult-Adds and parameters of each layer, in network order, coloured by type."""
    from matplotlib.patches import Patch

    require_matplotlib()
    analysis, note = _evaluated(model, alpha, resolution)
    rows = analysis.layers
    categories = [s.type for s in analysis.by_type()]
    colors = {c: type_color(c) for c in categories}  # the same colour for a type in every figure
    n = len(rows)
    bar_colors = [colors.get(r.category, "#cccccc") for r in rows]
    with style():
        if n <= DEEP_LAYERS:  # columns along the depth, names rotated under them
            fig = new_figure(max(9.0, 2.5 + 0.22 * n), 7.6, layout="constrained")
            _check_room(fig, width=2.5 + 0.1 * n, height=5.5)
            top, bottom = fig.subplots(2, 1, sharex=True)
            xs = list(range(n))
            top.bar(xs, [millions(r.mult_adds) for r in rows], color=bar_colors, width=0.75, gid="layers-mult-adds")
            bottom.bar(xs, [millions(r.params) for r in rows], color=bar_colors, width=0.75, gid="layers-params")
            top.set_ylabel("Mult-Adds (millions)")
            bottom.set_ylabel("Parameters (millions)")
            bottom.set_xlabel("layer (network order)")
            bottom.set_xticks(xs, [r.name for r in rows], rotation=90, fontsize=7)
            bottom.set_xlim(-0.7, n - 0.3)
            for ax in (top, bottom):
                ax.grid(axis="x", visible=False)
        else:  # a deep network: one row per layer, top to bottom, names readable at 7 pt
            fig = new_figure(11.0, 2.2 + 0.125 * n, layout="constrained")
            _check_room(fig, width=DEEP_WIDTH, height=2.0 + 0.1 * n)
            top, bottom = fig.subplots(1, 2, sharey=True)
            ys = list(range(n))
            top.barh(ys, [millions(r.mult_adds) for r in rows], color=bar_colors, height=0.75,
                     gid="layers-mult-adds")
            bottom.barh(ys, [millions(r.params) for r in rows], color=bar_colors, height=0.75, gid="layers-params")
            top.set_xlabel("Mult-Adds (millions)")
            bottom.set_xlabel("Parameters (millions)")
            top.set_ylabel("layer (network order, first at the top)")
            top.set_yticks(ys, [r.name for r in rows], fontsize=7)
            top.set_ylim(n - 0.3, -0.7)
            for ax in (top, bottom):
                ax.grid(axis="y", visible=False)
                ax.xaxis.set_tick_params(labeltop=True)
        t = analysis.total
        top.set_title(f"Mult-Adds per layer (total {t.mult_adds / 1e6:,.2f} M)")
        bottom.set_title(f"Parameters per layer (total {t.params / 1e6:,.3f} M)")
        fig.legend(handles=[Patch(color=colors[c], label=c) for c in categories], loc="outside right center",
                   title="layer type", frameon=False)
        fig.suptitle(f"{analysis.model} · α {analysis.alpha:g} · input {analysis.input}: cost along the depth",
                     fontsize=12)
        footer(fig, f"{analysis.counted_text()} · {analysis.params_text()}{note}")
    return fig


# -- the command ------------------------------------------------------------------------

def figure(kind: str, model: str | None = None, alpha: float | None = None, resolution: int | None = None,
           against: str = "both", *, profile=None, family: bool = False, latency=None, ridge=None):
    """The figure of one kind (see :data:`KINDS`); ``profile``: a measured
    :class:`~mbcost.adapters.profile.Profile` for roofline and timeshare;
    ``family``: the tradeoff of every family (:mod:`mbcost.figures.plot_family`);
    ``latency``: a :class:`mbcost.attachments.latency.Calibration` for ``against="latency"``."""
    kind = check_kind(kind)
    if (against == "roofline") != (ridge is not None) or (ridge is not None and not family):
        raise MbcostError("--against roofline and --ridge RP go together, with plot tradeoff --all")
    if latency is not None and kind != "tradeoff":
        raise MbcostError("--latency applies to plot tradeoff --against latency only")
    if family and kind != "tradeoff":
        raise MbcostError("--all applies to plot tradeoff only (every family of the zoo)")
    if kind == "tradeoff" and family:
        if model is not None or alpha is not None or resolution is not None:
            raise MbcostError("plot tradeoff --all takes no MODEL, --alpha or --res")
        from mbcost.figures.plot_family import family_tradeoff_figure

        return family_tradeoff_figure(against, latency, ridge)
    if kind == "tradeoff":
        if model is not None or alpha is not None or resolution is not None:
            raise MbcostError("plot tradeoff takes no MODEL, --alpha or --res: it shows the 16 released "
                              "MobileNet checkpoints and the reference networks")
        return tradeoff_figure(against, latency=latency)
    if against != "both":
        raise MbcostError("--against applies to plot tradeoff only")
    if kind in MEASURED_KINDS:
        from mbcost.figures.profile_plots import FIGURES

        if profile is not None:
            return FIGURES[kind](profile=profile)
        return FIGURES[kind](model or "mobilenet_v1", alpha=alpha, resolution=resolution)
    builder = {"scaling": scaling_figure, "breakdown": breakdown_figure, "layers": layers_figure}[kind]
    return builder(model or "mobilenet_v1", alpha=alpha, resolution=resolution)


def check_target(kind: str, out: str | Path | None) -> Path:
    """The figure's file (default ``KIND.png``), checked before anything is drawn
    or measured: a known extension, an existing folder."""
    from mbcost.documents.output import check_output_path

    kind = check_kind(kind)
    check_output_path(None if out is None else str(out))
    path = Path(out) if out is not None else Path(f"{kind}.png")
    output_format(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():  # write_atomic checks again
        raise MbcostError(f"cannot write {path}: folder {folder} does not exist")
    return path


def plot(kind: str, out: str | Path | None = None, model: str | None = None, alpha: float | None = None,
         resolution: int | None = None, against: str = "both", *, dpi: int | None = None,
         size: str | tuple[float, float] | None = None, profile=None, family: bool = False, latency=None,
         ridge=None) -> Path:
    """Draw one figure and write it to ``out`` (default ``KIND.png``), whole or
    not at all; the format follows the extension (.png, .svg, .pdf). ``dpi``:
    a PNG's pixels per inch (default 100; 300 for print); ``size``: (width,
    height) in inches or ``"WxH"``, instead of the figure's own size."""
    from mbcost.figures.plot_style import check_dpi, parse_size, sized

    path = check_target(kind, out)
    fmt = output_format(path)
    if against not in AGAINST:
        raise MbcostError(f"unknown --against '{against}': choose from {', '.join(AGAINST)}")
    check_latency(against, latency)
    dpi = check_dpi(dpi)
    size = parse_size(size) if isinstance(size, str) or size is None else parse_size(f"{size[0]}x{size[1]}")
    require_matplotlib()
    from mbcost.documents.output import write_atomic

    with sized(size):
        data = render(figure(kind, model, alpha, resolution, against, profile=profile, family=family,
                             latency=latency, ridge=ridge), fmt, dpi)
    write_atomic(path, data)
    return path
