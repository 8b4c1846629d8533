"""``mbcost plot tradeoff --all``: ImageNet top-1 against computed Mult-Adds and
parameters for every family of the zoo (:func:`mbcost.results.family.family_points`),
one colour and marker per family, with one Pareto frontier across all of
them. Labels: every point of the small families; for MobileNet v1 and V2
(16 and 22 checkpoints) the points on their own frontier, so ~40 labels stay
readable. matplotlib is imported inside the functions only."""

from __future__ import annotations

from mbcost.figures.plot_style import (CATEGORY_COLORS, accuracy_axes, check_latency, footer, latency_note, millions,
                                       new_figure, require_matplotlib, style, wrap_items)

MARKERS = ("o", "s", "D", "^", "v", "P", "X", "<", ">", "h")
_PANELS = {"madds": ("mult_adds", "Mult-Adds (millions, log scale)", "Accuracy against computation"),
           "params": ("params", "Parameters (weights, millions, log scale)", "Accuracy against size"),
           "latency": ("latency_ms", "Predicted latency (ms, batch 1, log scale)",
                       "Accuracy against predicted time on this machine"),
           "roofline": ("roofline_macs", "Roofline cost at ridge point RP (millions of MACs, log scale)",
                        "Accuracy against the roofline cost")}


def _x(p, key: str) -> float:
    """A point's x: millions of Mult-Adds, parameters or roofline MACs, or predicted ms."""
    return p.latency_ms if key == "latency_ms" else millions(getattr(p, key))


def family_tradeoff_figure(against: str = "both", latency=None, ridge=None):
    from mbcost.results.family import FAMILIES, family_points, with_latency, with_roofline

    check_latency(against, latency)
    require_matplotlib()
    points = family_points()
    if latency is not None:
        points = with_latency(points, latency)
    if ridge is not None:
        points = with_roofline(points, ridge)
    families = [name for _, name in FAMILIES if any(p.family == name for p in points)]
    panels = ["madds", "params"] if against == "both" else [against]
    with style():
        fig = new_figure(8.0 * len(panels) + 2.6, 7.6, layout="constrained")
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, what in zip(axes, panels):
            _panel(ax, what, points, families)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right center", frameon=False, title="family")
        fig.suptitle("The paper's descendants: ImageNet top-1 against "
                     + ("predicted latency" if latency is not None else
                        f"roofline cost at RP {float(ridge):g} MACs/byte" if ridge is not None else
                        "computed cost") + ", every family of the zoo", fontsize=12)
        footer(fig, " · ".join(wrap_items([
            "cost computed by mbcost from the specs: Mult-Adds of conv + fc, weights (the paper's conventions)",
            "top-1 as published: MobileNet v1/V2 TF-Slim checkpoints, MobileNetV4 timm's ImageNet-1K weights, "
            "the others torchvision IMAGENET1K_V1 at their evaluation crop", "dashed: the Pareto frontier across all families",
            "labels where there is room for one: each family's own frontier, every point of the small ones"]
            + ([latency_note(latency)] if latency is not None else [])
            + ([f"roofline cost: Σ over rows of max(MACs, RP × bytes) at RP {float(ridge):g}, 1 byte per element "
                "(mbcost roofline)"] if ridge is not None else []), 200)))
        fig.canvas.draw()  # the constrained layout, final: labels are placed in display space
        fig.set_layout_engine("none")
        for ax, what in zip(axes, panels):
            _labels(ax, what, points)
    return fig


def _panel(ax, what: str, points, families) -> None:
    from mbcost.results.family import pareto

    key, xlabel, title = _PANELS[what]
    for i, family in enumerate(families):
        pts = [p for p in points if p.family == family]
        ax.plot([_x(p, key) for p in pts], [p.top1 for p in pts], MARKERS[i % len(MARKERS)],
                color=CATEGORY_COLORS[i % len(CATEGORY_COLORS)], ms=6, alpha=0.9, zorder=4,
                gid=f"family-{what}-{family}".replace(" ", "_"), label=f"{family} ({len(pts)})")
    front = pareto(points, key)
    ax.plot([_x(p, key) for p in front], [p.top1 for p in front], "--", color="black", lw=1.2,
            zorder=3, gid=f"family-{what}-pareto", label="Pareto frontier (all families)")
    accuracy_axes(ax, [_x(p, key) for p in points], [p.top1 for p in points], xlabel, title,
                  0.12, 0.25, 2)


def _labels(ax, what: str, points) -> list:
    from mbcost.results.family import pareto
    from mbcost.figures.plot_labels import line_boxes, place_labels

    key = _PANELS[what][0]
    labelled = []
    for family in dict.fromkeys(p.family for p in points):
        pts = [p for p in points if p.family == family]
        labelled += pareto(pts, key) if len(pts) > 8 else pts
    order = sorted(labelled, key=lambda p: (-p.top1, getattr(p, key), p.model, p.label))
    items = [(_x(p, key), p.top1, _text(p), f"family-{what}-label-{p.model}-{p.label}")
             for p in order]
    markers = [(_x(p, key), p.top1) for p in points]
    front = pareto(points, key)
    line = line_boxes(ax, [_x(p, key) for p in front], [p.top1 for p in front], half_width=0.6)
    return place_labels(ax, items, markers=markers, marker_radius=3.0, fontsize=7, obstacles=line)


def _text(p) -> str:
    if p.family in ("MobileNet v1", "MobileNetV2"):
        return f"{'v1' if p.family == 'MobileNet v1' else 'v2'} {p.label}"
    return {"MobileNetV3": "V3 ", "MnasNet": "Mnas ", "ShuffleNetV2": "Shuffle ", "ResNet": "ResNet-"}.get(
        p.family, "") + p.label
