"""Fuzz mbcost as a hostile user would (issue 22): N cases per class, each run in
process with a time limit and a memory limit, and the outcomes counted:

  result      the command answered (exit 0 or 1)
  clean       one error line and exit 2 (MbcostError)
  traceback   any other exception escaped (a bug)
  timeout     the case ran past --seconds (a bug: every input is answered in bounded time)
  blow-up     the case allocated more than --mib MiB (tracemalloc's peak) or ran out of memory

Classes: spec (grammar-aware specs from tests/fuzz_cases.py through ``mbcost
table``, some with --memory and JSON), cli (symbolic commands with options in
and out of range), calibration (valid and tampered files through ``table
--latency``), torch (``--torch`` texts through the argument parser: nothing is
imported or run), onnx (Relu chains and nested Ifs with corrupted bytes).

    python benchmarks/fuzz.py --cases 10000 --classes spec
    python benchmarks/fuzz.py --cases 200                       # every class
    python benchmarks/fuzz.py --cases 500 --keep /tmp/failures  # write each failing input there

Exit status 1 when anything but result/clean happened.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import signal
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import fuzz_cases  # noqa: E402

OUTCOMES = ("result", "clean", "traceback", "timeout", "blow-up")


class Timeout(BaseException):
    """Raised by the alarm: not an Exception, so no handler in mbcost swallows it."""


def _alarm(signum, frame):
    raise Timeout()


def run_main(args: list[str]) -> tuple[int, str]:
    """``mbcost ARGS`` in process: (exit code, standard error)."""
    from mbcost.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, err.getvalue()


def case(kind: str, rng: random.Random, folder: Path):
    """(a callable that runs one case, the input to keep if it fails)."""
    if kind == "spec":
        text = fuzz_cases.spec(rng)
        path = folder / "case.spec"
        extra = rng.choice([[], [], ["--memory"], ["--format", "json"], ["--memory", "--format", "csv"],
                            ["--alpha", "0.5", "--res", "64"]])
        fmt = [] if "--format" in extra else ["--format", "csv"]
        return (lambda: (path.write_text(text, encoding="utf-8"), run_main(["table", str(path), *fmt, *extra]))[1],
                text)
    if kind == "cli":
        args = fuzz_cases.cli_args(rng)
        return (lambda: run_main(args)), "\n".join(args)
    if kind == "calibration":
        text = fuzz_cases.calibration(rng)
        path = folder / "cal.json"
        return (lambda: (path.write_text(text, encoding="utf-8"),
                         run_main(["table", "mobilenet_v1", "--latency", str(path), "--format", "json"]))[1], text)
    if kind == "torch":
        text = fuzz_cases.torch_text(rng)

        def parse():
            from mbcost.adapters.torch_model import parse_target

            parse_target(text)
            return 0, ""
        return parse, text
    if kind == "onnx":
        from test_onnx_bounds import nested_if, relu_chain

        data = bytearray(nested_if(rng.randint(1, 10)) if rng.random() < 0.2 else
                         relu_chain(rng.randint(1, 8), rng.randint(1, 4)))
        for _ in range(rng.choice([0, 1, 2, 4])):
            data[rng.randrange(len(data))] = rng.randrange(256)
        path = folder / "case.onnx"

        def count():
            from mbcost.adapters.onnx_count import analyze_onnx

            path.write_bytes(bytes(data))
            analyze_onnx(path)
            return 0, ""
        return count, bytes(data)
    raise ValueError(kind)


def classify(run, seconds: float, mib: int, traced: bool = True) -> tuple[str, str]:
    """Run one case. ``traced``: the case's peak is tracemalloc's (exact, 2-3 times
    slower); else the process's peak resident memory, which only grows: a case
    that takes it past ``mib`` is the one that blew up (and an address-space
    limit of twice that turns a runaway allocation into MemoryError)."""
    import resource

    from mbcost.errors import MbcostError

    if traced:
        tracemalloc.start()
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    outcome, detail = "result", ""
    try:
        code, err = run()
        if code == 2:
            # one line, plus a spec's source line and caret under it
            outcome = "clean" if err.startswith("mbcost: error: ") and err.count("\n") <= 3 \
                and "Traceback" not in err else "traceback"
            detail = err.strip().splitlines()[0] if err.strip() else ""
    except Timeout:
        outcome = "timeout"
    except MbcostError as exc:
        outcome, detail = "clean", str(exc)
    except MemoryError:
        outcome = "blow-up"
    except Exception as exc:  # noqa: BLE001 - what the fuzzer is looking for
        tb = exc.__traceback__
        while tb.tb_next:
            tb = tb.tb_next
        outcome, detail = "traceback", f"{type(exc).__name__} at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}: {exc}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if traced:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if outcome in ("result", "clean") and peak > mib * 2**20:
        outcome, detail = "blow-up", f"peak {peak / 2**20:.0f} MiB"
    return outcome, detail[:300]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200, help="cases per class")
    parser.add_argument("--classes", default="spec,cli,calibration,torch,onnx")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--seconds", type=float, default=30.0, help="time limit of one case")
    parser.add_argument("--mib", type=int, default=1024, help="memory limit of one case (tracemalloc peak)")
    parser.add_argument("--keep", help="a folder to write each failing input to")
    parser.add_argument("--progress", type=int, default=0, help="print a line every N cases (to stderr)")
    parser.add_argument("--rss", action="store_true", help="bound memory by the process's peak RSS and an "
                        "address-space limit instead of tracemalloc (faster: for long runs)")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.classes.split(",") if k.strip()]
    if args.rss:
        import resource

        limit = 2 * args.mib * 2**20 + 2**30  # room for the interpreter and its libraries
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    bad = 0
    print(f"# mbcost fuzz: {args.cases} cases per class, seed {args.seed}, limits {args.seconds:g} s and "
          f"{args.mib} MiB per case ({'peak RSS' if args.rss else 'tracemalloc peak'})")
    print(f"{'class':<12}" + "".join(f"{o:>11}" for o in OUTCOMES) + f"{'seconds':>10}{'slowest':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for kind in kinds:
            counts, examples, slowest = Counter(), {}, 0.0
            start = time.perf_counter()
            for i in range(args.cases):
                rng = random.Random(f"{args.seed}-{kind}-{i}")
                run, given = case(kind, rng, folder)
                t0 = time.perf_counter()
                outcome, detail = classify(run, args.seconds, args.mib, traced=not args.rss)
                slowest = max(slowest, time.perf_counter() - t0)
                counts[outcome] += 1
                if args.progress and (i + 1) % args.progress == 0:
                    sys.stderr.write(f"{kind}: {i + 1:,} cases, {dict(counts)}, {time.perf_counter() - start:.0f} s\n")
                if outcome not in ("result", "clean"):
                    examples.setdefault(detail.split(":")[0] + outcome, (i, outcome, detail))
                    if args.keep:
                        keep = Path(args.keep)
                        keep.mkdir(parents=True, exist_ok=True)
                        data = given if isinstance(given, bytes) else given.encode("utf-8", "surrogatepass")
                        (keep / f"{kind}-{i}-{outcome}").write_bytes(data)
            elapsed = time.perf_counter() - start
            print(f"{kind:<12}" + "".join(f"{counts[o]:>11,}" for o in OUTCOMES)
                  + f"{elapsed:>10.1f}{slowest:>10.2f}", flush=True)
            for i, outcome, detail in examples.values():
                print(f"    case {i}: {outcome}: {detail}")
            bad += sum(counts[o] for o in OUTCOMES[2:])
    return 1 if bad else 0


if __name__ == "__main__":
    os.environ.setdefault("COLUMNS", "100")
    sys.exit(main())
