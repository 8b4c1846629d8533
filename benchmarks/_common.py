"""Helpers shared by the benchmark scripts in this folder.

The scripts run as ``python benchmarks/NAME.py``, so this folder is first on
``sys.path`` and ``import _common`` finds this file. It imports nothing beyond
the standard library (a benchmark that times cold imports must not pay for
them here):

- ``machine(*modules)``: CPU count and model, RAM, OS, and the versions of
  Python and of the named modules; ``machine_text`` and ``versions_text`` word
  them the same way in every script.
- ``load_average()``: the 1/5/15 min load average as text.
- ``write_section(text)``: replace (or add) one ``## heading`` section of
  benchmarks/RESULTS.md, keeping the other sections.

Run as a script (``python benchmarks/_common.py NAME ...``) it prints the
versions of the named modules as JSON: ``versions`` uses that to read the
versions of modules the caller has not imported, in a child process of the
same interpreter.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
ROOT = BENCHMARKS.parent
RESULTS = BENCHMARKS / "RESULTS.md"


def cpu_model() -> str:
    """The CPU's model name, as mbcost's profiler reports it."""
    from mbcost.adapters.machine import cpu_name

    return cpu_name()


def ram() -> str:
    """Total memory (MemTotal of /proc/meminfo) as ``"23.5 GiB"``, else ``"unknown"``."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 2**20:.1f} GiB"  # the figure is in KiB
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def _module_version(name: str) -> str:
    import importlib
    import importlib.metadata

    module = sys.modules.get(name)
    if module is None:
        try:
            module = importlib.import_module(name)
        except ImportError:
            return "not installed"
    found = getattr(module, "__version__", None)
    if found is not None:
        return str(found)
    try:  # e.g. rich has no __version__
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def versions(*modules: str) -> dict[str, str]:
    """``{"Python": ..., module: version, ...}`` in the order given.

    A module this process has already imported is read here; the others are
    imported in one child process of this interpreter, so the caller's memory,
    import time and module state stay as they were."""
    found = {name: _module_version(name) for name in modules if name in sys.modules}
    missing = [name for name in modules if name not in found]
    if missing:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *missing],
                              capture_output=True, text=True, check=True)
        found.update(json.loads(proc.stdout))
    return {"Python": platform.python_version(), **{name: found[name] for name in modules}}


def machine(*modules: str) -> dict:
    """The machine: ``nproc``, ``cpu``, ``ram``, ``platform`` (OS), and ``versions``
    (Python's and the named modules', see ``versions``)."""
    return {"nproc": os.cpu_count(), "cpu": cpu_model(), "ram": ram(), "platform": platform.platform(),
            "versions": versions(*modules)}


def machine_text(info: dict) -> str:
    """``2 CPUs (Intel(R) Xeon(R) Processor), 23.5 GiB RAM, Linux-6.18...``"""
    return f"{info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, {info['platform']}"


def versions_text(found: dict[str, str]) -> str:
    """``Python 3.11.7, torch 2.13.0+cpu, ...``"""
    return ", ".join(f"{name} {version}" for name, version in found.items())


def load_average(count: int = 3, sep: str = " / ") -> str:
    """The first ``count`` of the 1, 5 and 15 min load averages, ``"2.43 / 2.59 / 2.90"``;
    ``"unknown"`` where the OS does not say."""
    try:
        return sep.join(f"{x:.2f}" for x in os.getloadavg()[:count])
    except (OSError, AttributeError):
        return "unknown"


def write_section(text: str, path: Path = RESULTS) -> None:
    """Replace the section of ``path`` headed by ``text``'s first line (a ``## `` heading)
    with ``text``, or add it at the end; the other sections are kept as they are."""
    heading = text.split("\n", 1)[0]
    if not heading.startswith("## "):
        raise ValueError(f"a section starts with a '## ' heading, not {heading!r}")
    text = text.rstrip("\n") + "\n"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _m: text + "\n", old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new.rstrip("\n") + "\n", encoding="utf-8")


if __name__ == "__main__":
    print(json.dumps({name: _module_version(name) for name in sys.argv[1:]}))
