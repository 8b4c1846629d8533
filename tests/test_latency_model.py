"""Predicted latency (issue 14): the fit recovers known models from synthetic
timings, the calibration file is validated, predictions follow the file's
coefficients by hand. No test asserts a measured time."""

from __future__ import annotations

import json
import random

import pytest

from mbcost.cli import main
from mbcost.errors import MbcostError
from mbcost.attachments.latency import Calibration, KindModel, Sample, fit, kind_of, load_calibration, nnls_relative, row_features


def _synthetic(kind, coef, form="linear", n=24, seed=0):
    rng = random.Random(seed)
    c0, c1, c2, c3 = coef
    out = []
    for _ in range(n):
        m, o, b = rng.randint(10**5, 10**8), rng.randint(0, 10**6), rng.randint(10**4, 10**7)
        t = c0 + (max(c1 * m, c3 * b) if form == "roofline" else c1 * m + c3 * b) + c2 * o
        out.append(Sample(kind, (m, o, b), t))
    return out


def test_fit_recovers_a_linear_model():
    coef = (2e-5, 1e-10, 3e-11, 2e-11)
    models = fit(_synthetic("pw", coef))
    got = models["pw"]
    assert got.form == "linear" or got.heldout_median_error < 1e-9
    for a, b in zip(got.coef, coef):
        assert a == pytest.approx(b, rel=1e-6, abs=1e-15)
    assert got.heldout_median_error < 1e-9 and got.train + got.heldout == 24


def test_fit_recovers_a_roofline_and_says_so():
    coef = (1e-5, 8e-10, 0.0, 5e-10)
    samples = _synthetic("dw", coef, form="roofline", n=40, seed=3)
    got = fit(samples)["dw"]
    assert got.form == "roofline"
    assert got.heldout_median_error < 1e-6 < got.other_form_error
    assert all(got.predict(s.features) == pytest.approx(s.seconds, rel=1e-6) for s in samples)


def test_nnls_never_returns_a_negative_coefficient():
    # t = 1 + x exactly, plus a column that would take a negative weight in plain least squares
    xs = [(1.0, float(x), float(10 - x) * 0.5) for x in range(1, 10)]
    ts = [1.0 + x + (0.1 if i % 2 else -0.1) for i, x in enumerate(range(1, 10))]
    coef = nnls_relative(xs, ts)
    assert all(c >= 0 for c in coef)


def test_kinds():
    assert kind_of("dw", "dw", (3, 3)) == "dw" and kind_of("pw", "conv", (1, 1)) == "pw"
    assert kind_of("conv", "conv", (1, 1)) == "pw" and kind_of("conv", "conv", (3, 3)) == "conv"
    assert kind_of("conv", "group", (3, 3)) == "group" and kind_of("conv", "dw", (3, 3)) == "dw"  # groups=M
    assert kind_of("fc") == "fc" and kind_of("avgpool") == "pool" and kind_of("gap", global_pool=True) == "gpool"
    assert kind_of("relu") == "other" and kind_of("se") == "se"
    # keyed on the kind id: a kind the models were not fitted for is 'other', not the conv its label resembles
    assert kind_of("tconv", "conv", (3, 3)) == "other"


