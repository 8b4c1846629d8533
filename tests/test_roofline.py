"""The roofline across hardware (mbcost.attachments.roofline, ``mbcost roofline``):
one layer by hand, the two properties on every zoo network, the command."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

import mbcost
from mbcost.attachments.roofline import parse_ridges, roofline, roofline_macs, roofline_rows
from mbcost.cli import main
from mbcost.results.zoo import model_names

SPEC = """\
model two_layers
input 56x56x32
conv 3x3x32x64 +bn +relu
dw 3x3x64 +bn +relu
add_free: relu
"""


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "two.spec"
    path.write_text(SPEC)
    return str(path)


def test_worked_layers_by_hand(spec):
    """conv 3x3, 32 -> 64 on 56 x 56: 9·32·64·56·56 = 57,802,752 MACs; at 1 byte an
    element it moves 18,432 weights + 100,352 input + 200,704 output = 319,488 bytes
    (batch norm folded: its scale and shift move nothing), 180.9 MACs per byte.
    dw 3x3 on 64 channels: 9·64·56·56 = 1,806,336 MACs, 576 + 2·200,704 = 401,984
    bytes, 4.5 MACs per byte. The lone relu row costs nothing (fused)."""
    rows = roofline_rows(mbcost.analyze(spec))
    assert [(r.name, r.mult_adds, r.bytes) for r in rows] == [
        ("conv1", 57_802_752, 319_488), ("dw1", 1_806_336, 401_984)]
    assert rows[0].intensity == Fraction(57_802_752, 319_488)
    # RP 100: the conv is compute-bound (its MACs), the dw memory-bound (100 · its bytes)
    assert [r.bound(Fraction(100)) for r in rows] == ["compute", "memory"]
    assert roofline_macs(rows, 100) == 57_802_752 + 100 * 401_984
    # RP 200: both memory-bound
    assert roofline_macs(rows, 200) == 200 * (319_488 + 401_984)
    # at 4 bytes an element (fp32) every byte count is 4 times larger
    assert [r.bytes for r in roofline_rows(mbcost.analyze(spec), 4)] == [4 * 319_488, 4 * 401_984]


def test_hardware_time_by_hand(spec, capsys):
    """A chip of 1e12 MAC/s and 1e10 B/s (RP 100): the conv takes 57.802752 µs (its
    MACs / PeakMACs), the dw 40.1984 µs (its bytes / bandwidth): 98.001152 µs."""
    result = roofline([spec], "0", hardware="1e12,1e10")
    assert result.seconds(0, result.hardware) == Fraction(57_802_752 + 100 * 401_984, 10**12)
    assert main(["roofline", spec, "--ridge", "0", "--hardware", "1e12,1e10", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["hardware"]["ridge_point"] == 100
    assert data["hardware"]["ms"][spec] == pytest.approx(0.098_001_152)


def test_every_zoo_network_equals_its_mult_adds_at_zero_and_never_decreases():
    ridges = [Fraction(r) for r in (0, 1, 25, 100, 250, 500)]
    for name in model_names():
        analysis = mbcost.analyze(name)
        rows = roofline_rows(analysis)
        costs = [roofline_macs(rows, r) for r in ridges]
        assert costs[0] == analysis.total.mult_adds, name
        assert all(a <= b for a, b in zip(costs, costs[1:])), name


def test_csv_and_json_give_roofline_macs_per_model_per_ridge(capsys):
    assert main(["roofline", "mobilenet_v1", "mobilenet_v4_conv_small", "--ridge", "0:100:50", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "model,ridge_point,roofline_macs,mult_adds,bytes"
    assert len(lines) == 1 + 2 * 3
    assert lines[1].startswith("mobilenet_v1,0,568740352,568740352,")
    assert main(["roofline", "mobilenet_v4_conv_small", "--ridge", "0,10", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ridge_points"] == [0, 10]
    assert data["models"][0]["roofline_macs"][0] == mbcost.analyze("mobilenet_v4_conv_small").total.mult_adds


def test_parse_ridges():
    assert parse_ridges("0:500:25")[-1] == 500 and len(parse_ridges("0:500:25")) == 21
    assert parse_ridges("0:1:0.25") == [0, Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), 1]
    assert parse_ridges("100,0,100") == [0, 100]


@pytest.mark.parametrize("args, message", [
    (["--ridge", "0:500"], "START:STOP:STEP"),
    (["--ridge", "-5"], "negative"),
    (["--ridge", "0:10:0"], "step must be positive"),
    (["--ridge", "0:1e9:1"], "more than"),
    (["--ridge", "abc"], "not a number"),
    (["--bytes-per-element", "0"], "bytes-per-element"),
    (["--hardware", "1e12"], "PEAK_MACS_PER_S,BYTES_PER_S"),
    (["--hardware", "1e12,0"], "positive"),
])
def test_bad_options_are_one_line(capsys, args, message):
    assert main(["roofline", "mobilenet_v1", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_machine_needs_a_measured_peak(tmp_path, capsys):
    """A calibration file without a peak MAC rate (calibrated before it was measured)
    is refused: no ridge point is invented."""
    from toy_calibration import toy

    path = tmp_path / "old.json"
    cal = toy(bandwidth_bytes_per_s=1e10)
    path.write_text(cal.to_json())
    assert main(["roofline", "mobilenet_v1", "--machine", str(path)]) == 2
    assert "no peak MAC rate" in capsys.readouterr().err
    cal.peak_macs_per_s = 2e11
    path.write_text(cal.to_json())
    assert main(["roofline", "mobilenet_v1", "--ridge", "0:40:20", "--machine", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["machine"]["ridge_point"] == 20


def test_pick_all_with_a_ridge_budgets_the_roofline_cost():
    """At RP 100 the budget is on Σ max(MACs, 100·bytes): every fit is within it, and
    each point's roofline cost is the one mbcost roofline gives for that network."""
    from mbcost.results.family import pick_family

    result = pick_family("1G", ridge=100)
    assert result.fits and all(p.roofline_macs <= 10**9 for p in result.fits)
    best = result.fits[0]
    assert best.roofline_macs == roofline([f"{best.model}:alpha={float(best.alpha)},res={best.resolution}"],
                                          "100").cost(0, 100)
    # MobileNet v1's grid is a candidate too (its roofline cost, not its Mult-Adds, is budgeted)
    assert any(p.family == "MobileNet v1" for p in result.fits)


