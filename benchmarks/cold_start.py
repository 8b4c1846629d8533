"""Cold-process time of `mbcost table --alpha 0.5 --res 160` against a cold-process
fvcore count of the same network.

Each run is a fresh Python process (imports included, as a user pays them).
The fvcore route builds the same spec as a torch module (mbcost's builder, CPU
tensors) and runs FlopCountAnalysis(...).total(). Prints median and spread of
N runs each, and the ratio. With ``--write`` the figures replace (or add) the
``## mbcost table (cold start)`` section of benchmarks/RESULTS.md (other
sections are left as they are).

    python benchmarks/cold_start.py [--runs 7] [--write]
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import statistics
import subprocess
import sys
import time

import _common
from _common import RESULTS, ROOT

HEADING = "## mbcost table (cold start)"
# As a user's process runs: bytecode cached (pip compiles an installed package's
# .pyc files; an environment with PYTHONDONTWRITEBYTECODE=1 would recompile every
# module on every run and measure the compiler instead).
USER_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

FVCORE_ROUTE = """
import torch
from fvcore.nn import FlopCountAnalysis
from mbcost.adapters.torch_modules import build_module
from mbcost.core.network import Config
from mbcost.results.zoo import load_network
net = load_network("mobilenet_v1")
model = build_module(net.evaluate(Config.make(alpha=0.5, resolution=160)), device="cpu").eval()
flops = FlopCountAnalysis(model, torch.zeros(1, 3, 160, 160))
flops.unsupported_ops_warnings(False)
flops.uncalled_modules_warnings(False)
print(flops.total())
"""

SYMBOLIC_ROUTE = [sys.executable, "-m", "mbcost", "table", "--alpha", "0.5", "--res", "160"]


def timed(cmd: list[str], runs: int, pty: bool = False) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        if pty:
            # on a terminal: the rich rendering path
            subprocess.run(["script", "-qec", shlex.join(cmd), "/dev/null"], check=True, stdout=subprocess.DEVNULL,
                           env=USER_ENV)
        else:
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=USER_ENV)
        times.append(time.perf_counter() - start)
    return times


def describe(name: str, times: list[float]) -> str:
    return (f"{name:<44} median {statistics.median(times) * 1000:7.0f} ms   "
            f"min {min(times) * 1000:6.0f}   max {max(times) * 1000:6.0f}   (n={len(times)})")


def section(runs: int, symbolic: list[float], terminal: list[float] | None, slow: list[float], info: dict,
            loads: tuple[str, str]) -> str:
    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.0f}"

    median = statistics.median(symbolic)
    on_terminal = (f"median {ms(statistics.median(terminal))} ms over {len(terminal)} run(s)" if terminal else
                   "not measured (`script` not found)")
    lines = [
        HEADING,
        "",
        f"Measured {datetime.date.today().isoformat()} with `python benchmarks/cold_start.py --runs {runs} --write`.",
        "",
        f"- Command: `{' '.join(['python'] + SYMBOLIC_ROUTE[1:])}` in a fresh process each time (imports included, "
        "as a user pays them); one untimed warm-up run first",
        f"- Piped stdout: median **{ms(median)} ms** over {len(symbolic)} run(s) (min {ms(min(symbolic))}, "
        f"max {ms(max(symbolic))} ms)",
        f"- On a terminal (rich rendering, via `script`): {on_terminal}",
        "- fvcore route (the same network built as a torch module by mbcost's builder, CPU tensors, "
        "`FlopCountAnalysis(...).total()`, in a fresh process each time; one untimed warm-up run first): median "
        f"{ms(statistics.median(slow))} ms over {len(slow)} runs",
        f"- Ratio (median fvcore / median piped `mbcost table`): **{statistics.median(slow) / median:.1f}x**",
        f"- Machine: {_common.machine_text(info)}; load average {loads[0]} at the start, {loads[1]} at the end "
        f"(1/5/15 min; above {info['nproc']}, other jobs shared the machine)",
        f"- Versions: {_common.versions_text(info['versions'])}",
        "- Note: piped output is rendered as plain text without importing rich, while a terminal gets rich. "
        "Bytecode caching is on in the measured processes (as for an installed package); with "
        "PYTHONDONTWRITEBYTECODE=1, every module is compiled on every run and the piped median was 311 ms.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write", action="store_true", help=f"record the figures in {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    info = _common.machine()
    print(f"{_common.machine_text(info)}; {_common.versions_text(info['versions'])}")
    start_load = _common.load_average()
    subprocess.run(SYMBOLIC_ROUTE, check=True, stdout=subprocess.DEVNULL, env=USER_ENV)  # file cache, .pyc files
    symbolic = timed(SYMBOLIC_ROUTE, args.runs)
    print(describe("mbcost table --alpha 0.5 --res 160 (piped)", symbolic))
    has_script = subprocess.run(["sh", "-c", "command -v script"], capture_output=True).returncode == 0
    terminal = None
    if has_script:
        terminal = timed(SYMBOLIC_ROUTE, args.runs, pty=True)
        print(describe("same, on a terminal (rich)", terminal))
    fvcore = [sys.executable, "-c", FVCORE_ROUTE]
    subprocess.run(fvcore, check=True, stdout=subprocess.DEVNULL, env=USER_ENV)
    slow = timed(fvcore, max(3, args.runs // 2))
    print(describe("fvcore FlopCountAnalysis, same network", slow))
    print(f"ratio (median fvcore / median mbcost table): {statistics.median(slow) / statistics.median(symbolic):.1f}x")
    if args.write:
        end_load = _common.load_average()
        info["versions"] = _common.versions("typer", "rich", "torch", "fvcore")
        text = section(args.runs, symbolic, terminal, slow, info, (start_load, end_load))
        print()
        print(text)
        _common.write_section(text)
        print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
