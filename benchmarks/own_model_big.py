"""Counting a model too big to allocate comfortably, side by side in one run:
mbcost (``table --torch``: built on the meta device), fvcore and ptflops (both
build the model on the CPU and run it), on benchmarks/big_model.py (1.1 B
parameters), input 1x3x8x8. Each counter runs in a fresh process under
/usr/bin/time: wall seconds and peak resident memory; the three Mult-Adds
counts must be equal (conv + fc multiply-accumulates).

    python benchmarks/own_model_big.py [--record]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
INPUT = (1, 3, 8, 8)

FVCORE = f"""
import sys, torch
sys.path.insert(0, {str(HERE)!r})
from big_model import build
from fvcore.nn import FlopCountAnalysis
m = build().eval()
a = FlopCountAnalysis(m, torch.zeros{INPUT})
a.unsupported_ops_warnings(False); a.uncalled_modules_warnings(False)
with torch.no_grad():
    print(int(a.total()), sum(p.numel() for p in m.parameters()))
"""

PTFLOPS = f"""
import sys, torch
sys.path.insert(0, {str(HERE)!r})
from big_model import build
from ptflops import get_model_complexity_info
m = build().eval()
with torch.no_grad():
    macs, params = get_model_complexity_info(m, {INPUT[1:]}, as_strings=False, print_per_layer_stat=False,
                                             backend="pytorch")
print(int(macs), int(params))
"""


def timed(args: list[str]) -> tuple[float, float, str]:
    with tempfile.NamedTemporaryFile("r", suffix=".time") as log:
        out = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", log.name, *args], capture_output=True,
                             text=True, check=True, env=dict(os.environ, PYTHONWARNINGS="ignore"))
        wall, kb = log.read().split()[-2:]
    return float(wall), int(kb) / 1024, out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="print a RESULTS.md section")
    options = parser.parse_args()
    shape = "x".join(map(str, INPUT))
    wall, mem, out = timed([sys.executable, "-m", "mbcost", "table", "--torch",
                            f"{HERE / 'big_model.py'}:build", "--input", shape, "--params", "all", "-f", "json"])
    data = json.loads(out)
    rows = [("mbcost (meta device)", wall, mem, data["total"]["mult_adds"], data["total"]["params"])]
    # fvcore's default handles also count adaptive_avg_pool2d: mbcost with the pool counted must equal it
    pooled = json.loads(subprocess.run([sys.executable, "-m", "mbcost", "table", "--torch",
                                        f"{HERE / 'big_model.py'}:build", "--input", shape, "--count",
                                        "conv,fc,pool", "-f", "json"], capture_output=True, text=True,
                                       check=True).stdout)["total"]["mult_adds"]
    for name, code in (("fvcore 0.1.5 (CPU)", FVCORE), ("ptflops (CPU, pytorch backend)", PTFLOPS)):
        wall, mem, out = timed([sys.executable, "-c", code])
        macs, params = map(int, out.split()[-2:])
        rows.append((name, wall, mem, macs, params))
    print(f"{'counter':32} {'wall s':>7} {'peak MiB':>9} {'Mult-Adds':>16} {'params':>14}")
    for name, wall, mem, macs, params in rows:
        print(f"{name:32} {wall:7.2f} {mem:9.0f} {macs:16,} {params:14,}")
    base = rows[0]
    for name, wall, mem, macs, params in rows[1:]:
        print(f"{name}: {wall / base[1]:.1f}x mbcost's time, {mem / base[2]:.1f}x its memory; "
              f"Mult-Adds {macs - base[3]:+,} against mbcost's conv + fc")
    print(f"mbcost --count conv,fc,pool: {pooled:,} ({'equal to' if pooled == rows[1][3] else 'DIFFERS from'} "
          "fvcore's default, which counts the adaptive average pool too)")
    if options.record:
        import platform

        print(f"\n- machine: {os.cpu_count()} CPUs, {platform.platform()}; Python {platform.python_version()}")


if __name__ == "__main__":
    main()
