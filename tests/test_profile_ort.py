"""``mbcost profile --runtime onnxruntime``: the structure of the measurement
(every spec row, in order, with its Mult-Adds; fused rows said; the runtime
named), never a time."""

from __future__ import annotations

import dataclasses
import json
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from mbcost import analyze  # noqa: E402
from mbcost.adapters.profile import Timing  # noqa: E402
from mbcost.adapters.profile_ort import _passes, profile_ort  # noqa: E402
from mbcost.cli import main  # noqa: E402
from mbcost.core.network import Network  # noqa: E402
from mbcost.documents.render import render_text  # noqa: E402
from mbcost.documents.views_profile import profile_document  # noqa: E402

QUICK = ["--budget", "0.01", "--min-reps", "3", "--warmup", "1", "--threads", "1"]

# Batch norm and ReLU as rows of their own after a convolution: onnxruntime fuses
# them into the convolution's node (Conv + BatchNormalization, then the activation),
# so those two rows have no node of their own. Then a residual addition and a concat.
FUSABLE = """
model fusable
input 16x16x3
classes 10
conv / s2 3x3x3x8
bn
relu
residual {
  dw 3x3x8 +bn +relu
  pw 8x8 +bn
}
concat {
  branch conv 1x1x8x8 +relu
  branch maxpool 3x3 pad=1
}
avgpool 8x8 global
fc 16x10
softmax
"""


