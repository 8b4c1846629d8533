"""The largest input of each kind mbcost accepts (issue 22), each run through the
CLI in a fresh process: wall time and peak resident memory (ru_maxrss), and the
same input one step past its limit (refused: the time it takes to say so).

    python benchmarks/largest_inputs.py            # every kind
    python benchmarks/largest_inputs.py spec onnx  # some

Results are recorded in benchmarks/RESULTS.md (issue 22).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNNER = """
import contextlib, io, json, sys, time
from mbcost.cli import main
start = time.perf_counter()
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(sys.argv[1:])
elapsed = time.perf_counter() - start
sys.stderr.write("\\n" + json.dumps({"code": code, "seconds": elapsed, "out_bytes": len(out.getvalue())}) + "\\n")
"""


def run(args: list[str]) -> dict:
    """One command in a fresh process: its exit code, seconds, output size and
    peak resident memory. /usr/bin/time reports the peak (Linux keeps a
    process's peak across exec: read by the child itself, it would start at
    this script's size)."""
    start = time.perf_counter()
    res = subprocess.run(["/usr/bin/time", "-f", "MAXRSS_KB %M", sys.executable, "-c", RUNNER, *args],
                         capture_output=True, text=True, cwd=ROOT)
    info = {"code": res.returncode, "wall": time.perf_counter() - start}
    for line in res.stderr.splitlines():
        if line.startswith("{"):
            info.update(json.loads(line))
        elif line.startswith("MAXRSS_KB "):
            info["peak_mib"] = int(line.split()[1]) / 1024
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("mbcost: error:")]
    info["message"] = lines[0][:140] if lines else ""
    return info


