"""Figures of a measured profile: ``mbcost plot roofline`` and ``mbcost plot timeshare``.

* ``roofline`` (:func:`roofline_figure`): each layer's achieved GMAC/s against
  its arithmetic intensity (Mult-Adds per byte moved: parameters + inputs +
  output, fp32), log-log, coloured by layer type. The two dashed lines are
  *empirical* roofs: the highest GMAC/s any layer reached, and the highest
  GMAC/s per MAC/B (an effective bandwidth, GB/s); they are what this run
  achieved, not the hardware's peaks. Layers that count no Mult-Adds (pooling,
  softmax, concat) have no point.
* ``timeshare`` (:func:`timeshare_figure`): by layer type, the share of the
  Mult-Adds beside the share of the measured time (sum of the rows' medians).

Both take a :class:`~mbcost.adapters.profile.Profile`, or measure one (CPU, torch's
default threads) when given a model. matplotlib and torch are imported inside the
functions only. Drawing follows :mod:`mbcost.figures.plots`: Agg canvas, default style,
fixed sizes, no dates (the same profile gives the same bytes; a new measurement
gives new numbers, of course).
"""

from __future__ import annotations

from mbcost.errors import MbcostError

KINDS = {
    "roofline": "measured GMAC/s against arithmetic intensity (MAC per byte) per layer, coloured by type",
    "timeshare": "measured share of time against share of Mult-Adds by layer type",
}
TIME_COLOR = "#d62728"


def measured(model="mobilenet_v1", alpha=None, resolution=None, *, batch: int = 1, threads: int | None = None,
             device: str = "cpu", **timing):
    """A profile of ``model`` (a zoo name, a spec path or an Analysis)."""
    from mbcost.adapters import require_torch

    require_torch("this plot (it measures the network)")
    from mbcost.adapters.profile import profile
    from mbcost.results.analysis import Analysis, analyze

    analysis = model if isinstance(model, Analysis) else analyze(model, alpha=1 if alpha is None else alpha,
                                                                  resolution=resolution)
    return profile(analysis, batch=batch, threads=threads, device=device, **timing)


def _profile(prof, model, alpha, resolution):
    if prof is not None:
        if model is not None or alpha is not None or resolution is not None:
            raise MbcostError("give a profile or a model, not both")
        return prof
    return measured(model or "mobilenet_v1", alpha, resolution)


def _title(prof) -> str:
    a = prof.analysis
    threads = f", {prof.threads} thread{'s' if prof.threads != 1 else ''}" if prof.threads else ""
    return (f"{a.model} · α {a.alpha:g} · input {a.input} · batch {prof.batch} · {prof.device_name}{threads} · "
            f"torch {prof.torch_version}")


def _colors(categories):
    from mbcost.figures.plot_style import type_color

    return {c: type_color(c) for c in categories}


