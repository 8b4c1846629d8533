"""Cold-process time of `mbcost table --alpha 0.5 --res 160` against a cold-process
fvcore count of the same network.

Each run is a fresh Python process (imports included, as a user pays them).
The fvcore route builds the same spec as a torch module (mbcost's builder, CPU
tensors) and runs FlopCountAnalysis(...).total(). Prints median and spread of
N runs each, and the ratio.

    python benchmarks/cold_start.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

FVCORE_ROUTE = """
import torch
from fvcore.nn import FlopCountAnalysis
from mbcost.adapters.torch_modules import build_module
from mbcost.network import Config
from mbcost.zoo import load
net = load("mobilenet_v1")
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
            subprocess.run(["script", "-qec", " ".join(cmd), "/dev/null"], check=True, stdout=subprocess.DEVNULL)
        else:
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def describe(name: str, times: list[float]) -> str:
    return (f"{name:<44} median {statistics.median(times) * 1000:7.0f} ms   "
            f"min {min(times) * 1000:6.0f}   max {max(times) * 1000:6.0f}   (n={len(times)})")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else 0
    return f"{os.cpu_count()} cores, {cpu}, {mem:.0f} GiB, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(machine())
    subprocess.run(SYMBOLIC_ROUTE, check=True, stdout=subprocess.DEVNULL)  # warm the file cache and .pyc files
    symbolic = timed(SYMBOLIC_ROUTE, args.runs)
    print(describe("mbcost table --alpha 0.5 --res 160 (piped)", symbolic))
    has_script = subprocess.run(["sh", "-c", "command -v script"], capture_output=True).returncode == 0
    if has_script:
        print(describe("same, on a terminal (rich)", timed(SYMBOLIC_ROUTE, args.runs, pty=True)))
    fvcore = [sys.executable, "-c", FVCORE_ROUTE]
    subprocess.run(fvcore, check=True, stdout=subprocess.DEVNULL)
    slow = timed(fvcore, max(3, args.runs // 2))
    print(describe("fvcore FlopCountAnalysis, same network", slow))
    print(f"ratio (median fvcore / median mbcost table): {statistics.median(slow) / statistics.median(symbolic):.1f}x")


if __name__ == "__main__":
    main()
