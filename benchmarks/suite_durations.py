"""A pytest plugin for benchmarks/suite.py: each test's CPU time and wall time.

Loaded with ``-p suite_durations`` (benchmarks/ on PYTHONPATH); with pytest-xdist
every worker loads it. For each test (setup, call and teardown, so a module
fixture counts for the test that builds it) it appends one line to the file
named by ``$SUITE_DURATIONS_OUT``: CPU seconds (user + system, of the process and
of the subprocesses it waited for), wall seconds and the test's id, tab-separated.
Nothing is written when the variable is unset.
"""

from __future__ import annotations

import os
import resource
import time

import pytest


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    cpu, wall = _cpu_seconds(), time.perf_counter()
    yield
    out = os.environ.get("SUITE_DURATIONS_OUT")
    if out:
        line = f"{_cpu_seconds() - cpu:.3f}\t{time.perf_counter() - wall:.3f}\t{item.nodeid}\n"
        with open(out, "a", encoding="utf-8") as fh:  # one short append per test: workers do not interleave
            fh.write(line)
