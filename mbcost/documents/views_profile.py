"""The document of ``mbcost profile``: measured time by layer type beside the
Mult-Adds share, per-layer timings, memory. (The cost documents are in
:mod:`mbcost.documents.views`.)"""

from __future__ import annotations

import statistics
from fractions import Fraction

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
        whole = getattr(prof, "whole", None)
        if whole is not None:
            summary.append(f"End to end as calibrate --validate measures it: {whole.seconds * ms:,.3f} ms (the least "
                           f"of 5 interleaved rounds' medians, {whole.clock} clock), spread {100 * whole.spread:.1f}% "
                           "between the rounds")
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

PROTOCOL = ("timed in 5 interleaved rounds (each round shuffled; one warm-up call, then timed calls); a figure is the "
            "least of the rounds' medians, its spread (largest - least) / least of them")


def _clock_text(cal) -> str:
    return ("this thread's CPU time (one thread: the work runs on it; time spent waiting for a core is not counted)"
            if cal.clock == "cpu" else "the wall clock")


def calibration_document(cal, path: str) -> Document:
    """``mbcost calibrate --output FILE``: what was measured and how well the model holds."""
    from mbcost.attachments.latency import heldout_text

    threads = f"{cal.threads} thread{'s' if cal.threads != 1 else ''}"
    fit = cal.fit or {}
    fitted = sum(1 for n in cal.networks if n.get("role") == "fitted")
    settings = [
        f"measured on {cal.machine} · {cal.runtime} · {threads} · {', '.join(f'{k} {v}' for k, v in cal.versions.items())}"
        f" · {cal.created} · {cal.seconds_spent:.0f} s",
        f"{len(cal.networks)} synthetic networks (none a zoo network), each {PROTOCOL}, on {_clock_text(cal)}; "
        f"{fitted} fitted ({fit.get('rows', 0):,} rows timed inside their passes), the others held out",
        "model: a call's time is linear in its kind's features (per call: measured on the cheapest call of the "
        "kind; the rest fitted, never negative); a row is the sum of its calls; a network "
        f"{cal.correction.get('scale', 1):.3f} × the sum of its rows + {1e6 * cal.per_pass_s:.0f} µs per pass "
        f"(L2 cache {cal.l2_bytes // 1024:,} KiB)",
    ]
    if cal.bandwidth_bytes_per_s:
        settings.append(f"memory bandwidth (32 MiB copy): {cal.bandwidth_bytes_per_s / 1e9:.1f} GB/s")
    if cal.ridge_point:
        settings.append(f"peak MAC rate (a 1x1 conv, 512 -> 512 on 28 x 28, fp32): {cal.peak_macs_per_s / 1e9:.1f} G MAC/s"
                        f" · ridge point {cal.ridge_point:.1f} MACs per byte (mbcost roofline --machine)")
    if fit.get("allocator"):
        settings.append(f"memory allocator while timing: {fit['allocator']}")
    if fit.get("clock_ratio_wall_over_cpu"):
        settings.append(f"wall clock / CPU time, median over the networks: {fit['clock_ratio_wall_over_cpu']:.3f}"
                        " (near 1: the machine was quiet)")
    table = explain_table(cal)
    summary = [f"model {heldout_text(cal)}" if heldout_text(cal) else "no network was held out", kinds_note(),
               f"wrote {path}: use it with mbcost table --latency {path}; mbcost calibrate --validate {path} checks it on "
               "zoo networks; --explain prints the models"]
    return Document(f"mbcost calibrate: {path}", settings, [table], cal.to_dict(), summary)


def explain_table(cal) -> Table:
    from mbcost.attachments.latency import explain

    return Table("Each call kind's model: time per call, per Mult-Add (MAC), per element, per byte (B), per channel "
                 "plane, per byte past the L2 cache; \"alone\": the kind's cheapest call timed alone",
                 [Column("Kind"), Column("Time of one call")], [[kind, model] for kind, _, model in explain(cal)])


def kinds_note() -> str:
    from mbcost.attachments.latency import KIND_TEXT

    return "call kinds: " + "; ".join(f"{kind} {what}" for kind, what in KIND_TEXT.items())


