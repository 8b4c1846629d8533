"""The document of ``mbcost profile``: measured time by layer type beside the
Mult-Adds share, per-layer timings, memory. (The cost documents are in
:mod:`mbcost.documents.views`.)"""

from __future__ import annotations

import statistics

from mbcost.core.conventions import fmt_alpha
from mbcost.documents.render import Column, Document, Table
from mbcost.documents.views import MEMORY_NOTE, kb, memory_summary

def profile_document(prof) -> Document:
    """``mbcost profile``: measured time by layer type beside the Mult-Adds share,
    per-layer timings with memory and intensity, the memory figures."""
    import os

    from mbcost.attachments.memory import fmt_bytes

    a, mem = prof.analysis, prof.memory
    heading = (f"mbcost profile: {a.model} · alpha {fmt_alpha(a.config.alpha)} · input {a.input} · batch {prof.batch} "
               f"· {prof.device}")
    threads = f", {prof.threads} thread{'s' if prof.threads != 1 else ''}" if prof.threads else ""
    torch_runtime = prof.runtime == "torch"
    if torch_runtime:
        first = (f"measured on {prof.device_name}{threads} ({os.cpu_count()} logical CPUs) · torch {prof.torch_version}"
                 f" · memory format {prof.memory_format}")
        how = (f"each row timed alone on its captured inputs: warm-up calls, then per-call timings filling about "
               f"{prof.budget:g} s (at least {prof.min_reps}, at most {prof.max_reps})" if prof.method == "isolated"
               else f"each row timed inside whole forward passes (in context): warm-up passes, then passes filling "
               f"about {prof.budget:g} s per row (at least {prof.min_reps}, at most {prof.max_reps})")
    else:
        threads = threads or f", {prof.runtime}'s default threads"
        first = (f"measured on {prof.device_name}{threads} ({os.cpu_count()} logical CPUs) · {prof.runtime_text} · "
                 f"exported from torch {prof.torch_version}")
        how = (f"each row timed inside whole forward passes by {prof.runtime}'s profiler (the durations of the nodes "
               f"the row became, 1 µs resolution, summed per pass): warm-up passes, then passes filling about "
               f"{prof.budget:g} s per row (at least {prof.min_reps}, at most {prof.max_reps}); end to end timed "
               "around session.run in a second session, without the profiler")
    settings = [
        first,
        how + "; median and inter-quartile range (IQR) shown, repetitions in Reps; time shares are of the sum of the "
        "rows' medians",
        a.counted_text() + "; a row's post ops (+bn +relu) are timed with it",
        MEMORY_NOTE + "; fp32",
    ]
    shares = prof.by_type()
    ms = 1e3
    by_type = Table(
        "By layer type",
        [Column("Type"), Column("Layers", True), Column("Mult-Adds", True), Column("% Mult-Adds", True),
         Column("Time (ms)", True), Column("% Time", True), Column("GMAC/s", True)],
        [[s.category, s.layers, s.mult_adds, s.mult_adds_pct, s.time * ms, s.time_pct, s.gmacs] for s in shares],
        ["Total", len(prof.layers), prof.mult_adds, 100.0, prof.layer_sum * ms, 100.0,
         prof.mult_adds / prof.layer_sum / 1e9 if prof.layer_sum > 0 else 0.0],
    )
    us = 1e6
    per_layer = Table(
        "Per layer",
        [Column("Layer"), Column("Type", priority=1), Column("In kB", True, priority=-2),
         Column("Out kB", True, priority=-2), Column("Alive kB", True, priority=-1), Column("Mult-Adds", True, priority=2),
         Column("MAC/B", True), Column("Median (µs)", True, priority=3), Column("IQR (µs)", True, priority=-1),
         Column("Reps", True, priority=-3), Column("% Time", True, priority=5), Column("GMAC/s", True, priority=4)],
        # what profile is for (time, its share, the throughput) stays on a narrow terminal; memory goes first
        [[t.name, t.category, kb(m.input_bytes), kb(m.output_bytes), kb(m.alive_bytes), t.mult_adds,
          t.intensity, t.time * us, t.timing.iqr * us, t.timing.reps, prof.time_pct(t), t.gmacs]
         for t, m in zip(prof.layers, mem.layers)],
        tidy=[dict(r, in_bytes=m.input_bytes, out_bytes=m.output_bytes, alive_bytes=m.alive_bytes, gmacs=t.gmacs)
              for r, t, m in zip(prof.records(), prof.layers, mem.layers)],
    )
    peak = mem.peak
    memory_rows = [
        ["network input", fmt_bytes(mem.input_bytes)],
        [f"peak activation memory (while {peak.name} runs)", fmt_bytes(mem.peak_bytes)],
        ["tensors alive at the peak", " + ".join(peak.alive)],
        ["parameters (weights, biases, batch norm)", f"{mem.params:,}"],
    ] + [[f"model size, {d}", fmt_bytes(b)] for d, b in mem.model_sizes.items()]
    memory_table = Table("Memory", [Column("Quantity"), Column("Value")], memory_rows, tidy=[
        {"input_bytes": mem.input_bytes, "peak_bytes": mem.peak_bytes, "peak_at": peak.name,
         "alive_at_peak": " + ".join(peak.alive), "params": mem.params,
         **{f"model_bytes_{d}": b for d, b in mem.model_sizes.items()}}])
    summary = []
    e2e = prof.end_to_end
    if e2e is not None:
        summary.append(
            f"End to end: median {e2e.median * ms:,.3f} ms (IQR {e2e.iqr * ms:,.3f} ms, {e2e.reps} reps), "
            f"{prof.gmacs:,.1f} GMAC/s; sum of the rows' medians {prof.layer_sum * ms:,.3f} ms "
            f"= {100 * prof.layer_sum / e2e.median:,.1f}% of it")
    else:
        summary.append(f"Sum of the rows' medians: {prof.layer_sum * ms:,.3f} ms (end to end not measured)")
    if prof.fused:
        into: dict[str, list[str]] = {}
        for row, target in prof.fused.items():
            into.setdefault(target, []).append(row)
        parts = [f"{', '.join(rows)} into {target}" for target, rows in into.items() if target]
        if parts:
            summary.append(f"Fused by {prof.runtime}: {'; '.join(parts)} (no node of their own ran: their time is in "
                           "the row named, theirs shows 0)")
        if "" in into:
            summary.append(f"Not run by {prof.runtime}: {', '.join(into[''])} (no node at inference: nothing to time)")
    if prof.unassigned:
        ops: dict[str, int] = {}
        for u in prof.unassigned:
            ops[u.op or u.name] = ops.get(u.op or u.name, 0) + 1
        kinds = ", ".join(f"{op} ×{n}" for op, n in ops.items())
        total = prof.layer_sum + prof.unassigned_time
        share = f", {100 * prof.unassigned_time / total:.1f}% of all nodes' time" if total > 0 else ""
        what = "; layout conversions it inserted" if all(op.startswith("Reorder") for op in ops) else ""
        summary.append(f"In no row: {len(prof.unassigned)} {prof.runtime} node{'s' if len(prof.unassigned) != 1 else ''}"
                       f" ({kinds}{what}) took {prof.unassigned_time * ms:,.3f} ms per pass"
                       f"{share}, counted in no row's time")
    problem = prof.inconsistency()
    if problem:
        summary.insert(0, "WARNING: " + problem)
    spreads = sorted(t.timing.iqr / t.time for t in prof.layers if t.time > 0)
    if spreads:
        spread = spreads[len(spreads) // 2]
        whole = f"; end to end {100 * e2e.iqr / e2e.median:.0f}%" if e2e is not None and e2e.median > 0 else ""
        hint = (" (noisy: other load on the machine? try --threads 1, a larger --budget, or repeat)"
                if spread > 0.25 else "")
        summary.append(f"Spread: the median layer's IQR is {100 * spread:.0f}% of its median{whole}{hint}")
    if shares:
        top = max(shares, key=lambda s: (s.mult_adds, s.time))
        summary.append(f"{top.category}: {top.mult_adds_pct:.2f}% of the Mult-Adds, {top.time_pct:.2f}% of the "
                       f"measured time, {top.gmacs:,.1f} GMAC/s")
    summary.append(memory_summary(mem))
    return Document(heading, settings, [by_type, per_layer, memory_table], prof.to_dict(), summary,
                    csv_rows=per_layer.records())


# -- mbcost calibrate ------------------------------------------------------------------------------------------

def calibration_document(cal, path: str) -> Document:
    """``mbcost calibrate --output FILE``: what was measured and how well each kind's model holds."""
    threads = f"{cal.threads} thread{'s' if cal.threads != 1 else ''}"
    settings = [
        f"measured on {cal.machine} · {cal.runtime} · {threads} · {', '.join(f'{k} {v}' for k, v in cal.versions.items())}"
        f" · {cal.created} · {cal.seconds_spent:.0f} s",
        f"{sum(x.batch == 1 for x in cal.samples)} one-layer shapes at batch 1 (fitted) and "
        f"{sum(x.batch != 1 for x in cal.samples)} at a batch (checks), each timed in 3 rounds (shuffled; outliers past 3 IQR dropped; "
        "median of the rounds' medians); every 4th shape of a kind held out of the fit",
        "forms: linear t = c0 + c1·mult_adds + c2·other + c3·bytes; roofline t = c0 + max(c1·mult_adds, c3·bytes) + "
        "c2·other; the one with the smaller held-out error is kept",
    ]
    if cal.bandwidth_bytes_per_s:
        settings.append(f"memory bandwidth (32 MiB copy): {cal.bandwidth_bytes_per_s / 1e9:.1f} GB/s · per-call "
                        f"overhead of {cal.runtime} (an identity on one number): {cal.call_overhead_s * 1e6:.1f} µs")
    if cal.ridge_point:
        settings.append(f"peak MAC rate (a 1x1 conv, 512 -> 512 on 28 x 28, fp32): {cal.peak_macs_per_s / 1e9:.1f} G MAC/s"
                        f" · ridge point {cal.ridge_point:.1f} MACs per byte (mbcost roofline --machine)")
    net = cal.network
    if net:
        per_byte = float(net.get("per_byte_s", 0.0))
        bytes_term = (f" + {1e12 * per_byte:.1f} ps × bytes moved (1 / {1e-9 / per_byte:.1f} GB/s)" if per_byte > 0
                      else " + 0 × bytes moved")
        settings.append(f"in a network: t = {net['scale']:.3f} × Σ isolated rows + {1e6 * net['per_row_s']:.1f} µs × "
                        f"rows{bytes_term}, fitted on {net['networks']} synthetic networks timed whole (median error "
                        f"{100 * net['median_error']:.1f}%, worst {100 * net['worst_error']:.1f}%)")
    check = cal.batch_check or {}
    parts = [f"{what}: {c['count']} {'one-layer shapes' if what == 'layers' else 'synthetic networks'}, median error "
             f"{100 * c['median_error']:.1f}%, worst {100 * c['worst_error']:.1f}%, on average "
             f"{100 * abs(c['mean_signed_error']):.1f}% {'low' if c['mean_signed_error'] < 0 else 'high'}"
             for what, c in check.items() if isinstance(c, dict) and c]
    if parts:
        settings.append("at a batch of more than one image (timed, never fitted: the batch-1 models predict them) "
                        + "; ".join(parts))
    rows = [[kind, m.form, m.train, m.heldout, 100 * m.heldout_median_error, 100 * m.heldout_worst_error,
             100 * m.other_form_error if m.other_form_error is not None else None, m.coef[0] * 1e6]
            for kind, m in cal.models.items()]
    table = Table("Models by layer kind",
                  [Column("Kind"), Column("Form"), Column("Shapes fitted", True), Column("Held out", True),
                   Column("Held-out median error %", True), Column("Held-out worst error %", True),
                   Column("Other form's median %", True), Column("c0 (µs)", True)], rows)
    return Document(f"mbcost calibrate: {path}", settings, [table], cal.to_dict(),
                    [f"wrote {path}: use it with mbcost table --latency {path}"])


def validation_document(cal, results: list[dict]) -> Document:
    """``mbcost calibrate --validate FILE``: predicted against measured end to end."""
    errors = sorted(abs(r["error"]) for r in results)
    median = statistics.median(errors)
    rows = [[r["model"], fmt_alpha(r["alpha"]), r["resolution"], r.get("batch", 1), r["mult_adds"], r["predicted_ms"],
             r["measured_ms"], 100 * r["error"]] for r in results]
    table = Table("Predicted against measured (end to end; Mult-Adds per image, times per pass of the batch)",
                  [Column("Model"), Column("Alpha"), Column("Resolution", True), Column("Batch", True),
                   Column("Mult-Adds", True), Column("Predicted ms", True), Column("Measured ms", True),
                   Column("Error %", True)], rows)
    threads = f"{cal.threads} thread{'s' if cal.threads != 1 else ''}"
    settings = [f"calibration {cal.source}: {cal.machine} · {cal.runtime} · {threads} · made {cal.created}",
                "measured: the whole network's forward pass, in 3 rounds over all the networks (each round "
                "shuffled; warm-up calls then timed calls, median after dropping outliers past 3 IQR; the median of "
                "the rounds); predicted: its rows' predictions with the in-network correction; none of "
                "these networks was measured to calibrate"]
    data = {"calibration": cal.source, "machine": cal.machine, "runtime": cal.runtime, "threads": cal.threads,
            "results": results, "median_abs_error": median, "worst_abs_error": errors[-1]}
    summary = [f"median |error| {100 * median:.1f}%, worst {100 * errors[-1]:.1f}% over {len(results)} networks "
               "(goal: 10% and 25% at 1 thread)"]
    return Document("mbcost calibrate --validate", settings, [table], data, summary)
