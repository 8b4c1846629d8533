"""Benchmark: cold-process time of ``mbcost plot tradeoff --out /tmp/x.svg``.

Each run is a fresh process, as a user pays it: Python's start, mbcost's and
matplotlib's imports, 16 + 4 analyses, the figure with its label placement and
the SVG written atomically. One untimed run first warms the page cache (and
matplotlib's font cache); then ``--runs`` timed runs (default 5), median
reported. For scale it also times a bare ``import matplotlib.figure`` (plus the
Agg backend) the same way: the part of the command that is matplotlib's import.
With ``--write`` the figures replace the ``## mbcost plot tradeoff`` section of
benchmarks/RESULTS.md (other sections are left as they are).

    python benchmarks/plot_cold.py [--runs 5] [--write]
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _common
from _common import RESULTS, ROOT

HEADING = "## mbcost plot tradeoff"
OUT = "/tmp/x.svg"


def mbcost_command() -> list[str]:
    """The console script beside this interpreter (as installed), else ``python -m mbcost``."""
    script = Path(sys.executable).with_name("mbcost")
    if script.is_file():
        return [str(script)]
    found = shutil.which("mbcost")
    return [found] if found else [sys.executable, "-m", "mbcost"]


def time_once(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return seconds


def measure(cmd: list[str], runs: int) -> list[float]:
    time_once(cmd)  # warm-up, not counted
    return [time_once(cmd) for _ in range(runs)]


def section(plot: list[float], imports: list[float], cmd: list[str], size: int, info: dict, load: str) -> str:
    median, med_import = statistics.median(plot), statistics.median(imports)
    shown = " ".join(["mbcost" if i == 0 and c.endswith("mbcost") else c for i, c in enumerate(cmd)])
    lines = [
        HEADING,
        "",
        f"Measured {datetime.date.today().isoformat()} with `python benchmarks/plot_cold.py --runs {len(plot)} "
        "--write`.",
        "",
        f"- Command: `{shown}` in a fresh process each time (console script: imports, the 16 checkpoints' "
        f"and the reference networks' analyses, label placement, an SVG of {size / 1024:,.0f} KiB written "
        "atomically); one untimed warm-up run first",
        f"- Wall time: median **{median:.2f} s** over {len(plot)} runs "
        f"({', '.join(f'{s:.2f}' for s in plot)} s)",
        f"- For scale, Python's start and matplotlib's import alone (`python -c \"import matplotlib.figure, "
        f"matplotlib.backends.backend_agg\"`, same method): median {med_import:.2f} s "
        f"({', '.join(f'{s:.2f}' for s in imports)} s)",
        f"- Machine: {_common.machine_text(info)}; load average at start {load} (1/5/15 min; other jobs shared "
        "the machine when it is above the CPU count)",
        f"- Versions: {_common.versions_text(info['versions'])}",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs (median reported)")
    parser.add_argument("--write", action="store_true", help=f"record the figures in {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    info = _common.machine("matplotlib", "numpy")
    load = _common.load_average()
    cmd = mbcost_command() + ["plot", "tradeoff", "--out", OUT]
    plot = measure(cmd, args.runs)
    size = Path(OUT).stat().st_size
    imports = measure([sys.executable, "-c", "import matplotlib.figure, matplotlib.backends.backend_agg"],
                      args.runs)
    text = section(plot, imports, cmd, size, info, load)
    print(text)
    if args.write:
        _common.write_section(text)
        print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
