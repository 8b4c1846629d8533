"""Activation memory, peak memory, model size and arithmetic intensity against
values derived by hand (mbcost.attachments.memory; no torch)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from mbcost import analyze
from mbcost.errors import MbcostError
from mbcost.attachments.memory import dtype_bytes, liveness, memory
from mbcost.core.network import Network

CHAIN = """
input 8x8x3
conv 3x3x3x16
conv 1x1x16x32
conv 1x1x32x8
"""

BRANCHES = """
input 8x8x4
conv 1x1x4x8
concat {
  branch conv 1x1x8x16
  branch conv 3x3x8x8
}
"""

RESIDUAL = """
input 8x8x16
residual {
  conv 1x1x16x64
  conv 1x1x64x16
}
"""


def report(spec: str, **kw):
    return memory(analyze(Network.from_text(spec)), **kw)


def test_chain_peak_hand_derived():
    # elements: input 8·8·3 = 192; outputs 8·8·16 = 1024, 8·8·32 = 2048, 8·8·8 = 512
    # step 1: input + conv1 = 1216; step 2: conv1 + conv2 = 3072; step 3: conv2 + conv3 = 2560
    m = report(CHAIN)
    assert [l.alive_bytes for l in m.layers] == [4 * 1216, 4 * 3072, 4 * 2560]
    assert m.peak_bytes == 12288 and m.peak.name == "conv2"
    assert m.peak.alive == ("conv1", "conv2")
    assert [l.input_bytes for l in m.layers] == [4 * 192, 4 * 1024, 4 * 2048]
    assert [l.output_bytes for l in m.layers] == [4 * 1024, 4 * 2048, 4 * 512]
    assert m.input_bytes == 768
    # the network's output is alive at the last step; the input only until conv1 has run
    assert m.layers[-1].alive == ("conv2", "conv3")
    assert "input" not in m.layers[1].alive


def test_chain_at_other_dtypes_and_batch():
    assert report(CHAIN, dtype="fp16").peak_bytes == 2 * 3072
    assert report(CHAIN, dtype="int8").peak_bytes == 3072
    assert report(CHAIN, batch=4).peak_bytes == 4 * 4 * 3072


def test_concat_keeps_both_branch_outputs_alive():
    # elements: input 256; conv1 512; b1 (1x1, 16 ch) 1024; b2 (3x3, 8 ch) 512; concat 24 ch = 1536
    # step conv1: 256 + 512 = 768
    # step b1: conv1 (still needed by b2) + b1 = 1536
    # step b2: conv1 + b1 (needed by the concat) + b2 = 2048; conv1 freed after
    # step concat: b1 + b2 + concat = 3072 (the peak)
    m = report(BRANCHES)
    assert [l.name for l in m.layers] == ["conv1", "b1.conv1", "b2.conv1", "concat1"]
    assert [l.alive_bytes // 4 for l in m.layers] == [768, 1536, 2048, 3072]
    assert m.peak.name == "concat1" and m.peak_bytes == 4 * 3072
    assert m.peak.alive == ("b1.conv1", "b2.conv1", "concat1")
    assert m.layers[2].alive == ("conv1", "b1.conv1", "b2.conv1")
    concat = m.layers[3]
    assert concat.input_bytes == 4 * (1024 + 512)  # a merge reads all its sources
    assert concat.intensity == 0.0  # no Mult-Adds counted


def test_residual_shortcut_stays_alive_across_the_body():
    # elements: input 8·8·16 = 1024; conv1 4096; conv2 1024; add 1024
    # step conv1: input + conv1 = 5120
    # step conv2: input (the shortcut) + conv1 + conv2 = 6144 (the peak)
    # step add: input + conv2 + add = 3072
    m = report(RESIDUAL)
    assert [l.alive_bytes // 4 for l in m.layers] == [5120, 6144, 3072]
    assert m.peak.name == "conv2" and m.peak_bytes == 4 * 6144
    assert all("input" in l.alive for l in m.layers)
    assert m.layers[2].input_bytes == 4 * (1024 + 1024)


def test_model_size_hand_derived():
    # CHAIN has no batch norm, so every conv has a bias:
    # weights 3·3·3·16 + 16·32 + 32·8 = 432 + 512 + 256 = 1200; biases 16 + 32 + 8 = 56
    m = report(CHAIN)
    assert m.params == 1256
    assert m.model_sizes == {"fp32": 5024, "fp16": 2512, "int8": 1256}
    # with batch norm: no bias, scale and shift (2·C) per conv
    bn = report("input 8x8x3\nconv 3x3x3x16 +bn +relu\nconv 1x1x16x32 +bn\n")
    assert bn.params == (432 + 2 * 16) + (512 + 2 * 32)
    assert bn.model_size("fp16") == 2 * bn.params


def test_mobilenet_model_size_and_peak():
    m = memory(analyze("mobilenet_v1"))
    a = analyze("mobilenet_v1", params="all")
    assert m.params == a.total.params == 4_231_976
    assert m.model_size("fp32") == 4 * 4_231_976
    # the peak: dw1's output (112·112·32) and conv2's (112·112·64) while conv2 runs
    assert m.peak.name == "conv2" and m.peak_bytes == 4 * 112 * 112 * (32 + 64)


def test_intensity_pointwise_vs_depthwise_by_hand():
    spec = """
    input 14x14x512
    dw 3x3x512 bias=no
    pw 512x512 bias=no
    """
    m = report(spec)
    dw, pw = m.layers
    hw, c = 14 * 14, 512
    # depthwise: 9·C·HW Mult-Adds over (9·C weights + C·HW in + C·HW out) · 4 bytes
    assert dw.mult_adds == 9 * c * hw
    assert dw.intensity == pytest.approx(9 * c * hw / (4 * (9 * c + 2 * c * hw)))
    assert dw.intensity == pytest.approx(1764 / 1604)  # = 9·196 / (4·(9 + 2·196))
    # pointwise: C·C·HW over (C·C + 2·C·HW) · 4 bytes
    assert pw.intensity == pytest.approx(c * c * hw / (4 * (c * c + 2 * c * hw)))
    assert pw.intensity == pytest.approx(100352 / 3616)  # = 512·196 / (4·(512 + 2·196))
    assert pw.intensity > 25 * dw.intensity


def test_liveness_drops_unread_tensors_at_once():
    # row 1 reads the input; row 1's output is never read; row 2 reads row 0
    steps = liveness([(-1,), (-1,), (0,)], [10, 20, 30], 5)
    assert [s.alive for s in steps] == [(-1, 0), (-1, 0, 1), (0, 2)]
    assert [s.elements for s in steps] == [15, 35, 40]
    with pytest.raises(ValueError):
        liveness([(1,)], [1], 1)


def test_bad_dtype_is_a_user_error():
    assert dtype_bytes("FP16") == 2
    with pytest.raises(MbcostError, match="unknown dtype"):
        report(CHAIN, dtype="bf8")


def test_table_memory_columns_and_peak_line(cli):
    out = cli("table", "--memory", "--format", "csv")
    assert out.returncode == 0, out.stderr
    first = next(csv.DictReader(io.StringIO(out.stdout)))
    assert first["name"] == "conv1" and int(first["in_bytes"]) == 4 * 224 * 224 * 3
    assert int(first["alive_bytes"]) == 4 * 112 * 112 * 32 + 4 * 224 * 224 * 3  # its input and output
    assert int(first["out_bytes"]) == 4 * 112 * 112 * 32
    text = cli("table", "--memory", "--by-type").stdout
    assert "Peak activation memory (fp32): 4.82 MB while conv2 runs (dw1 + conv2 alive)" in text
    assert "fp32 16.93 MB · fp16 8.46 MB · int8 4.23 MB" in text


def test_table_memory_json(cli):
    data = json.loads(cli("table", "--memory", "--dtype", "int8", "--format", "json").stdout)
    assert data["memory"]["peak_activation_bytes"] == 112 * 112 * 96
    assert data["memory"]["model_size_bytes"]["int8"] == 4_231_976
    conv2 = next(l for l in data["layers"] if l["name"] == "conv2")
    assert conv2["alive_bytes"] == 112 * 112 * 96 and conv2["alive"] == ["dw1", "conv2"]


def test_dtype_without_memory_is_a_user_error(cli):
    out = cli("table", "--dtype", "fp16")
    assert out.returncode == 2 and out.stderr.strip() == "mbcost: error: --dtype goes with --memory"


def test_table_memory_imports_no_heavy_library():
    script = ("import sys, io, contextlib\nfrom mbcost.cli import main\n"
              "with contextlib.redirect_stdout(io.StringIO()):\n"
              "    assert main(['table', '--memory', '--format', 'json']) == 0\n"
              "print(' '.join(m for m in ('torch', 'fvcore', 'matplotlib', 'pandas', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