def _calibration(tmp_path, runtime="torch", threads=1, name="machine.json", **changes):
    models = {k: KindModel("linear", (1e-5, 1e-10, 1e-11, 1e-11), 10, 3, 0.05, 0.1, 0.2)
              for k in ("pw", "conv", "dw", "fc", "gpool", "other")}
    cal = Calibration(machine="test CPU", runtime=runtime, threads=threads, versions={"torch": "x"}, models=models,
                      created="2026-11-22", source="")
    data = cal.to_dict()
    data.update(changes)
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_file_round_trip_and_refusals(tmp_path):
    path = _calibration(tmp_path)
    cal = load_calibration(str(path))
    assert cal.runtime == "torch" and cal.threads == 1 and cal.models["pw"].coef == (1e-5, 1e-10, 1e-11, 1e-11)
    with pytest.raises(MbcostError, match="calibrated with 1 thread.*not 4.*--threads 4"):
        load_calibration(str(path), threads=4)
    with pytest.raises(MbcostError, match="calibrated with torch, not onnxruntime"):
        load_calibration(str(path), runtime="onnxruntime")
    bad = _calibration(tmp_path, name="old.json", version=99)
    with pytest.raises(MbcostError, match="version 99"):
        load_calibration(str(bad))
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    with pytest.raises(MbcostError, match="not an mbcost calibration file"):
        load_calibration(str(other))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(MbcostError, match="not JSON"):
        load_calibration(str(broken))
    data = json.loads(path.read_text())
    data["models"]["pw"]["coef"] = [1, -2, 0, 0]
    path.write_text(json.dumps(data))
    with pytest.raises(MbcostError, match=r"not a valid calibration file: models.pw.coef\[1\]: -2 is less than"):
        load_calibration(str(path))