def explain_document(cal) -> Document:
    """``mbcost calibrate --explain FILE``: each call kind's model, and the networks fitted and held out."""
    from mbcost.attachments.latency import explain, heldout_text

    threads = f"{cal.threads} thread{'s' if cal.threads != 1 else ''}"
    settings = [f"calibration {cal.source}: {cal.machine} · {cal.runtime} · {threads} · made {cal.created} · "
                f"clock: {cal.clock} · L2 {cal.l2_bytes // 1024:,} KiB",
                "a call's time: the sum over its kind's terms; a row's: the sum of its calls' × "
                f"{cal.correction.get('scale', 1):.3f}; a network's: the sum of its rows + {1e6 * cal.per_pass_s:.0f} µs",
                "per-call terms are measured (the kind's cheapest call), the others fitted by non-negative least squares "
                "on rows timed inside whole synthetic networks"]
    nets = Table("Networks timed to calibrate (fitted, and held out of the fit)",
                 [Column("Network"), Column("Batch", True), Column("Mult-Adds", True), Column("Measured ms", True),
                  Column("Spread %", True), Column("Predicted ms", True), Column("Error %", True), Column("Role")],
                 [[n["name"], n["batch"], n["mult_adds"], n["measured_ms"], 100 * n["spread"], n["predicted_ms"],
                   100 * (n["predicted_ms"] - n["measured_ms"]) / n["measured_ms"], n["role"]]
                  for n in cal.networks if isinstance(n, dict) and n.get("measured_ms")])
    validation = Table("Configurations calibrate --validate times (never fitted)",
                       [Column("Model"), Column("Alpha"), Column("Resolution", True), Column("Batch", True)],
                       [[v["model"], fmt_alpha(Fraction(str(v["alpha"]))), v["resolution"], v["batch"]]
                        for v in cal.validation if isinstance(v, dict)])
    summary = ([f"model {heldout_text(cal)}"] if heldout_text(cal) else []) + [kinds_note()]
    return Document(f"mbcost calibrate --explain {cal.source}", settings, [explain_table(cal), nets, validation],
                    {"calibration": cal.source, "models": [{"kind": k, "what": w, "model": m} for k, w, m in
                                                            explain(cal)],
                     "coef": cal.coef, "correction": cal.correction, "networks": cal.networks,
                     "validation": cal.validation}, summary)


def validation_document(cal, results: list[dict], drift: dict | None = None) -> Document:
    """``mbcost calibrate --validate FILE``: predicted against measured end to end, with each measurement's spread."""
    errors = sorted(abs(r["error"]) for r in results)
    median = statistics.median(errors)
    rows = [[r["model"], fmt_alpha(Fraction(str(r["alpha"]))), r["resolution"], r.get("batch", 1), r.get("route", "spec"),
             r["mult_adds"], r["predicted_ms"], r["measured_ms"], 100 * r["spread"], 100 * r["error"]] for r in results]
    table = Table("Predicted against measured (end to end; Mult-Adds per image, times per pass of the batch)",
                  [Column("Model"), Column("Alpha"), Column("Res.", True), Column("Batch", True), Column("Route"),
                   Column("Mult-Adds", True), Column("Predicted ms", True), Column("Measured ms", True),
                   Column("Spread %", True), Column("Error %", True)], rows)
    threads = f"{cal.threads} thread{'s' if cal.threads != 1 else ''}"
    spreads = sorted(r["spread"] for r in results)
    settings = [f"calibration {cal.source}: {cal.machine} · {cal.runtime} · {threads} · made {cal.created}",
                f"measured: each network's forward pass, {PROTOCOL}, on {_clock_text(cal)}; predicted: a spec's rows "
                "decomposed into their calls, a torch model's (route torch) calls traced from one pass; none of these "
                "networks was timed to calibrate"]
    if results and results[0].get("allocator"):
        settings.append(f"memory allocator while timing: {results[0]['allocator']}")
    data = {"calibration": cal.source, "machine": cal.machine, "runtime": cal.runtime, "threads": cal.threads,
            "results": results, "median_abs_error": median, "worst_abs_error": errors[-1],
            "median_spread": statistics.median(spreads), "worst_spread": spreads[-1]}
    summary = [f"median |error| {100 * median:.1f}%, worst {100 * errors[-1]:.1f}% over {len(results)} networks "
               "(goal: 10% and 25% at 1 thread); the measurements' own spread: median "
               f"{100 * statistics.median(spreads):.1f}%, worst {100 * spreads[-1]:.1f}%"]
    if drift:
        ratio = drift["median_ratio"]
        data["machine_drift"] = drift
        summary.append(f"the machine now: {len(drift['anchors'])} of the calibration's held-out networks, timed again "
                       f"among these, take {ratio:.3f} × their time at calibration (median; "
                       + ", ".join(f"{a['now_ms'] / a['then_ms']:.2f}" for a in drift["anchors"])
                       + "): the errors above are not corrected for it")
    return Document("mbcost calibrate --validate", settings, [table], data, summary)
