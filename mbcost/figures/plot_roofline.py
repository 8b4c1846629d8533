"""``mbcost roofline -o FIG``: the paper's ridge-point sweep (MobileNetV4, Qin et
al. 2024, "Hardware-independent Pareto efficiency"): each network's roofline cost, Σ max(MACs, RP·bytes), as
the ridge point RP grows from a CPU-like 0 to an accelerator-like 500 MACs per
byte. Left: the cost in MACs (log scale); right: the same divided by the
network's Mult-Adds, the slowdown its memory traffic causes on such a chip.
This machine's ridge point (``--machine``) is a vertical line. matplotlib is
imported inside the functions only."""

from __future__ import annotations

from mbcost.figures.plot_style import CATEGORY_COLORS, footer, log_axis, new_figure, require_matplotlib, style

STYLES = ("-", "--", "-.", ":")


def roofline_figure(result):
    """The sweep of a :class:`mbcost.attachments.roofline.Roofline`."""
    require_matplotlib()
    ridges = [float(r) for r in result.ridges]
    with style():
        fig = new_figure(13.0, 5.6, layout="constrained")
        cost_ax, ratio_ax = fig.subplots(1, 2)
        for i, label in enumerate(result.labels):
            costs = [float(result.cost(i, r)) / 1e6 for r in result.ridges]
            total = result.analyses[i].total.mult_adds / 1e6
            colour = CATEGORY_COLORS[i % len(CATEGORY_COLORS)]
            line = STYLES[(i // len(CATEGORY_COLORS)) % len(STYLES)]
            cost_ax.plot(ridges, costs, line, color=colour, label=label, linewidth=1.6)
            ratio_ax.plot(ridges, [c / total if total else 0 for c in costs], line, color=colour, linewidth=1.6)
        cost_ax.set_yscale("log")
        log_axis(cost_ax.yaxis)
        cost_ax.set_ylabel("roofline cost (millions of MACs, log scale)")
        cost_ax.set_title("Σ max(MACs, RP · bytes): the time × PeakMACs")
        ratio_ax.set_ylabel("roofline cost / Mult-Adds")
        ratio_ax.set_title("Slowdown from memory traffic")
        for ax in (cost_ax, ratio_ax):
            ax.set_xlabel("ridge point RP (MACs per byte)")
            ax.set_xlim(ridges[0], ridges[-1] if ridges[-1] > ridges[0] else ridges[0] + 1)
            ax.grid(True, which="major", alpha=0.3)
            for hw, text in ((result.machine, "this machine"), (result.hardware, "--hardware")):
                if hw is not None and ridges[0] <= float(hw.ridge) <= ridges[-1]:
                    ax.axvline(float(hw.ridge), color="#444444", linewidth=1, linestyle=":")
                    ax.annotate(f"{text}\nRP {float(hw.ridge):.0f}", (float(hw.ridge), 1), xycoords=("data", "axes fraction"),
                                xytext=(3, -3), textcoords="offset points", va="top", fontsize=7, color="#444444")
        handles, labels = cost_ax.get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right center", frameon=False, title="network")
        fig.suptitle("The roofline across hardware: cost against the ridge point", fontsize=12)
        bpe = result.bytes_per_element
        footer(fig, " · ".join([
            "roofline cost = Σ over rows of max(MACs, RP × bytes) = time × PeakMACs",
            "RP = PeakMACs / PeakMemBW", "at RP 0: the Mult-Adds",
            f"bytes = weights + biases + input + output, {bpe} byte{'s' if bpe != 1 else ''} per element",
            "batch norm, LayerScale and rows with neither MACs nor weights fused",
            result.analyses[0].counted_text()]))
    return fig