def test_table_latency_is_the_files_formula_by_hand(tmp_path, capsys):
    path = _calibration(tmp_path)
    assert main(["table", "mobilenet_v1", "--latency", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    first = data["layers"][0]  # conv 3x3x3x32 s2 +bn +relu at 224: by hand from the file's coefficients
    mult_adds = 3 * 3 * 3 * 32 * 112 * 112
    other = 2 * 112 * 112 * 32  # batch norm and ReLU, one per output element each
    moved = 4 * (3 * 3 * 3 * 32 + 2 * 32 + 224 * 224 * 3 + 112 * 112 * 32)  # weights, BN scale/shift, in, out
    assert first["latency_ms"] == pytest.approx(1e3 * (1e-5 + 1e-10 * mult_adds + 1e-11 * other + 1e-11 * moved))
    assert data["total"]["latency_ms"] == pytest.approx(sum(layer["latency_ms"] for layer in data["layers"]))
    assert sum(t["latency_ms"] for t in data["latency_by_type"]) == pytest.approx(data["total"]["latency_ms"])
    # with the in-network correction: scale · isolated + per row + per byte moved, by hand
    corrected = _calibration(tmp_path, name="net.json", network={"scale": 2.0, "per_row_s": 1e-6, "per_byte_s": 1e-12})
    assert main(["table", "mobilenet_v1", "--latency", str(corrected), "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out)["layers"][0]
    isolated = 1e-5 + 1e-10 * mult_adds + 1e-11 * other + 1e-11 * moved
    assert row["latency_ms"] == pytest.approx(1e3 * (2.0 * isolated + 1e-6 + 1e-12 * moved))
    # a batch of 8: 8 images' work and activations, the weights read once
    assert main(["table", "mobilenet_v1", "--latency", str(path), "--batch", "8", "--format", "json"]) == 0
    data8 = json.loads(capsys.readouterr().out)
    moved8 = 4 * (3 * 3 * 3 * 32 + 2 * 32 + 8 * (224 * 224 * 3 + 112 * 112 * 32))
    assert data8["latency_batch"] == 8 and data8["total"]["mult_adds"] == data["total"]["mult_adds"]  # per image
    assert data8["layers"][0]["latency_ms"] == pytest.approx(
        1e3 * (1e-5 + 1e-10 * 8 * mult_adds + 1e-11 * 8 * other + 1e-11 * moved8))
    assert main(["table", "--batch", "8"]) == 2
    assert "--batch goes with --latency" in capsys.readouterr().err
    # a batch's prediction says it was scaled from batch 1, and what the file's batch check saw
    checked = _calibration(tmp_path, name="checked.json", batch_check={
        "networks": {"count": 6, "median_error": 0.12, "worst_error": 0.3, "mean_signed_error": -0.1}})
    assert main(["table", "mobilenet_v1", "--latency", str(checked), "--batch", "8", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "fitted at batch 1" in out and "6 batched synthetic networks" in out and "10% low" in out
    assert main(["table", "mobilenet_v1", "--latency", str(checked), "--format", "markdown"]) == 0
    assert "fitted at batch 1" not in capsys.readouterr().out


def test_table_latency_refuses_torch_and_bad_files(tmp_path, capsys):
    assert main(["table", "--torch", "x:y", "--latency", "m.json"]) == 2
    assert "--latency applies to specs only" in capsys.readouterr().err
    assert main(["table", "--latency", str(tmp_path / "none.json")]) == 2
    assert "no such calibration file" in capsys.readouterr().err


def test_row_features_match_the_analysis():
    import mbcost

    a = mbcost.analyze("mobilenet_v1", alpha=0.5, resolution=160)
    feats = row_features(a)
    assert len(feats) == len(a.layers)
    assert sum(f[1][0] for f in feats) == a.total.mult_adds  # conv + fc, whatever the analysis counts


# -- calibrate and validate, with the clock replaced (the structure, not the times) ------------------------------

def test_calibrate_and_validate_structure(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    from mbcost.adapters import calibrate as cal_mod

    monkeypatch.setattr(cal_mod, "_time", lambda run, seconds: [1e-3] * 9 + [5.0])  # 5 s: an outlier, dropped
    monkeypatch.setattr(cal_mod, "_machine_constants", lambda run_with: (1e10, 1e-6))
    out = tmp_path / "m.json"
    assert main(["calibrate", "--output", str(out), "--budget", "1"]) == 0
    cal = load_calibration(str(out))
    assert set(cal.models) >= {"pw", "conv", "dw", "fc", "pool", "gpool", "se", "other"}
    assert cal.threads == 1 and cal.runtime == "torch" and "torch" in cal.versions
    saved = json.loads(out.read_text())
    assert len(saved["samples"]) == len(cal_mod.grid()) and all(s["seconds"] == 1e-3 for s in saved["samples"])
    # a shape timed at a batch of 8 has 8 images' Mult-Adds: its features are the batch's
    batched = [s for s in saved["samples"] if s["label"].endswith("(batch 8)") and s["kind"] == "pw"]
    single = {s["label"]: s for s in saved["samples"]}
    assert batched
    # shapes at a batch are not fitted: they check the batch-1 models (and are counted as such)
    assert saved["batch_check"]["layers"]["count"] == len(cal_mod._BATCHED)
    assert saved["batch_check"]["networks"]["count"] == cal_mod.BATCHED_CHAINS
    ones = [s for s in saved["samples"] if s["batch"] == 1]
    assert sum(m["train"] + m["heldout"] for m in saved["models"].values()) == len(ones)
    for s in batched:
        one = single[s["label"].replace(" (batch 8)", "")]
        assert s["features"][0] == 8 * one["features"][0] and s["features"][2] > one["features"][2]
    capsys.readouterr()
    assert main(["calibrate", "--validate", str(out), "--budget", "1", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["results"]) == len(cal_mod.VALIDATION)
    assert set(data["results"][0]) == {"model", "alpha", "resolution", "batch", "mult_adds", "predicted_ms",
                                       "measured_ms", "error"}
    assert {r["batch"] for r in data["results"]} > {1}  # a batch of several images is validated too
    assert data["worst_abs_error"] >= data["median_abs_error"] >= 0
    assert main(["calibrate", "--validate", str(out), "--threads", "2"]) == 2
    assert "--threads 2" in capsys.readouterr().err


def test_pick_by_predicted_latency(tmp_path, capsys):
    path = _calibration(tmp_path)
    assert main(["pick", "--max-latency", "60ms", "--latency", str(path), "--top", "0", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["budget"]["max_latency_ms"] == 60 and data["budget"]["max_mult_adds"] is None
    got = data["candidates"]
    assert got and all(c["latency_ms"] <= 60 for c in got)
    # every configuration of the grid under 60 ms is there: check one against table --latency
    first = got[0]
    assert main(["table", "mobilenet_v1", "--alpha", str(first["alpha"]), "--res", str(first["resolution"]),
                 "--latency", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["latency_ms"] == pytest.approx(first["latency_ms"])
    assert main(["pick", "--max-latency", "60ms"]) == 2
    assert "--latency FILE" in capsys.readouterr().err
    assert main(["pick", "--max-latency", "0.001ms", "--latency", str(path)]) == 2
    assert "nothing fits" in capsys.readouterr().err
    assert main(["pick", "--max-latency", "fast", "--latency", str(path)]) == 2
    assert "like 5ms" in capsys.readouterr().err


def test_in_network_correction_is_recovered():
    from mbcost.attachments.latency import fit_network

    shapes = [(0.01, 20, 9e6), (0.002, 12, 4e6), (0.03, 31, 8e7), (0.005, 9, 2e7), (0.02, 25, 3e6), (0.004, 40, 5e7)]
    nets = [(p, n, b, 1.3 * p + 4e-5 * n + 3e-11 * b) for p, n, b in shapes]
    got = fit_network(nets)
    assert got["scale"] == pytest.approx(1.3) and got["per_row_s"] == pytest.approx(4e-5)
    assert got["per_byte_s"] == pytest.approx(3e-11)
    assert got["median_error"] < 1e-9
    cal = Calibration("m", "torch", 1, {}, {}, network=got)
    assert cal.network_time([0.001, 0.002], [10**6, 0]) == pytest.approx(1.3 * 0.003 + 2 * 4e-5 + 3e-11 * 10**6)
    # a file written before the bytes term: no per_byte_s, read as 0
    old = Calibration("m", "torch", 1, {}, {}, network={"scale": 1.3, "per_row_s": 4e-5})
    assert old.network_time([0.001, 0.002], [10**6, 0]) == pytest.approx(1.3 * 0.003 + 2 * 4e-5)


def test_a_bad_network_correction_is_refused(tmp_path):
    path = _calibration(tmp_path, network={"scale": -1, "per_row_s": 0})
    with pytest.raises(MbcostError, match="network.scale: -1 is less than the minimum of 0"):
        load_calibration(str(path))
    path = _calibration(tmp_path, name="b.json", network={"scale": 1, "per_row_s": 0, "per_byte_s": -1e-12})
    with pytest.raises(MbcostError, match="network.per_byte_s: -1e-12 is less than the minimum of 0"):
        load_calibration(str(path))


def test_compare_shows_each_specs_prediction(tmp_path, capsys):
    path = _calibration(tmp_path)
    assert main(["compare", "mobilenet_v1", "mobilenet_v1:alpha=0.5,res=160", "--latency", str(path),
                 "--format", "json"]) == 0
    models = json.loads(capsys.readouterr().out)["models"]
    assert main(["table", "mobilenet_v1", "--alpha", "0.5", "--res", "160", "--latency", str(path),
                 "--format", "json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert models[1]["latency_ms"] == pytest.approx(table["total"]["latency_ms"])
    assert models[0]["latency_ms"] > models[1]["latency_ms"]


# -- sweep, pick --all and the tradeoff figure with a latency column ----------------------------------------------

def test_sweep_latency_column_is_each_configurations_table_total(tmp_path, capsys):
    path = _calibration(tmp_path)
    assert main(["sweep", "--alpha", "1,0.5", "--res", "224,128", "--latency", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["latency_from"] == str(path) and len(data["rows"]) == 4
    for row in data["rows"]:
        assert main(["table", "mobilenet_v1", "--alpha", str(row["alpha"]), "--res", str(row["resolution"]),
                     "--latency", str(path), "--format", "json"]) == 0
        assert json.loads(capsys.readouterr().out)["total"]["latency_ms"] == pytest.approx(row["latency_ms"])
    # a wider network is slower under any non-negative model: the column is not one value repeated
    by = {(r["alpha"], r["resolution"]): r["latency_ms"] for r in data["rows"]}
    assert by[(1, 224)] > by[(0.5, 224)] > by[(0.5, 128)]
    assert main(["sweep", "--alpha", "1,0.5", "--res", "224,128", "--latency", str(path), "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split(",")
    assert "latency_ms" in header
    assert main(["sweep", "--alpha", "1,0.5", "--res", "224", "--format", "csv"]) == 0
    assert "latency_ms" not in capsys.readouterr().out  # only when asked for


def test_sweep_latency_over_depths_and_its_bound(tmp_path, capsys):
    path = _calibration(tmp_path)
    assert main(["sweep", "efficientnet_b0", "--depth-mult", "1,2", "--alpha", "1", "--res", "224",
                 "--latency", str(path), "--format", "json"]) == 0
    sweeps = json.loads(capsys.readouterr().out)["sweeps"]
    ms = {s["depth_mult"]: s["rows"][0]["latency_ms"] for s in sweeps}
    assert ms[2] > ms[1] > 0
    assert main(["table", "efficientnet_b0", "--latency", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["latency_ms"] == pytest.approx(ms[1])
    assert main(["sweep", "--alpha", "0.1:1:0.0001", "--res", "224,192,160", "--latency", str(path)]) == 2
    err = capsys.readouterr().err
    assert "at most 20,000 with --latency" in err and err.count("\n") == 1


def test_pick_all_by_predicted_latency(tmp_path, capsys):
    path = _calibration(tmp_path)
    assert main(["pick", "--all", "--max-latency", "40ms", "--latency", str(path), "--top", "0",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["budget"] == {"max_mult_adds": None, "max_params": None, "max_latency_ms": 40}
    got = data["candidates"]
    assert got and all(c["latency_ms"] <= 40 for c in got)
    assert len({c["family"] for c in got}) > 3
    tops = [c["top1"] for c in got]
    assert tops == sorted(tops, reverse=True)
    # a published point of another family: its prediction is table --latency's total at its crop
    other = next(c for c in got if c["family"] != "MobileNet v1")
    assert main(["table", other["model"], "--alpha", str(other["alpha"]), "--res", str(other["resolution"]),
                 "--latency", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["latency_ms"] == pytest.approx(other["latency_ms"])
    # both budgets at once: each holds
    assert main(["pick", "--family", "mobilenet_v2", "--max-madds", "100M", "--max-latency", "40ms",
                 "--latency", str(path), "--top", "0", "--format", "json"]) == 0
    both = json.loads(capsys.readouterr().out)["candidates"]
    assert both and all(c["mult_adds"] <= 100_000_000 and c["latency_ms"] <= 40 for c in both)
    assert main(["pick", "--all", "--max-latency", "0.001ms", "--latency", str(path)]) == 2
    assert "nothing in the family fits 0.001 ms" in capsys.readouterr().err
    assert main(["pick", "--all", "--max-latency", "5ms"]) == 2
    assert "--latency FILE" in capsys.readouterr().err


def test_tradeoff_against_latency_plots_the_predictions(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from mbcost.attachments.latency import load_calibration as load_calibration
    from mbcost.figures.plots import figure

    path = _calibration(tmp_path)
    fig = figure("tradeoff", against="latency", latency=load_calibration(str(path)))
    line = next(li for ax in fig.axes for li in ax.get_lines() if li.get_gid() == "latency-alpha-0.5")
    xs = list(line.get_xdata())
    assert main(["table", "mobilenet_v1", "--alpha", "0.5", "--res", "128", "--latency", str(path),
                 "--format", "json"]) == 0
    assert xs[0] == pytest.approx(json.loads(capsys.readouterr().out)["total"]["latency_ms"])
    assert xs == sorted(xs)  # resolution 128 to 224
    out = tmp_path / "t.svg"
    assert main(["plot", "tradeoff", "--against", "latency", "--latency", str(path), "-o", str(out)]) == 0
    first = out.read_bytes()
    assert main(["plot", "tradeoff", "--against", "latency", "--latency", str(path), "-o", str(out)]) == 0
    assert out.read_bytes() == first  # deterministic
    capsys.readouterr()
    assert main(["plot", "tradeoff", "--against", "latency", "-o", str(tmp_path / "x.png")]) == 2
    assert "--against latency needs --latency FILE" in capsys.readouterr().err
    assert main(["plot", "tradeoff", "--latency", str(path), "-o", str(tmp_path / "x.png")]) == 2
    assert "give --against latency" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_onnxruntime_runner_calibrates_a_file_torch_refuses(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from mbcost.adapters import calibrate as cal_mod

    few = [g for g in cal_mod.grid() if g[0] in ("pw", "dw")][::2]
    monkeypatch.setattr(cal_mod, "grid", lambda: few)
    monkeypatch.setattr(cal_mod, "chains", lambda seed=0: [
        "model c\ninput 32x32x8\ndw 3x3x8 +bn +relu\nconv 1x1x8x16 +bn +relu\n"])  # pw and dw rows only
    runs = []

    def clock(run, seconds):
        run()  # the onnxruntime session really runs the exported network
        runs.append(run)
        return [1e-3] * 5

    monkeypatch.setattr(cal_mod, "_time", clock)
    monkeypatch.setattr(cal_mod, "_machine_constants", lambda run_with: (1e10, 1e-6))
    out = tmp_path / "ort.json"
    assert main(["calibrate", "--output", str(out), "--runtime", "onnxruntime", "--budget", "1"]) == 0
    # the shapes, the network at batch 1 and 2, each round; and the peak-rate probe once
    assert len(runs) == cal_mod.ROUNDS * (len(few) + 2) + 1
    cal = load_calibration(str(out), runtime="onnxruntime", threads=1)
    assert cal.runtime == "onnxruntime" and "onnxruntime" in cal.versions and set(cal.models) == {"pw", "dw"}
    with pytest.raises(MbcostError, match="calibrated with onnxruntime, not torch: calibrate with --runtime torch"):
        load_calibration(str(out), runtime="torch")
    capsys.readouterr()
    assert main(["calibrate", "--validate", str(out), "--runtime", "torch"]) == 2
    err = capsys.readouterr().err
    assert "not torch" in err and err.count("\n") == 1
    # the per-call overhead is the runtime's own: a session.run of an identity graph
    (y,) = cal_mod.runner("onnxruntime", 1).empty_call()()
    assert y.tolist() == [0.0]


def test_synthetic_networks_span_sizes_and_batches():
    pytest.importorskip("torch")
    from mbcost.adapters import calibrate as cal_mod
    from mbcost.results.analysis import analyze
    from mbcost.core.network import Network

    nets = cal_mod.with_batches([analyze(Network.from_text(t, source="<chain>")) for t in cal_mod.chains(0)])
    single = [a for a, b in nets if b == 1]
    batched = [(a, b) for a, b in nets if b > 1]
    assert len(single) == cal_mod.CHAINS and len(batched) == cal_mod.BATCHED_CHAINS
    assert {b for _, b in batched} == {2, 4, 8}
    assert all(b * a.total.mult_adds <= cal_mod.BATCHED_MULT_ADDS for a, b in batched)
    # from MobileNet 0.25-128's size (14 M Mult-Adds) to beyond MobileNet 1.0-224's (569 M)
    sizes = sorted(a.total.mult_adds for a in single)
    assert sizes[0] < 30_000_000 and sizes[-1] > 569_000_000
    assert any(a.input.h == 224 for a in single) and max(r.output.c for a in single for r in a.layers[:-1]) >= 512