def cases(folder: Path):
    from mbcost.attachments.calibration_schema import MAX_BYTES
    from mbcost.core.network import MAX_LAYERS
    from mbcost.language.lexer import MAX_LINE_CHARS, MAX_SPEC_CHARS
    from mbcost.numbers import MAX_DIGITS

    def spec(name, text):
        path = folder / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    chain = "input 8x8x8\n" + "conv 1x1x8x8 +bn +relu\n" * MAX_LAYERS
    yield "spec", f"{MAX_LAYERS:,}-row chain (conv +bn +relu), table csv", ["table", spec("chain.spec", chain),
                                                                              "--format", "csv"]
    yield "spec", f"{MAX_LAYERS:,}-row chain, table --memory json", ["table", spec("chain.spec", chain), "--memory",
                                                                     "--format", "json"]
    yield "spec", f"{MAX_LAYERS + 1:,}-row chain (refused)", ["table", spec("chain1.spec", chain + "relu\n")]
    wide = "input 8x8x3\nconcat {\n" + "branch conv 1x1x3x3\n" * (MAX_LAYERS - 2) + "}\n"
    yield "spec", f"concat of {MAX_LAYERS - 2:,} branches, table", ["table", spec("wide.spec", wide)]
    yield "spec", f"concat of {MAX_LAYERS - 2:,} branches, table --memory csv", [
        "table", spec("wide.spec", wide), "--memory", "--format", "csv"]
    padded = chain[: len(chain)] + "#" * 99 + "\n"
    padding = "# " + "x" * 97 + "\n"
    big = padded + padding * ((MAX_SPEC_CHARS - len(padded)) // len(padding))
    yield "spec", f"{len(big):,}-character spec ({MAX_LAYERS:,} rows and comments), table csv", [
        "table", spec("big.spec", big), "--format", "csv"]
    yield "spec", f"{MAX_SPEC_CHARS + 1:,}-character spec (refused)", [
        "table", spec("big1.spec", big + "#" * (MAX_SPEC_CHARS + 1 - len(big)))]
    line = "input 8x8x8\nconv 1x1x8x8" + " +bn" * ((MAX_LINE_CHARS - 12) // 4) + "\n"
    yield "spec", f"a {MAX_LINE_CHARS:,}-character line ({(MAX_LINE_CHARS - 12) // 4:,} post-ops), table", [
        "table", spec("line.spec", line)]
    yield "spec", "a 1,750,000-character line (refused)", ["table", spec("line1.spec", "input 8x8x8\n" + "conv " * 350_000)]
    n = "9" * MAX_DIGITS
    yield "spec", f"{MAX_DIGITS}-digit channels (conv 1x1x3xN, conv 1x1xNxN), table json", [
        "table", spec("digits.spec", f"input 8x8x3\nconv 1x1x3x{n}\nconv 1x1x{n}x{n}\n"), "--format", "json"]
    yield "spec", f"{MAX_DIGITS + 1}-digit channels (refused)", [
        "table", spec("digits1.spec", f"input 8x8x3\nconv 1x1x3x{n}9\n")]

    from test_calibration_file import valid  # noqa: E402

    data = valid()
    sample = {"kind": "pw", "label": "x" * 60, "batch": 1, "features": [10**9, 10**6, 10**8], "seconds": 0.001}
    per = len(json.dumps(sample)) + 2
    data["samples"] = [sample] * ((MAX_BYTES - len(json.dumps(data)) - 100) // per)
    cal = folder / "cal.json"
    cal.write_text(json.dumps(data), encoding="utf-8")
    yield "calibration", f"{cal.stat().st_size / 2**20:.1f} MiB calibration file, table --latency", [
        "table", "mobilenet_v1", "--latency", str(cal), "--format", "csv"]
    over = folder / "cal1.json"
    over.write_text(json.dumps(data) + " " * (MAX_BYTES + 1 - cal.stat().st_size), encoding="utf-8")
    yield "calibration", f"{MAX_BYTES // 2**20} MiB + 1 byte (refused)", ["table", "mobilenet_v1", "--latency", str(over)]

    try:
        from test_onnx_bounds import nested_if, relu_chain
    except Exception:  # noqa: BLE001 - no onnx: skip the kind
        return
    from mbcost.adapters.onnx_model import MAX_GRAPH_DEPTH, MAX_NODES

    chain_onnx = folder / "chain.onnx"
    chain_onnx.write_bytes(relu_chain(MAX_NODES))
    yield "onnx", f"{MAX_NODES:,}-node Relu chain, table csv", ["table", str(chain_onnx), "--format", "csv"]
    yield "onnx", f"{MAX_NODES:,}-node Relu chain, export to .spec (refused: past {MAX_LAYERS:,} rows)", [
        "export", str(chain_onnx), "-o", str(folder / "chain_out.spec")]
    small = folder / "chain20k.onnx"
    small.write_bytes(relu_chain(MAX_LAYERS))
    yield "onnx", f"{MAX_LAYERS:,}-node Relu chain, export to .spec", [
        "export", str(small), "-o", str(folder / "chain20k_out.spec")]
    over_onnx = folder / "chain1.onnx"
    over_onnx.write_bytes(relu_chain(MAX_NODES + 1))
    yield "onnx", f"{MAX_NODES + 1:,}-node Relu chain (refused)", ["table", str(over_onnx)]
    deep = folder / "deep.onnx"
    deep.write_bytes(nested_if(MAX_GRAPH_DEPTH + 1))
    yield "onnx", f"If nested {MAX_GRAPH_DEPTH + 1} deep (refused)", ["table", str(deep)]

    from mbcost.adapters.torch_model import MAX_TARGET_CHARS

    target = "nosuchmodule:f(" + "1," * ((MAX_TARGET_CHARS - 17) // 2) + ")"
    yield "torch", f"a {len(target):,}-character --torch text (parsed, then no such module)", [
        "table", "--torch", target]
    yield "torch", "a 100,000-character --torch text (refused)", ["table", "--torch", "x" * 100_000]


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    wanted = set(argv)
    print("| kind | input | exit | seconds | peak MiB | output |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for kind, label, args in cases(Path(tmp)):
            if wanted and kind not in wanted:
                continue
            info = run(args)
            out = info.get("message") or f"{info.get('out_bytes', 0):,} bytes"
            print(f"| {kind} | {label} | {info.get('code')} | {info.get('seconds', info['wall']):.2f} | "
                  f"{info.get('peak_mib', 0):.0f} | {out} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
