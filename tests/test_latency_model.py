"""Predicted latency (issues 14 and 25): the fit recovers known models, a spec's
rows decompose into exactly the calls its torch build makes, predictions follow
the file's coefficients by hand, for specs and torch models alike. No test
asserts a measured time."""

from __future__ import annotations

import json
import random

import pytest

from mbcost.attachments.latency import Calibration, calls_features_total, load_calibration, predict_latency
from mbcost.attachments.latency_fit import fit_coefficients, fit_correction, nnls
from mbcost.attachments.latency_ops import KIND_FEATURES, Call, NotDecomposed, network_calls
from mbcost.cli import main
from mbcost.errors import MbcostError
from toy_calibration import COEF, toy, write_toy


# -- fitting -----------------------------------------------------------------------------------------------------

def test_nnls_solves_a_known_system_and_never_goes_negative():
    np = pytest.importorskip("numpy")
    a = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert nnls(a, np.array([2.0, 3.0, 5.0])) == pytest.approx([2.0, 3.0])
    # plain least squares would give x1 = -1: the constrained optimum sets it to 0 and refits x0
    x = nnls(np.array([[1.0, 1.0], [1.0, 0.0]]), np.array([1.0, 2.0]))
    assert x == pytest.approx([1.5, 0.0])


def test_the_fit_recovers_per_kind_coefficients_from_rows():
    """Rows made of random calls, timed by a known model: the fit gives the model back."""
    rng = random.Random(1)
    truth = {"pw": {"calls": 3e-6, "mult_adds": 2e-11}, "dw": {"calls": 4e-5, "planes": 5e-8},
             "bn": {"calls": 2e-6, "elements": 3e-10}, "module": {"calls": 8e-7}}
    rows, seconds = [], []
    for _ in range(60):
        calls = [Call("module")] * rng.randint(1, 3)
        calls += [Call("pw", mult_adds=rng.randint(10**5, 10**8))] * rng.randint(0, 2)
        calls += [Call("dw", planes=rng.randint(8, 2000))] * rng.randint(0, 1)
        calls += [Call("bn", elements=rng.randint(10**3, 10**6))] * rng.randint(0, 2)
        row = calls_features_total(calls, 1 << 20)
        rows.append(row)
        seconds.append(sum(truth[k][f] * v for key, v in row.items() for k, f in [key.split(":")]
                           if f in truth.get(k, {})))
    got = fit_coefficients(rows, seconds, [1.0] * len(rows))
    for kind, model in truth.items():
        for feature, value in model.items():
            assert got[f"{kind}:{feature}"] == pytest.approx(value, rel=1e-6)
    assert all(v >= 0 for v in got.values())


def test_the_in_network_correction_is_recovered():
    predicted = [0.001, 0.004, 0.02, 0.0005]
    got = fit_correction(predicted, [1.1 * p + 2e-4 for p in predicted])
    assert got["scale"] == pytest.approx(1.1) and got["per_pass_s"] == pytest.approx(2e-4)


# -- a spec's calls: exactly those of its torch build ------------------------------------------------------------

@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v3_small", "shufflenet_v2_x0_5", "efficientnet_b0",
                                  "googlenet", "mobilenet_v4_hybrid_medium"])  # pads, SE, split/shuffle/concat,
# pooling padded by hand, attention and LayerScale: every kind's calls (the other zoo networks were checked by hand)
def test_a_specs_calls_are_its_torch_builds_traced_calls(name):
    """The independent oracle: the calls torch really makes (a trace of the built
    module, on the meta device), row by row, against the spec's decomposition."""
    pytest.importorskip("torch")
    from mbcost.adapters.latency_trace import calls_by_row
    from mbcost.adapters.torch_modules import build_module, input_tensor
    from mbcost.results.analysis import analyze

    a = analyze(name, alpha=0.5, resolution=128)
    net = build_module(a.instances, device="meta", name=a.model)
    traced, outside = calls_by_row(net, (input_tensor(a.instances, batch=2),), net.row_names)
    assert traced == network_calls(a, batch=2)
    assert outside == [Call("module")]  # the network's own forward