def test_mobilenet_v4_claims_of_docs_roofline_md():
    """The numbers docs/roofline.md states, from the counts."""
    from mbcost.core.network import Network
    from mbcost.results.family import family_points, pareto, with_roofline

    s = roofline_rows(mbcost.analyze("mobilenet_v4_conv_small"))
    v3 = roofline_rows(mbcost.analyze("mobilenet_v3_large"))
    assert (sum(r.bytes for r in s), sum(r.bytes for r in v3)) == (7_783_216, 15_561_072)
    assert (round(roofline_macs(s, 100) / 10**6), round(roofline_macs(v3, 100) / 10**6)) == (780, 1556)

    def attention(line):
        (row,) = roofline_rows(mbcost.analyze(Network.from_text(f"input 16x16x160\n{line}\n")))
        return row.mult_adds, row.weight_bytes

    assert attention("mqa 160x160 heads=4 key=64") == (59_768_832, 102_400)
    assert attention("mqa 160x160 heads=4 key=64 kv_stride=2") == (30_855_168, 105_280)
    assert attention("mhsa 160x160 heads=4 key=64 kv_stride=2") == (34_787_328, 166_720)
    points = family_points()
    for ridge, expected in ((0, {"conv_small", "conv_medium", "hybrid_medium", "hybrid_large"}),
                            (100, {"conv_small", "conv_medium", "hybrid_medium", "conv_large", "hybrid_large"})):
        front = pareto(with_roofline(points, ridge), "roofline_macs")
        assert {p.model[len("mobilenet_v4_"):] for p in front if p.family == "MobileNetV4"} == expected


def test_table_roofline_columns(spec, capsys):
    """table --roofline RP: per row the bytes, MACs per byte and the bound of the
    worked layers above; the lone relu is 'fused'; the summary the roofline cost."""
    assert main(["table", spec, "--roofline", "100", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    header = lines[0].split(",")
    assert header[-3:] == ["roofline_bytes", "roofline_mult_adds_per_byte", "bound"]
    assert [line.split(",")[-1] for line in lines[1:]] == ["compute", "memory", "fused"]
    assert lines[2].split(",")[-3] == "401984"
    assert main(["table", spec, "--roofline", "100", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["roofline"]["roofline_macs"] == 57_802_752 + 100 * 401_984
    assert main(["table", "--torch", "x:y", "--roofline", "100"]) == 2


def test_an_onnx_file_is_refused(tmp_path, capsys):
    """An ONNX graph's rows are unfused operators: its bytes would differ from its
    spec's, so roofline asks for the spec instead of printing another number."""
    path = tmp_path / "m.onnx"
    path.write_bytes(b"not read")
    assert main(["roofline", str(path)]) == 2
    assert "export the model to a spec first" in capsys.readouterr().err


def test_roofline_shows_the_papers_device_latencies_of_the_networks_that_have_them():
    """Beside the sweep, the paper's measured latencies for MobileNetV4 Conv-S (as
    tables/published/mobilenet_v4_latency.csv prints them, read here with csv), none
    for MobileNet v1 or for Conv-S at another resolution than the paper measured."""
    from conftest import published

    from mbcost.documents.views_roofline import roofline_document

    rows = [r for r in published("mobilenet_v4_latency") if r["model"] == "mobilenet_v4_conv_small"]
    doc = roofline_document(roofline(["mobilenet_v4_conv_small", "mobilenet"], "0"))
    (table,) = [t for t in doc.tables if t.title == "Published latency (ms), by device"]
    assert [c.header for c in table.columns] == ["Model"] + [r["device"] for r in rows]
    assert table.rows == [["mobilenet_v4_conv_small"] + [r["latency_ms"] for r in rows]]
    assert [m["published_latency"] and m["published_latency"]["ms"] for m in doc.data["models"]] == [
        {r["device"]: float(r["latency_ms"]) for r in rows}, None]
    other = roofline_document(roofline(["mobilenet_v4_conv_small:res=160", "mobilenet"], "0"))
    assert not [t for t in other.tables if "latency" in t.title.lower()]