def roofline_figure(model=None, alpha=None, resolution=None, *, profile=None):
    """Achieved GMAC/s against Mult-Adds per byte, one point per layer."""
    from mbcost.figures.plot_style import log_axis, new_figure, require_matplotlib, style

    require_matplotlib()
    prof = _profile(profile, model, alpha, resolution)
    points = [t for t in prof.layers if t.mult_adds and t.intensity > 0 and t.time > 0]
    if not points:
        raise MbcostError("no layer counts Mult-Adds: nothing to place on a roofline")
    shares = [s for s in prof.by_type() if s.mult_adds]
    colors = _colors([s.category for s in sorted(shares, key=lambda s: -s.mult_adds)])
    with style():
        fig = new_figure(13.0, 6.2, layout="constrained")
        ax = fig.subplots()
        for s in sorted(shares, key=lambda s: -s.mult_adds):
            pts = [t for t in points if t.category == s.category]
            ax.plot([t.intensity for t in pts], [t.gmacs for t in pts], "o", color=colors[s.category], ms=6,
                    alpha=0.85, zorder=4, gid=f"roofline-{s.category}".replace(" ", "_"),
                    label=f"{s.category} ({len(pts)} layer{'s' if len(pts) != 1 else ''}; {s.mult_adds_pct:.1f}% Mult-Adds, "
                          f"{s.time_pct:.1f}% time, {s.gmacs:,.1f} GMAC/s)")
        xs = [t.intensity for t in points]
        ys = [t.gmacs for t in points]
        lo_x, hi_x = min(xs) / 2, max(xs) * 2
        lo_y, hi_y = min(ys) / 2, max(ys) * 2
        compute = max(ys)
        bandwidth = max(t.gmacs / t.intensity for t in points)  # GMAC/s per MAC/B = GB/s
        ax.axhline(compute, color="#444444", ls="--", lw=1.0, zorder=2, gid="roofline-compute",
                   label=f"best achieved: {compute:,.1f} GMAC/s")
        ax.plot([lo_x, hi_x], [bandwidth * lo_x, bandwidth * hi_x], ":", color="#444444", lw=1.2, zorder=2,
                gid="roofline-bandwidth", label=f"best GMAC/s per MAC/B: {bandwidth:,.1f} GB/s (effective)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo_x, hi_x)
        ax.set_ylim(lo_y, max(hi_y, compute * 1.5))
        for axis in (ax.xaxis, ax.yaxis):
            log_axis(axis)
        ax.set_xlabel("arithmetic intensity: Mult-Adds per byte moved (parameters + inputs + output, fp32)")
        ax.set_ylabel("achieved GMAC/s (median time per layer)")
        ax.set_title(_title(prof), fontsize=8)
        fig.legend(loc="outside right center", fontsize=7.5, frameon=False)
        fig.suptitle("Roofline of the measured layers: achieved throughput against arithmetic intensity",
                     fontsize=12)
        _warn(fig, prof, "dashed: empirical roofs from this run (not hardware peaks) · one point per layer with "
              f"Mult-Adds · {prof.analysis.counted_text()}")
    return fig


def timeshare_figure(model=None, alpha=None, resolution=None, *, profile=None):
    """Share of Mult-Adds against share of measured time, by layer type."""
    from mbcost.figures.plot_style import MADDS_COLOR, new_figure, require_matplotlib, style, style_share_axes

    require_matplotlib()
    prof = _profile(profile, model, alpha, resolution)
    shares = prof.by_type()  # most time first
    with style():
        fig = new_figure(10.0, 1.9 + 0.62 * max(len(shares), 2), layout="constrained")
        ax = fig.subplots()
        h = 0.38
        ys = list(range(len(shares)))
        ax.barh([y - h / 2 for y in ys], [s.mult_adds_pct for s in shares], height=h, color=MADDS_COLOR,
                label="share of Mult-Adds (counted)", gid="timeshare-mult-adds")
        ax.barh([y + h / 2 for y in ys], [s.time_pct for s in shares], height=h, color=TIME_COLOR,
                label="share of measured time (sum of layer medians)", gid="timeshare-time")
        for y, s in zip(ys, shares):
            for value, dy, text in ((s.mult_adds_pct, -h / 2, f"{s.mult_adds_pct:.2f}%"),
                                    (s.time_pct, h / 2, f"{s.time_pct:.2f}%  ({s.time * 1e3:,.2f} ms"
                                     + (f", {s.gmacs:,.1f} GMAC/s)" if s.gmacs else ")"))):
                ax.annotate(text, (value, y + dy), xytext=(6, 0), textcoords="offset points", va="center",
                            fontsize=7.5, annotation_clip=False)
        style_share_axes(ax, ys, [s.category for s in shares],
                         [s.mult_adds_pct for s in shares] + [s.time_pct for s in shares])
        fig.legend(loc="outside right center", frameon=False)
        e2e = prof.end_to_end
        total = (f"end to end {e2e.median * 1e3:,.2f} ms (IQR {e2e.iqr * 1e3:,.2f}), layers' sum "
                 f"{prof.layer_sum * 1e3:,.2f} ms" if e2e else f"layers' sum {prof.layer_sum * 1e3:,.2f} ms")
        ax.set_title(_title(prof) + "\n" + total, fontsize=8)
        fig.suptitle("Mult-Adds are not time: share of Mult-Adds and of measured time by layer type", fontsize=12)
        _warn(fig, prof, f"{prof.analysis.counted_text()} · a row's +bn +relu are timed with it")
    return fig


def _warn(fig, prof, footer_text: str) -> None:
    """The figure's footer (``fig.supxlabel``) and under it, in red, the
    profile's inconsistency if any: the footer's text keeps blank lines for the
    warning, so the layout makes room for it and it covers neither the title nor
    the axes."""
    import textwrap

    problem = prof.inconsistency()
    lines = textwrap.wrap("WARNING: " + problem, 150, break_on_hyphens=False) if problem else []
    fig.supxlabel(footer_text + "\n" * len(lines), fontsize=8, color="#444444")
    if lines:
        fig.text(0.5, 0.01, "\n".join(lines), color="#b00000", fontsize=8, va="bottom", ha="center",
                 gid="warning")


FIGURES = {"roofline": roofline_figure, "timeshare": timeshare_figure}


def validation_figure(results: list[dict], cal, out) -> None:
    """Predicted against measured latency of the validation networks (log-log),
    with the y = x line and ±10% / ±25% bands; written whole to ``out``."""
    from pathlib import Path

    from mbcost.documents.output import write_atomic
    from mbcost.figures.plot_style import footer, log_axis, new_figure, output_format, render, require_matplotlib

    require_matplotlib("mbcost calibrate --figure")
    fmt = output_format(Path(out))
    fig = new_figure(7, 5.5, layout="constrained")
    ax = fig.add_subplot()
    measured = [r["measured_ms"] for r in results]
    predicted = [r["predicted_ms"] for r in results]
    lo, hi = min(measured + predicted) / 1.3, max(measured + predicted) * 1.3
    line = [lo, hi]
    ax.plot(line, line, color="#333333", linewidth=1, label="predicted = measured")
    for band, shade in ((0.25, "#eeeeee"), (0.10, "#d9d9d9")):
        ax.fill_between(line, [v * (1 - band) for v in line], [v * (1 + band) for v in line], color=shade,
                        label=f"within ±{band:.0%}", zorder=0)
    def group(r) -> str:
        return r["model"] + (f" (batch {r['batch']})" if r.get("batch", 1) != 1 else "")

    families = sorted({group(r) for r in results})
    markers = "osD^v<>ph*"
    for i, fam in enumerate(families):
        mine = [r for r in results if group(r) == fam]
        points = ax.scatter([r["measured_ms"] for r in mine], [r["predicted_ms"] for r in mine],
                            marker=markers[(i + i // 10) % 10], s=28, label=fam, zorder=3)  # colour i % 10: unique pairs
        # the measurement's own spread: from its figure (the least round) to its slowest round
        ax.errorbar([r["measured_ms"] for r in mine], [r["predicted_ms"] for r in mine],
                    xerr=[[0.0] * len(mine), [r["measured_ms"] * r.get("spread", 0.0) for r in mine]], fmt="none",
                    ecolor=points.get_facecolor()[0], elinewidth=0.8, capsize=2, zorder=2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    log_axis(ax.xaxis)
    log_axis(ax.yaxis)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("measured latency (ms, end to end; bar: to the slowest of 5 rounds)")
    ax.set_ylabel("predicted latency (ms)")
    import statistics

    errors = sorted(abs(r["error"]) for r in results)
    median = statistics.median(errors)
    ax.set_title(f"Predicted against measured: median |error| {median:.1%}, worst {errors[-1]:.1%}", fontsize=10)
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=7, frameon=False)
    batches = sorted({r.get("batch", 1) for r in results})
    footer(fig, f"{cal.machine} · {cal.runtime} · {cal.threads} thread(s) · calibrated {cal.created} · batch "
                + ", ".join(map(str, batches)))
    write_atomic(out, render(fig, fmt))