def _json(capsys, *args) -> dict:
    assert main(["profile", *args, "--runtime", "onnxruntime", *QUICK, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _one_line_error(capsys, args) -> str:
    assert main(["profile", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mbcost: error: ")
    assert "Traceback" not in captured.err
    return lines[0]


def test_every_spec_row_in_order_with_its_mult_adds(capsys):
    data = _json(capsys, "mobilenet_v1", "--alpha", "0.25", "--res", "128")
    spec = analyze("mobilenet_v1", alpha=0.25, resolution=128)
    assert data["runtime"] == "onnxruntime" and data["runtime_version"] == ort.__version__
    assert data["method"] == "in-context" and data["threads"] == 1 and data["device"] == "cpu"
    assert "CPUExecutionProvider" in data["runtime_detail"]
    assert [l["name"] for l in data["layers"]] == [r.name for r in spec.layers]
    assert [l["mult_adds"] for l in data["layers"]] == [r.mult_adds for r in spec.layers]
    assert data["mult_adds"] == spec.total.mult_adds
    reps = {l["reps"] for l in data["layers"]}
    assert len(reps) == 1 and reps.pop() >= 3  # one sample per row per pass
    assert all(l["median_s"] >= 0 and l["iqr_s"] >= 0 for l in data["layers"])
    assert data["end_to_end"]["reps"] >= 3 and data["end_to_end"]["median_s"] > 0
    assert sum(s["time_pct"] for s in data["by_type"]) == pytest.approx(100.0)
    assert sum(s["mult_adds"] for s in data["by_type"]) == spec.total.mult_adds
    assert data["layer_sum_s"] == pytest.approx(sum(l["median_s"] for l in data["layers"]))
    # every row of mobilenet_v1 carries its own convolution (or pool, fc, softmax): none is fused away
    assert data["fused_rows"] == {}
    assert data["layer_sum_s"] > 0
    for node in data["unassigned_nodes"]:  # listed with their time, in no row
        assert node["name"] and node["median_s"] >= 0


def test_rows_fused_into_another_are_said(capsys, tmp_path):
    spec = tmp_path / "fusable.spec"
    spec.write_text(FUSABLE, encoding="utf-8")
    data = _json(capsys, str(spec))
    rows = [r.name for r in analyze(Network.from_text(FUSABLE)).layers]
    assert [l["name"] for l in data["layers"]] == rows
    assert data["fused_rows"]["bn1"] == "conv1" and data["fused_rows"]["relu1"] == "conv1"
    assert set(data["fused_rows"]) <= set(rows) and set(data["fused_rows"].values()) <= set(rows)
    times = {l["name"]: l for l in data["layers"]}
    for row in data["fused_rows"]:  # no node of its own: 0 in every pass
        assert times[row]["median_s"] == 0 and times[row]["q3_s"] == 0
    assert times["conv1"]["median_s"] > 0

    assert main(["profile", str(spec), "--runtime", "onnxruntime", *QUICK]) == 0
    text = capsys.readouterr().out
    note = next(line for line in text.splitlines() if line.startswith("Fused by onnxruntime: "))
    assert "bn1, relu1 into conv1" in note
    assert f"onnxruntime {ort.__version__} (CPUExecutionProvider, graph optimizations: all)" in text


def test_batch_scales_the_mult_adds_and_the_document_renders():
    tiny = analyze(Network.from_text(FUSABLE))
    p = profile_ort(tiny, batch=2, threads=1, budget=0, warmup=1, min_reps=3, max_reps=3)
    assert [t.mult_adds for t in p.layers] == [2 * r.mult_adds for r in tiny.layers]
    assert all(t.timing.reps == 3 for t in p.layers) and p.end_to_end.reps == 3
    assert p.runtime == "onnxruntime" and p.method == "in-context" and p.batch == 2
    doc = profile_document(p)
    for fmt in ("rich", "csv", "json", "markdown"):
        assert render_text(doc, fmt)
    assert json.loads(render_text(doc, "json"))["batch"] == 2


def test_inconsistency_check_still_works():
    tiny = analyze(Network.from_text(FUSABLE))
    p = profile_ort(tiny, threads=1, budget=0, warmup=1, min_reps=3, max_reps=3)
    rows = [dataclasses.replace(t, timing=Timing((0.01,), 0)) for t in p.layers]  # 12 rows x 10 ms
    assert dataclasses.replace(p, layers=rows, end_to_end=Timing((0.1,), 0)).inconsistency() == ""
    problem = dataclasses.replace(p, layers=rows, end_to_end=Timing((0.004,), 0)).inconsistency()
    assert "120.000 ms" in problem and "4.000 ms" in problem and "--in-context" not in problem


def test_trace_split_into_passes():
    trace = [
        {"cat": "Session", "name": "model_run", "ts": 100, "dur": 50},
        {"cat": "Node", "name": "/a/Conv_kernel_time", "ts": 110, "dur": 5},
        {"cat": "Node", "name": "/b/Relu_kernel_time", "ts": 120, "dur": 3},
        {"cat": "Session", "name": "model_run", "ts": 200, "dur": 50},
        {"cat": "Node", "name": "/b/Relu_kernel_time", "ts": 230, "dur": 2},
        {"cat": "Node", "name": "/a/Conv_kernel_time", "ts": 210, "dur": 4},
        {"cat": "Node", "name": "/a/Conv_fence_before", "ts": 209, "dur": 0},  # older onnxruntime: not a kernel
        {"cat": "Node", "name": "/c/Conv_kernel_time", "ts": 400, "dur": 1},  # in no run
    ]
    passes = _passes(trace)
    assert [[e["name"] for e in p] for p in passes] == [["/a/Conv_kernel_time", "/b/Relu_kernel_time"]] * 2
    assert [e["dur"] for e in passes[1]] == [4, 2]


@pytest.mark.parametrize("args, start", [
    (["--channels-last", "--runtime", "onnxruntime"], "mbcost: error: --channels-last is a torch memory format"),
    (["--device", "cuda", "--runtime", "onnxruntime"], "mbcost: error: --runtime onnxruntime runs on the CPU"),
    (["--runtime", "tflite"], "mbcost: error: unknown runtime 'tflite': choose torch or onnxruntime"),
])
def test_refusals_exit_2_with_one_line(capsys, args, start):
    assert _one_line_error(capsys, args).startswith(start)


def test_missing_onnxruntime_is_one_line(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime raises ImportError
    line = _one_line_error(capsys, ["--runtime", "onnxruntime"])
    assert line == "mbcost: error: --runtime onnxruntime needs the onnxruntime package: pip install onnxruntime"
