"""Consecutive ``mbcost calibrate`` + ``mbcost calibrate --validate`` runs (issue 25).

Each run calibrates a new file and validates it at once, through the command
line, as a user would; then the runs are compared: each run's median and worst
|error| on the held-out configurations, its measurements' spread, and how much
the runs themselves moved (the same configuration's prediction from one
calibration to the next, and its measurement from one validation to the next).

    python benchmarks/latency_runs.py [--runs 3] [--runtime torch] [--out DIR]

Run it on a quiet machine (nothing else timing or building); it takes about
3.5 minutes a run at the default budgets. The files, the validation JSON and the
first run's figure stay in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def mbcost(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "mbcost", *args], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"mbcost {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--runtime", default="torch")
    parser.add_argument("--out", default="latency_runs")
    parser.add_argument("--budget", type=float, nargs=2, metavar=("CALIBRATE", "VALIDATE"),
                        help="seconds of timed calls for each (default: the commands' own, 120 and 60)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} · load {os.getloadavg()[0]:.2f} · runtime {args.runtime}")
    runs = []
    for k in range(1, args.runs + 1):
        cal = os.path.join(args.out, f"{args.runtime}{k}.json")
        started = time.perf_counter()
        budgets = (["--budget", str(args.budget[0])], ["--budget", str(args.budget[1])]) if args.budget else ([], [])
        mbcost("calibrate", "--output", cal, "--runtime", args.runtime, "--format", "json", *budgets[0])
        calibrated = time.perf_counter() - started
        extra = ["--figure", os.path.join(args.out, f"{args.runtime}{k}.png")] if k == 1 else []
        data = json.loads(mbcost("calibrate", "--validate", cal, "--format", "json", *extra, *budgets[1]))
        validated = time.perf_counter() - started - calibrated
        with open(os.path.join(args.out, f"{args.runtime}{k}_validation.json"), "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        fit = json.load(open(cal, encoding="utf-8"))["fit"]
        runs.append(data)
        worst = max(data["results"], key=lambda r: abs(r["error"]))
        print(f"run {k}: calibrate {calibrated:.0f} s (held out: median {100 * fit['heldout']['median_error']:.1f}%, "
              f"worst {100 * fit['heldout']['worst_error']:.1f}%; wall/CPU {fit['clock_ratio_wall_over_cpu']:.4f}), "
              f"validate {validated:.0f} s: median |error| {100 * data['median_abs_error']:.1f}%, worst "
              f"{100 * data['worst_abs_error']:.1f}% ({worst['model']} {worst['alpha']}-{worst['resolution']} batch "
              f"{worst['batch']}: {100 * worst['error']:+.1f}%); spread median {100 * data['median_spread']:.1f}%, "
              f"worst {100 * data['worst_spread']:.1f}%; machine now / at calibration "
              f"{data.get('machine_drift', {}).get('median_ratio', float('nan')):.3f} · load {os.getloadavg()[0]:.2f}",
              flush=True)
    if len(runs) < 2:
        return
    print("\nper configuration: predicted ms per run / measured ms per run / error % per run (spread %)")
    moved_p, moved_m = [], []
    for i, first in enumerate(runs[0]["results"]):
        p = [r["results"][i]["predicted_ms"] for r in runs]
        m = [r["results"][i]["measured_ms"] for r in runs]
        moved_p.append(max(p) / min(p) - 1)
        moved_m.append(max(m) / min(m) - 1)
        print(f"  {first['model']:38s} {first['alpha']:<5} {first['resolution']:>3} b{first['batch']}  "
              + " ".join(f"{v:7.2f}" for v in p) + "  /" + " ".join(f"{v:7.2f}" for v in m) + "  /"
              + " ".join(f"{100 * r['results'][i]['error']:+6.1f}" for r in runs)
              + "  (" + " ".join(f"{100 * r['results'][i]['spread']:.0f}" for r in runs) + ")")
    print(f"\npredictions of one configuration across the {len(runs)} calibrations: median "
          f"{100 * statistics.median(moved_p):.1f}% apart, worst {100 * max(moved_p):.1f}%")
    print(f"measurements of one configuration across the {len(runs)} validations: median "
          f"{100 * statistics.median(moved_m):.1f}% apart, worst {100 * max(moved_m):.1f}%")


if __name__ == "__main__":
    main()
