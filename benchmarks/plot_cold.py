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
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
HEADING = "## mbcost plot tradeoff"
OUT = "/tmp/x.svg"


def mbcost_command() -> list[str]:
    """The console script beside this interpreter (as installed), else ``python -m mbcost``."""
    script = Path(sys.executable).with_name("mbcost")
    if script.is_file():
        return [str(script)]
    found = shutil.which("mbcost")
    return [found] if found else [sys.executable, "-m", "mbcost"]


def machine() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    versions = subprocess.run(
        [sys.executable, "-c", "import matplotlib, numpy, sys; "
         "print(matplotlib.__version__, numpy.__version__, sys.version.split()[0])"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    try:
        load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram": ram, "matplotlib": versions[0], "numpy": versions[1],
            "python": versions[2], "os": platform.platform(), "load": load}


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


def section(plot: list[float], imports: list[float], cmd: list[str], size: int, info: dict) -> str:
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
        f"- Machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, {info['os']}; load average at "
        f"start {info['load']} (1/5/15 min; other jobs shared the machine when it is above the CPU count)",
        f"- Versions: Python {info['python']}, matplotlib {info['matplotlib']}, numpy {info['numpy']}",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _m: text + "\n", old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(new.rstrip("\n") + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs (median reported)")
    parser.add_argument("--write", action="store_true", help=f"record the figures in {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    info = machine()
    cmd = mbcost_command() + ["plot", "tradeoff", "--out", OUT]
    plot = measure(cmd, args.runs)
    size = Path(OUT).stat().st_size
    imports = measure([sys.executable, "-c", "import matplotlib.figure, matplotlib.backends.backend_agg"],
                      args.runs)
    text = section(plot, imports, cmd, size, info)
    print(text)
    if args.write:
        write_section(text)
        print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
