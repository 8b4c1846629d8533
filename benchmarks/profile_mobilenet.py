"""Measured time by layer type for MobileNet 1.0-224 and 0.5-160 (``mbcost profile``).

For each network, thread count, memory format and timing method, the whole
profile is run ``--rounds`` times (each round: every layer timed, alone or inside
whole passes, median of its per-call times, then the whole forward pass); the tables give, per layer type, the share
of the Mult-Adds, the median over the rounds of the share of measured time (with
the lowest and highest round), and the achieved GMAC/s; then the end-to-end
latency (median over rounds of the per-round medians, the per-round IQR, and the
spread across rounds). The machine, torch, the date and the load average before
and after are printed, because the numbers mean nothing without them.

    python benchmarks/profile_mobilenet.py [--threads 1,2] [--formats nchw,nhwc] [--methods isolated,in-context]
                                           [--rounds 3] [--budget 0.5] [--json results.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys

import torch

from mbcost import analyze
from mbcost.adapters.profile import profile

import _common

CONFIGS = [("1.0-224", 1.0, 224), ("0.5-160", 0.5, 160)]


def machine() -> dict:
    """The machine, as printed and as written to --json."""
    info = _common.machine("torch")
    return {
        "cpu": info["cpu"],
        "nproc": info["nproc"],
        "ram": info["ram"],
        "python": info["versions"]["Python"],
        "torch": info["versions"]["torch"],
        "torch_default_threads": torch.get_num_threads(),
        "date": datetime.date.today().isoformat(),
        "platform": info["platform"],
    }


def run(label, alpha, res, threads, channels_last, method, rounds, budget, min_reps) -> dict:
    analysis = analyze("mobilenet_v1", alpha=alpha, resolution=res)
    before = _common.load_average(sep=" ")
    profiles = [profile(analysis, threads=threads, budget=budget, min_reps=min_reps, channels_last=channels_last,
                        method=method) for _ in range(rounds)]
    after = _common.load_average(sep=" ")
    types = [s.category for s in profiles[0].by_type()]
    rows = []
    for cat in sorted(types, key=lambda c: -next(s.mult_adds for s in profiles[0].by_type() if s.category == c)):
        per = [next(s for s in p.by_type() if s.category == cat) for p in profiles]
        rows.append({
            "type": cat,
            "layers": per[0].layers,
            "mult_adds_pct": per[0].mult_adds_pct,
            "time_pct_median": statistics.median(s.time_pct for s in per),
            "time_pct_min": min(s.time_pct for s in per),
            "time_pct_max": max(s.time_pct for s in per),
            "time_ms_median": 1e3 * statistics.median(s.time for s in per),
            "gmacs_median": statistics.median(s.gmacs for s in per),
        })
    e2e = [p.end_to_end for p in profiles]
    return {
        "label": label, "threads": threads, "format": "nhwc" if channels_last else "nchw", "method": method,
        "rounds": rounds,
        "budget_s": budget, "load_before": before, "load_after": after,
        "mult_adds": profiles[0].mult_adds,
        "types": rows,
        "e2e_ms_median": 1e3 * statistics.median(t.median for t in e2e),
        "e2e_ms_rounds": [round(1e3 * t.median, 3) for t in e2e],
        "e2e_iqr_ms_rounds": [round(1e3 * t.iqr, 3) for t in e2e],
        "e2e_reps_rounds": [t.reps for t in e2e],
        "layer_sum_ms_rounds": [round(1e3 * p.layer_sum, 3) for p in profiles],
        "layer_reps_range": [min(t.timing.reps for p in profiles for t in p.layers),
                             max(t.timing.reps for p in profiles for t in p.layers)],
        "layer_rel_iqr_median": statistics.median(t.timing.iqr / t.time for p in profiles for t in p.layers
                                                  if t.time > 0),
    }


def markdown(result: dict) -> str:
    r = result
    out = [f"#### MobileNet {r['label']} · {r['threads']} thread{'s' if r['threads'] != 1 else ''} · "
           f"{r['format'].upper()} · {r['method']} · {r['rounds']} rounds (load avg before {r['load_before']}, "
           f"after {r['load_after']})", "",
           "| Type | Layers | % Mult-Adds | % time (median of rounds) | range over rounds | time (ms) | GMAC/s |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for t in r["types"]:
        out.append(f"| {t['type']} | {t['layers']} | {t['mult_adds_pct']:.2f} | {t['time_pct_median']:.2f} | "
                   f"{t['time_pct_min']:.2f} – {t['time_pct_max']:.2f} | {t['time_ms_median']:.2f} | "
                   f"{t['gmacs_median']:.1f} |")
    e2e = r["e2e_ms_median"]
    out += ["", f"End to end: median {e2e:.2f} ms ({r['mult_adds'] / e2e / 1e6:.1f} GMAC/s); per round "
            f"{r['e2e_ms_rounds']} ms, IQR {r['e2e_iqr_ms_rounds']} ms, reps {r['e2e_reps_rounds']}; "
            f"sum of layer medians per round {r['layer_sum_ms_rounds']} ms; timed calls per layer "
            f"{r['layer_reps_range'][0]}–{r['layer_reps_range'][1]}; median IQR/median over layers "
            f"{100 * r['layer_rel_iqr_median']:.1f}%", ""]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--formats", default="nchw,nhwc", help="memory formats: nchw (torch's default), nhwc")
    ap.add_argument("--methods", default="isolated,in-context", help="timing methods: isolated, in-context")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--budget", type=float, default=0.5, help="seconds of timed calls per layer")
    ap.add_argument("--min-reps", type=int, default=30)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    info = machine()
    print("## mbcost profile: MobileNet v1, measured\n")
    print(f"- machine: {_common.machine_text(info)}")
    print(f"- torch {info['torch']} (default threads {info['torch_default_threads']}), Python {info['python']}, "
          f"{info['date']}")
    print(f"- each round: every layer timed ({args.budget:g} s of timed calls per layer, at least {args.min_reps}), "
          "then the whole forward pass; batch 1, fp32; isolated = each layer alone on its captured inputs, "
          "in-context = each layer inside whole forward passes\n")
    results = []
    for label, alpha, res in CONFIGS:
        for threads in [int(t) for t in args.threads.split(",")]:
            for fmt in args.formats.split(","):
                for method in args.methods.split(","):
                    r = run(label, alpha, res, threads, fmt.strip().lower() == "nhwc", method.strip(), args.rounds,
                            args.budget, args.min_reps)
                    results.append(r)
                    print(markdown(r), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"machine": info, "results": results}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