def test_every_registered_kind_decomposes_and_an_unknown_one_is_refused_by_name():
    from types import SimpleNamespace

    from mbcost.attachments.latency_ops import row_calls
    from mbcost.kinds import KINDS, Shape

    known = {"adaptive_avgpool", "adaptive_maxpool", "mqa", "mhsa", "relu", "relu6", "hswish", "hsigmoid", "silu",
             "sigmoid", "gelu", "clip01", "softmax", "dropout", "bn", "shuffle", "split", "conv", "dw", "pw", "fc",
             "flatten", "layerscale", "concat", "add", "avgpool", "maxpool", "gap", "gmp", "se"}
    assert set(KINDS) == known  # a new kind: add its calls to latency_ops, and it to the trace test's networks
    fake = SimpleNamespace(layer=SimpleNamespace(stmt=SimpleNamespace(kind="tconv"), name="up1", post=()),
                           input=Shape(4, 4, 8), output=Shape(8, 8, 8))
    with pytest.raises(NotDecomposed, match="no latency model for 'tconv' rows yet \\(up1\\)"):
        row_calls(fake)


# -- predictions by hand ------------------------------------------------------------------------------------------

def test_table_latency_is_the_files_formula_by_hand(tmp_path, capsys):
    path = write_toy(tmp_path)
    assert main(["table", "mobilenet_v1", "--latency", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    first = data["layers"][0]
    # conv / s2 3x3x3x32 +bn +relu at 224 with TensorFlow's "same" padding (0 before, 1 after): torch runs a
    # Sequential (1 module call) of a ZeroPad2d (module + a copy of 225 x 225 x 3), the conv (module + call,
    # 3·3·3·32·112·112 Mult-Adds), the batch norm and the ReLU (module + call, 112·112·32 elements each)
    calls = 9
    mult_adds = 3 * 3 * 3 * 32 * 112 * 112
    elements = 225 * 225 * 3 + 2 * 112 * 112 * 32
    assert first["latency_ms"] == pytest.approx(1e3 * (calls * 1e-5 + 1e-10 * mult_adds + 1e-11 * elements))
    assert data["total"]["latency_ms"] == pytest.approx(sum(layer["latency_ms"] for layer in data["layers"]))
    assert sum(t["latency_ms"] for t in data["latency_by_type"]) == pytest.approx(data["total"]["latency_ms"])
    # the in-network correction: each row × scale, and a time per pass outside the rows
    corrected = write_toy(tmp_path, "net.json", correction={"scale": 2.0, "per_pass_s": 1e-3})
    assert main(["table", "mobilenet_v1", "--latency", str(corrected), "--format", "json"]) == 0
    data2 = json.loads(capsys.readouterr().out)
    assert data2["layers"][0]["latency_ms"] == pytest.approx(2 * first["latency_ms"])
    assert data2["total"]["latency_ms"] == pytest.approx(2 * data["total"]["latency_ms"] + 1.0)
    # a batch of 8: 8 images' work and activations, the weights read once, the calls once
    assert main(["table", "mobilenet_v1", "--latency", str(path), "--batch", "8", "--format", "json"]) == 0
    data8 = json.loads(capsys.readouterr().out)
    assert data8["latency_batch"] == 8 and data8["total"]["mult_adds"] == data["total"]["mult_adds"]  # per image
    assert data8["layers"][0]["latency_ms"] == pytest.approx(
        1e3 * (calls * 1e-5 + 1e-10 * 8 * mult_adds + 1e-11 * 8 * elements))
    assert main(["table", "--batch", "8"]) == 2
    assert "--batch goes with --latency" in capsys.readouterr().err


def test_a_torch_models_latency_is_predicted_from_its_traced_calls(tmp_path):
    torch = pytest.importorskip("torch")
    import mbcost

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU())
    table = mbcost.analyze(model, input_size=(1, 3, 8, 8))
    got = predict_latency(table, toy())
    # rows 0 (module + a 3x3 conv call, 3·3·3·8·8·8 Mult-Adds) and 1 (module + ReLU on 8·8·8 elements);
    # the Sequential's own call is outside both rows
    assert got.seconds == pytest.approx((2e-5 + 1e-10 * 3 * 3 * 3 * 8 * 8 * 8, 2e-5 + 1e-11 * 512))
    assert got.outside_s == pytest.approx(1e-5)
    assert got.total_ms == pytest.approx(1e3 * (sum(got.seconds) + 1e-5))
    # a batch of 4: four images' work, the same calls
    four = predict_latency(table, toy(), batch=4)
    assert four.seconds[1] == pytest.approx(2e-5 + 1e-11 * 4 * 512)
    # a call kind the file has no model for is refused in one line, never predicted as something else
    coef = {k: v for k, v in COEF.items() if k != "norm"}
    norm = mbcost.analyze(torch.nn.Sequential(torch.nn.GroupNorm(2, 4)), input_size=(1, 4, 4, 4))
    with pytest.raises(MbcostError, match="no model for norm calls"):
        predict_latency(norm, toy(coef))


def test_table_torch_latency_on_the_command_line(tmp_path, capsys):
    pytest.importorskip("torch")
    path = write_toy(tmp_path)
    model = tmp_path / "tiny.py"
    model.write_text("import torch\n\ndef build():\n    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1), "
                     "torch.nn.Hardswish(), torch.nn.AdaptiveAvgPool2d(1))\n")
    assert main(["table", "--torch", f"{model}:build", "--input", "1x3x16x16", "--latency", str(path),
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layers"][0]["latency_ms"] == pytest.approx(1e3 * (2e-5 + 1e-10 * 3 * 8 * 16 * 16))
    assert data["total"]["latency_ms"] == pytest.approx(
        sum(layer["latency_ms"] for layer in data["layers"]) + data["latency_outside_rows_ms"])


# -- the file -----------------------------------------------------------------------------------------------------

def test_file_round_trip_and_refusals(tmp_path):
    path = write_toy(tmp_path)
    cal = load_calibration(str(path))
    assert cal.runtime == "torch" and cal.threads == 1 and cal.coef == COEF
    with pytest.raises(MbcostError, match="calibrated with 1 thread.*not 4.*--threads 4"):
        load_calibration(str(path), threads=4)
    with pytest.raises(MbcostError, match="calibrated with torch, not onnxruntime"):
        load_calibration(str(path), runtime="onnxruntime")
    with pytest.raises(MbcostError, match="version 1; this mbcost reads version 2"):
        load_calibration(str(write_toy(tmp_path, "old.json", version=1)))
    data = json.loads(path.read_text())
    data["coef"]["pw"]["mult_adds"] = -2
    path.write_text(json.dumps(data))
    with pytest.raises(MbcostError, match=r"coef.pw.mult_adds: -2 is less than the minimum of 0"):
        load_calibration(str(path))
    data["coef"]["pw"] = {"elements": 1e-9}  # a feature the 1x1 model does not take
    path.write_text(json.dumps(data))
    with pytest.raises(MbcostError, match=r"not a valid calibration file: coef.pw"):
        load_calibration(str(path))


def test_explain_prints_every_kinds_model(tmp_path, capsys):
    coef = {k: v for k, v in COEF.items() if k != "matmul"}
    path = write_toy(tmp_path, coef=coef, networks=[
        {"name": "synthetic0", "batch": 1, "mult_adds": 10, "measured_ms": 2.0, "spread": 0.1, "predicted_ms": 2.2,
         "role": "held out"}], validation=[{"model": "mobilenet_v1", "alpha": 0.5, "resolution": 160, "batch": 4}])
    assert main(["calibrate", "--explain", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    models = {m["kind"]: m["model"] for m in data["models"]}
    assert set(models) == set(KIND_FEATURES)
    assert models["pw"] == "10 µs/call + 100 ps/MAC"
    assert "not fitted" in models["matmul"] and "refused" in models["matmul"]
    assert data["networks"][0]["role"] == "held out" and data["validation"][0]["batch"] == 4
    assert main(["calibrate", "--explain", str(path)]) == 0
    out = capsys.readouterr().out
    assert "synthetic0" in out and "mobilenet_v1" in out and "10 µs/call" in out
    assert main(["calibrate", "--explain", str(path), "--torch", "x:y"]) == 2
    assert "--torch goes with --validate" in capsys.readouterr().err


# -- the protocol --------------------------------------------------------------------------------------------------

def test_the_figure_is_the_least_round_median_and_the_spread_is_shown():
    from mbcost.adapters.timing import clock_for, summarize

    rounds = [[(0.011, 0.010), (0.012, 0.010), (0.050, 0.011)], [(0.013, 0.012), (0.013, 0.012), (0.013, 0.013)]]
    m = summarize(rounds, "cpu")
    assert m.seconds == 0.010 and m.rounds == (0.010, 0.012) and m.spread == pytest.approx(0.2)
    assert m.wall == 0.012 and m.cpu == 0.010 and m.calls == 6
    assert summarize(rounds, "wall").seconds == 0.012
    assert clock_for(1) == "cpu" and clock_for(4) == "wall" and clock_for(1, "cuda") == "wall"


# -- calibrate and validate, with the clock replaced (the structure, not the times) ------------------------------

def _fake_timing(monkeypatch, cal_mod):
    from mbcost.adapters import timing

    def interleaved(runs, *, budget, rounds=5, clock="cpu", min_calls=3, seed=0, progress=None, labels=None,
                    step=None):
        for i, run in enumerate(runs[:50]):  # every network's instrumented pass really runs, once
            out = run()
            if step is not None:
                step(i, 0, [1e-4] * len(out) if isinstance(out, list) else out)
        return [timing.Measured(2e-3, 0.05, (2e-3, 2.1e-3), 2e-3, 2e-3, 10, clock) for _ in runs]

    monkeypatch.setattr(cal_mod, "interleaved", interleaved)
    monkeypatch.setattr(cal_mod, "bandwidth", lambda: 1e10)
    monkeypatch.setattr(cal_mod, "peak_mac_rate", lambda run_with: 1e11)


def test_calibrate_and_validate_structure(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    from mbcost.adapters import calibrate as cal_mod

    _fake_timing(monkeypatch, cal_mod)
    cal = cal_mod.calibrate(budget=1, count=5)
    assert cal.threads == 1 and cal.runtime == "torch" and cal.clock == "cpu" and "torch" in cal.versions
    assert [n["role"] for n in cal.networks] == ["fitted"] * 4 + ["held out"]
    assert cal.fit["heldout"]["count"] == 1 and cal.fit["fitted"]["count"] == 4
    assert len(cal.validation) == len(cal_mod.VALIDATION) >= 20
    # per-call terms are the measured overheads (here: the fake 2 ms per 100 calls), the rest fitted
    assert all(model["calls"] == pytest.approx(2e-5) for model in cal.coef.values() if "calls" in model)
    out = tmp_path / "m.json"
    out.write_text(cal.to_json())
    assert load_calibration(str(out)).coef == cal.coef
    monkeypatch.setattr(cal_mod, "VALIDATION", [("mobilenet_v1", 0.25, 128, 1), ("mobilenet_v2", 0.35, 128, 4)])
    model = tmp_path / "tiny.py"
    model.write_text("import torch\n\ndef build():\n    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1), "
                     "torch.nn.ReLU())\n")
    assert main(["calibrate", "--validate", str(out), "--torch", f"{model}:build", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["route"] for r in data["results"]] == ["spec", "spec", "torch"]
    assert {"predicted_ms", "measured_ms", "spread", "error", "batch"} <= set(data["results"][0])
    assert data["results"][1]["batch"] == 4 and data["results"][0]["spread"] == pytest.approx(0.05)
    assert data["worst_abs_error"] >= data["median_abs_error"] >= 0 and data["median_spread"] == pytest.approx(0.05)
    # the calibration's held-out network, rebuilt from its seed and timed again: the machine's drift, stated
    assert [a["name"] for a in data["machine_drift"]["anchors"]] == [n["name"] for n in cal.networks[-1:]]
    assert data["machine_drift"]["median_ratio"] == pytest.approx(1.0)
    assert main(["calibrate", "--validate", str(out), "--threads", "2"]) == 2
    assert "--threads 2" in capsys.readouterr().err


def test_synthetic_networks_span_styles_sizes_and_batches():
    pytest.importorskip("torch")
    from mbcost.adapters import calibrate as cal_mod
    from mbcost.core.network import Network
    from mbcost.results.analysis import analyze

    nets = cal_mod.synthetic_networks(0, 40)
    assert len(nets) == 40 and len({text for _, text, _ in nets}) == 40
    styles = {name.split("_")[1] for name, _, _ in cal_mod.synthetic_networks(0)}
    assert {"v1", "v2", "v3", "effnet", "shuffle", "resnet", "squeeze", "mix"} == styles
    assert {b for _, _, b in nets} == {1, 2, 4, 8}
    sizes = []
    for _, text, batch in nets:
        a = analyze(Network.from_text(text, source="<synthetic>"))
        assert batch * a.total.mult_adds <= cal_mod.MAX_MULT_ADDS
        network_calls(a, batch)  # every row's calls are known
        sizes.append(a.total.mult_adds)
    # none is a zoo network, and they reach from below MobileNet 0.25-128 (14 M) past MobileNet 0.5-160 (77 M)
    assert min(sizes) < 14_000_000 and max(sizes) > 77_000_000


# -- every command with --latency: the total is table --latency's -------------------------------------------------

def test_pick_by_predicted_latency(tmp_path, capsys):
    path = write_toy(tmp_path)
    assert main(["pick", "--max-latency", "60ms", "--latency", str(path), "--top", "0", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["budget"]["max_latency_ms"] == 60 and data["budget"]["max_mult_adds"] is None
    got = data["candidates"]
    assert got and all(c["latency_ms"] <= 60 for c in got)
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


def test_compare_shows_each_specs_prediction(tmp_path, capsys):
    path = write_toy(tmp_path)
    assert main(["compare", "mobilenet_v1", "mobilenet_v1:alpha=0.5,res=160", "--latency", str(path),
                 "--format", "json"]) == 0
    models = json.loads(capsys.readouterr().out)["models"]
    assert main(["table", "mobilenet_v1", "--alpha", "0.5", "--res", "160", "--latency", str(path),
                 "--format", "json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert models[1]["latency_ms"] == pytest.approx(table["total"]["latency_ms"])
    assert models[0]["latency_ms"] > models[1]["latency_ms"]


def test_sweep_latency_column_is_each_configurations_table_total(tmp_path, capsys):
    path = write_toy(tmp_path)
    assert main(["sweep", "--alpha", "1,0.5", "--res", "224,128", "--latency", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["latency_from"] == str(path) and len(data["rows"]) == 4
    for row in data["rows"]:
        assert main(["table", "mobilenet_v1", "--alpha", str(row["alpha"]), "--res", str(row["resolution"]),
                     "--latency", str(path), "--format", "json"]) == 0
        assert json.loads(capsys.readouterr().out)["total"]["latency_ms"] == pytest.approx(row["latency_ms"])
    by = {(r["alpha"], r["resolution"]): r["latency_ms"] for r in data["rows"]}
    assert by[(1, 224)] > by[(0.5, 224)] > by[(0.5, 128)]
    assert main(["sweep", "--alpha", "1,0.5", "--res", "224", "--format", "csv"]) == 0
    assert "latency_ms" not in capsys.readouterr().out  # only when asked for


def test_sweep_latency_over_depths_and_its_bound(tmp_path, capsys):
    path = write_toy(tmp_path)
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
    path = write_toy(tmp_path)
    assert main(["pick", "--all", "--max-latency", "40ms", "--latency", str(path), "--top", "0",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    got = data["candidates"]
    assert got and all(c["latency_ms"] <= 40 for c in got)
    assert len({c["family"] for c in got}) > 3
    other = next(c for c in got if c["family"] != "MobileNet v1")
    assert main(["table", other["model"], "--alpha", str(other["alpha"]), "--res", str(other["resolution"]),
                 "--latency", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["latency_ms"] == pytest.approx(other["latency_ms"])
    assert main(["pick", "--all", "--max-latency", "0.001ms", "--latency", str(path)]) == 2
    assert "nothing in the family fits 0.001 ms" in capsys.readouterr().err


def test_tradeoff_against_latency_plots_the_predictions(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from mbcost.figures.plots import figure

    path = write_toy(tmp_path)
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
    assert not (tmp_path / "x.png").exists()


def test_onnxruntime_calibration_fits_whole_networks_and_torch_refuses_it(tmp_path, monkeypatch, capsys):
    pytest.importorskip("onnxruntime")
    from mbcost.adapters import calibrate as cal_mod

    _fake_timing(monkeypatch, cal_mod)
    cal = cal_mod.calibrate(runtime="onnxruntime", budget=1, count=3)
    assert cal.runtime == "onnxruntime" and "onnxruntime" in cal.versions and cal.coef
    out = tmp_path / "ort.json"
    out.write_text(cal.to_json())
    with pytest.raises(MbcostError, match="calibrated with onnxruntime, not torch: calibrate with --runtime torch"):
        load_calibration(str(out), runtime="torch")
    assert main(["calibrate", "--validate", str(out), "--runtime", "torch"]) == 2
    err = capsys.readouterr().err
    assert "not torch" in err and err.count("\n") == 1
    assert isinstance(toy(), Calibration)
