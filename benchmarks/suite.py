"""Benchmark: wall and CPU time of the whole test suite, and its ten slowest tests.

Runs the pytest part of the README's test command (the code block after
``<!-- test-command -->``, which .ci/run runs after installing) in a fresh
process, with ``-p suite_durations`` (benchmarks/suite_durations.py: each test's
CPU and wall time), and reports the suite's wall time, its CPU time (user +
system of pytest, its xdist workers and every subprocess they waited for), the
ten slowest tests by CPU time, the machine and the load average before and
after. With ``--write`` the figures go to the ``## Test suite`` section of
benchmarks/RESULTS.md (other sections are kept).

Target: at most 150 s wall on a quiet 2-core machine, for every test.

    python benchmarks/suite.py [--write] [-- extra pytest arguments]
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time

import _common
from _common import BENCHMARKS, RESULTS, ROOT

HEADING = "## Test suite"
TARGET_SECONDS = 150


def readme_pytest_command() -> list[str]:
    """The pytest command of the README's test command (its last ``&&`` part)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- test-command -->\n```sh\n(.*?)\n```", text, re.S)
    if block is None:
        sys.exit("benchmarks/suite.py: no test command after <!-- test-command --> in README.md")
    command = shlex.split(block.group(1).split("&&")[-1])
    if command[:3] != ["python", "-m", "pytest"]:
        sys.exit(f"benchmarks/suite.py: the README's test command does not end in python -m pytest: {command}")
    return [sys.executable, *command[1:]]


def run(extra: list[str]) -> dict:
    command = readme_pytest_command() + ["-p", "suite_durations", "-p", "no:cacheprovider", *extra]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "durations.tsv")
        env = dict(os.environ, SUITE_DURATIONS_OUT=out,
                   PYTHONPATH=os.pathsep.join(filter(None, [str(BENCHMARKS), os.environ.get("PYTHONPATH")])))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        rows = []
        if os.path.exists(out):
            with open(out, encoding="utf-8") as fh:
                for line in fh:
                    cpu, seconds, nodeid = line.rstrip("\n").split("\t", 2)
                    rows.append((float(cpu), float(seconds), nodeid))
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    return {
        "command": " ".join(["python", *command[1:len(readme_pytest_command())]]),
        "exit": proc.returncode,
        "summary": summary.strip("= "),
        "wall": wall,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "tests": sorted(rows, reverse=True),
        "tail": proc.stdout[-3000:] + proc.stderr[-2000:],
    }


def _loaded(load: str, nproc: int) -> bool:
    """Whether a ``"1 / 5 / 15"`` load average says other jobs shared the machine."""
    try:
        return float(load.split("/")[0]) > 0.5 * nproc
    except ValueError:
        return True


def section(result: dict, info: dict, loads: tuple[str, str]) -> str:
    tests = result["tests"]
    shared = _loaded(loads[0], info["nproc"])
    verdict = ("not judged here: the machine was shared, and the target is a quiet machine's; on one the wall time "
               f"is about the CPU time / {info['nproc']} plus starting the workers" if shared else
               "meets" if result["wall"] <= TARGET_SECONDS else "MISSES")
    lines = [
        HEADING,
        "",
        f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC with "
        "`python benchmarks/suite.py --write`.",
        "",
        f"- Command: `{result['command']}` (the README's test command after its installs; what .ci/run runs): "
        f"{result['summary']} (exit {result['exit']})",
        f"- Wall time: **{result['wall']:.0f} s** (target: at most {TARGET_SECONDS} s on a quiet 2-core machine; "
        f"{verdict}). CPU time (user + system of pytest, its workers and their subprocesses): "
        f"{result['cpu']:.0f} s; the {len(tests)} tests' own CPU time sums to {sum(t[0] for t in tests):.0f} s "
        "(the rest is starting the workers and collecting)",
        f"- Machine: {_common.machine_text(info)}; load average {loads[0]} at the start, {loads[1]} at the end "
        f"(1/5/15 min; above {info['nproc']}, other jobs shared the machine and the wall time is longer than on "
        "a quiet one)",
        f"- Versions: {_common.versions_text(info['versions'])}",
        "",
        "The ten slowest tests (CPU seconds of the test, its fixtures and the subprocesses it ran; wall seconds "
        "in this run):",
        "",
        "| CPU s | wall s | test |",
        "|---:|---:|---|",
        *(f"| {cpu:.1f} | {wall:.1f} | `{nodeid}` |" for cpu, wall, nodeid in tests[:10]),
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"record the figures in {RESULTS.relative_to(ROOT)}")
    parser.add_argument("extra", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args()
    start_load = _common.load_average()
    result = run(args.extra)
    end_load = _common.load_average()
    if result["exit"] != 0:
        print(result["tail"], file=sys.stderr)
    text = section(result, _common.machine("pytest", "xdist", "hypothesis", "torch"), (start_load, end_load))
    print(text)
    if args.write:
        if result["exit"] != 0:
            print("not written: the suite failed", file=sys.stderr)
            return 1
        _common.write_section(text)
        print(f"written to {RESULTS}")
    return 0 if result["exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
