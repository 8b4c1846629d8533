"""``mbcost check``, ``table --check`` and ``table --torch``: the three-way count,
the exit codes and messages, and the errors of the torch paths.

Expected values come from the paper's formulas (conftest's mobilenet_oracle, built
from Table 1), the paper's Table 2 and the TF-Slim checkpoints' published costs,
or hand derivations written out beside them."""

from __future__ import annotations

import csv
import io
import json
import sys
import textwrap

import pytest

pytest.importorskip("torch")
pytest.importorskip("fvcore")

from conftest import mobilenet_oracle, published  # noqa: E402

from mbcost.attachments.check import check, check_network  # noqa: E402
from mbcost.core.conventions import PAPER_ALPHAS, PAPER_RESOLUTIONS  # noqa: E402
from mbcost.cli import main  # noqa: E402
from mbcost.core.network import Config  # noqa: E402
from mbcost.results.zoo import load_network  # noqa: E402

PAPER_GRID = [(a, r) for a in (1, 0.75, 0.5, 0.25) for r in (224, 192, 160, 128)]


@pytest.fixture(scope="module")
def mobilenet_grid():
    return check(["mobilenet_v1"], PAPER_ALPHAS, PAPER_RESOLUTIONS)


def test_grid_is_the_papers_sixteen_configurations(mobilenet_grid):
    got = [(float(n.alpha), n.input.h) for n in mobilenet_grid.networks]
    assert got == [(float(a), r) for a, r in PAPER_GRID]


@pytest.mark.parametrize("i", range(16))
def test_mobilenet_three_way_equal_at_every_layer(mobilenet_grid, i):
    net = mobilenet_grid.networks[i]
    alpha, res = PAPER_GRID[i]
    assert net.ok, net.first_mismatch and net.first_mismatch.describe()
    for row in net.layers:
        assert row.symbolic == row.fvcore == row.flop_counter, row.name
        assert row.params == row.torch_params, row.name
        assert row.output == row.torch_output, row.name
    # the independent counters' totals equal the paper's formulas, applied by hand
    mult_adds, weights = mobilenet_oracle(alpha, res)
    assert net.fvcore == mult_adds
    assert net.flop_counter == mult_adds
    assert net.torch_params.weights == weights


def test_fvcore_and_flop_counter_reproduce_the_published_costs(mobilenet_grid):
    # TF-Slim's published million Mult-Adds at alpha 1 (the 0.75/0.5/0.25 checkpoints
    # round channels to multiples of 8, which the paper's int(alpha·c) does not)
    rows = {(float(r["alpha"]), int(r["resolution"])): r for r in published("checkpoints")}
    for net in mobilenet_grid.networks:
        if net.alpha != 1:
            continue
        row = rows[(1.0, net.input.h)]
        assert round(net.fvcore / 1e6) == int(row["mult_adds_millions"])
        assert round(net.flop_counter / 1e6) == int(row["mult_adds_millions"])
    # the paper's Table 3: 4.2 million parameters (weights only) at alpha 1
    paper = next(r for r in published("imagenet_models") if r["table"] == "3" and r["model"] == "mobilenet_v1")
    assert round(mobilenet_grid.networks[0].torch_params.weights / 1e6, 1) == float(paper["params_millions"])


def test_other_conventions_switch_fvcores_handles():
    net = load_network("mobilenet_v1")
    everything = check_network(net, Config.make(count="conv,fc,bn,pool,act"))
    assert everything.ok
    # by hand: each of the 27 conv/dw rows has a batch norm and a ReLU on its output
    # (1 Mult-Add per element each); the global pool reads 7·7·1024 elements
    conv_rows = [r for r in everything.layers if r.type in ("Conv", "Conv dw")]
    elements = sum(r.output.h * r.output.w * r.output.c for r in conv_rows)
    oracle, _ = mobilenet_oracle()
    assert everything.fvcore == oracle + 2 * elements + 7 * 7 * 1024
    # FlopCounterMode cannot count batch norm, pooling or ReLU: not applicable there
    assert all(r.flop_counter is None for r in conv_rows)
    assert everything.flop_counter is None
    fc = next(r for r in everything.layers if r.name == "fc1")
    assert fc.flop_counter == fc.fvcore == 1024 * 1000

    only_bn = check_network(net, Config.make(count="bn"))
    assert only_bn.ok and only_bn.fvcore == elements


def test_check_cli_passes_and_reports(capsys):
    assert main(["check", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["first_mismatch"] is None
    layers = data["networks"][0]["layers"]
    assert [r["name"] for r in layers][:3] == ["conv1", "dw1", "conv2"]
    assert layers[0]["symbolic"] == layers[0]["fvcore"] == layers[0]["flop_counter"] == 3 * 3 * 3 * 32 * 112 * 112


def test_check_all_covers_every_builtin_model(capsys):
    from mbcost.results.zoo import model_names

    assert main(["check", "--all", "--alpha", "0.5", "--res", "128", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [n["model"] for n in data["networks"]] == model_names()
    assert all(n["input"] == [128, 128, 3] and n["alpha"] == 0.5 for n in data["networks"])


def test_check_exits_1_and_names_the_first_differing_layer(monkeypatch, capsys):
    import mbcost.adapters.counters as counters

    real = counters.fvcore_count

    def off_by_one(module, inputs, count):
        result = real(module, inputs, count)
        result.by_module["conv3"] += 1
        return result

    monkeypatch.setattr(counters, "fvcore_count", off_by_one)
    assert main(["check", "--res", "224,160"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    # conv3 at 224: 1·1·64·128·56·56 = 25,690,112 (hand)
    assert "layer conv3" in err[0]
    assert "symbolic 25,690,112, fvcore 25,690,113, FlopCounterMode 25,690,112" in err[0]
    assert "2 of 2 configurations differ" in err[0]


def test_check_reports_a_flop_counter_mismatch(monkeypatch):
    import mbcost.adapters.counters as counters

    real = counters.FcmCounts.mult_adds
    monkeypatch.setattr(counters.FcmCounts, "mult_adds",
                        lambda self, name, count: real(self, name, count) * (2 if name == "fc1" else 1))
    result = check(["mobilenet_v1"])
    net, layer = result.first_mismatch
    assert layer.name == "fc1" and layer.problems == ["FlopCounterMode"]
    assert "FlopCounterMode 2,048,000" in result.failure_message()


def test_check_option_errors_exit_2(capsys):
    assert main(["check", "--all", "mobilenet_v1"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["check", "--alpha", "0"]) == 2
    assert main(["check", "--res", "12x"]) == 2
    assert main(["check", "no_such_model"]) == 2
    assert "unknown model" in capsys.readouterr().err


# -- table --check --------------------------------------------------------------

def test_table_check_adds_the_fvcore_column(capsys):
    assert main(["table", "--check", "--format", "json", "--alpha", "0.5", "--res", "160"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["check"]["agrees"]
    assert all(layer["fvcore_mult_adds"] == layer["mult_adds"] for layer in data["layers"])
    assert sum(layer["fvcore_mult_adds"] for layer in data["layers"]) == mobilenet_oracle(0.5, 160)[0]

    assert main(["table", "--check", "--format", "csv", "--flops"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    first = rows[0]
    assert first["flops"] == str(2 * 3 * 3 * 3 * 32 * 112 * 112)
    assert first["fvcore_mult_adds"] == first["mult_adds"] == str(3 * 3 * 3 * 32 * 112 * 112)


def test_table_check_exits_1_on_a_difference(monkeypatch, capsys):
    import mbcost.attachments.check as check_module

    monkeypatch.setattr(check_module, "fvcore_rows",
                        lambda network, config, instances=None: {i.layer.name: 7 for i in network.evaluate(config)})
    assert main(["table", "--check"]) == 1
    captured = capsys.readouterr()
    assert "fvcore DIFFERS on" in captured.err and "first conv1" in captured.err


# -- missing torch --------------------------------------------------------------

@pytest.mark.parametrize("args", [["check"], ["check", "--all"], ["table", "--check"],
                                  ["table", "--torch", "somewhere:factory"]])
def test_without_torch_the_torch_paths_say_how_to_install(monkeypatch, capsys, args):
    monkeypatch.setitem(sys.modules, "torch", None)  # 'import torch' now raises ImportError
    monkeypatch.setitem(sys.modules, "fvcore", None)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "needs torch and fvcore" in err and "pip install 'mbcost[torch]'" in err
    assert "torch==2.13.0" in err


def test_without_torch_the_symbolic_table_still_works(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "fvcore", None)
    assert main(["table", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["mult_adds"] == mobilenet_oracle()[0]


# -- table --torch ----------------------------------------------------------------

MODELS = textwrap.dedent('''
    import torch
    from torch import nn

    def tiny():
        return nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), nn.Conv2d(8, 16, 1),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))

    class Own(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(self.conv(x).mean((2, 3)))

    def mobilenet():
        from mbcost.adapters.torch_modules import build_module
        from mbcost.results.zoo import load_network
        return build_module(load_network("mobilenet_v1").evaluate())  # on the meta device

    def broken():
        raise ValueError("no weights here")

    def not_a_model():
        return 42

    INSTANCE = nn.Linear(3, 2)
    NUMBER = 7
''')


@pytest.fixture
def user_models(tmp_path, monkeypatch):
    (tmp_path / "user_models.py").write_text(MODELS)
    (tmp_path / "bad_import.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for name in ("user_models", "bad_import"):
        sys.modules.pop(name, None)


def test_torch_table_of_a_small_model(user_models, capsys):
    assert main(["table", "--torch", "user_models:tiny", "--input", "1x3x32x32", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in data["layers"]}
    assert list(rows) == ["0", "1", "2", "3", "4", "5", "6", "7"]  # execution order
    # by hand at 32x32: conv 3·3·3·8·16·16; dw 3·3·8·16·16; pw 8·16·16·16; fc 16·10
    assert rows["0"]["mult_adds"] == 3 * 3 * 3 * 8 * 16 * 16 and rows["0"]["category"] == "Conv 3×3"
    assert rows["3"]["mult_adds"] == 3 * 3 * 8 * 16 * 16 and rows["3"]["category"] == "Conv DW 3×3"
    assert rows["4"]["mult_adds"] == 8 * 16 * 16 * 16 and rows["4"]["category"] == "Conv 1×1"
    assert rows["7"]["mult_adds"] == 16 * 10 and rows["7"]["category"] == "Fully Connected"
    assert rows["5"]["mult_adds"] == 0  # pooling is not counted in the paper's convention
    assert rows["0"]["output"] == [16, 16, 8]
    assert data["total"]["params_breakdown"] == {"weights": 216 + 72 + 128 + 160, "biases": 16 + 10, "norm": 16}
    # a user's model: every parameter by default (what fvcore, ptflops and torchinfo report), so the batch
    # norm's scale and shift make it a row of the breakdown
    assert data["params_convention"] == "all" and data["total"]["params"] == 576 + 26 + 16
    assert {s["type"] for s in data["by_type"]} == {"Conv 3×3", "Conv DW 3×3", "Conv 1×1", "Fully Connected",
                                                    "BatchNorm"}


def test_torch_table_counts_a_modules_own_operators(user_models, capsys):
    assert main(["table", "--torch", "user_models:Own", "--input", "2x3x8x8", "--count", "conv,fc,pool",
                 "--format", "json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["layers"]}
    # batch 2: conv 2·3·4·8·8; the mean over H, W in forward: 2·4·8·8 elements read
    assert rows["conv"]["mult_adds"] == 2 * 3 * 4 * 8 * 8
    assert rows["(model)"]["mult_adds"] == 2 * 4 * 8 * 8 and rows["(model)"]["type"] == "Own (own ops)"
    assert rows["fc"]["mult_adds"] == 2 * 4 * 2


def test_torch_table_of_the_mobilenet_build_matches_table2(user_models, capsys):
    assert main(["table", "--torch", "user_models:mobilenet", "--by-type", "--params", "weights",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    shares = {s["type"]: s for s in data["by_type"]}
    for row in published("table2_by_type"):
        share = shares[row["type"]]
        assert round(share["params_pct"], 2) == float(row["params_pct"])
        if row["type"] == "Conv 3×3":  # printed 1.19: two digits swapped; by hand 10,838,016 / 568,740,352
            assert round(share["mult_adds_pct"], 2) == round(100 * 10838016 / 568740352, 2) == 1.91
        else:
            assert round(share["mult_adds_pct"], 2) == float(row["mult_adds_pct"])
    assert data["total"]["mult_adds"] == mobilenet_oracle()[0]


@pytest.mark.parametrize("args,message", [
    (["--torch", "no_such_pkg_xyz.models:net"], "cannot import 'no_such_pkg_xyz.models': no module named 'no_such_pkg_xyz'"),
    (["--torch", "bad_import:net"], "importing 'bad_import' failed: ModuleNotFoundError"),
    (["--torch", "user_models:nothing"], "module 'user_models' has no attribute 'nothing'"),
    (["--torch", "user_models"], "--torch takes pkg.module:factory"),
    (["--torch", "user_models:broken"], "factory user_models:broken failed: ValueError: no weights here"),
    (["--torch", "user_models:not_a_model"], "returned a int, not a torch.nn.Module"),
    (["--torch", "user_models:NUMBER"], "neither a factory nor a torch.nn.Module"),
    (["--torch", "user_models:tiny", "--input", "1x3x224"], None),
    (["--torch", "user_models:tiny", "--input", "1x3x224xA"], "--input must be a shape like 1x3x224x224"),
    (["--torch", "user_models:tiny", "--input", "1x3x0x4"], "--input must be a shape like 1x3x224x224"),
    (["--torch", "user_models:tiny", "--input", "1x4x32x32"], "the model's forward pass failed on input 1x4x32x32"),
    (["--input", "1x3x32x32"], "--input applies to torch models and ONNX files only"),
    (["vgg16", "--torch", "user_models:tiny"], "not both"),
    (["--torch", "user_models:tiny", "--alpha", "0.5"], "--alpha applies to specs only"),
    (["--torch", "user_models:tiny", "--check"], "--check applies to specs only"),
])
def test_torch_table_errors_are_one_line_exit_2(user_models, capsys, args, message):
    assert main(["table", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("mbcost: error: ")
    if message:
        assert message in err


def test_torch_table_accepts_a_module_instance(user_models, capsys):
    assert main(["table", "--torch", "user_models:INSTANCE", "--input", "4x3", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"]["mult_adds"] == 4 * 3 * 2


# -- the meta device ---------------------------------------------------------------

# MobileNetV4: one network stands for the family (its conv variants add no operator to
# the others'; the hybrid has attention, LayerScale and GELU): each costs ~10 s here.
@pytest.mark.parametrize("name", [n for n in __import__("mbcost.results.zoo", fromlist=["model_names"]).model_names()
                                  if not n.startswith("mobilenet_v4_") or n == "mobilenet_v4_hybrid_large"])
def test_counting_on_meta_equals_counting_on_the_cpu(name):
    """Both counters run on the meta device with two of PyTorch's meta kernels
    replaced (mbcost.adapters.counters.meta_kernels); the same module given zero
    weights on the CPU, with PyTorch's own kernels, must count the same."""
    import torch

    from mbcost.adapters.counters import fcm_count, fvcore_count, fvcore_meta_ok
    from mbcost.adapters.torch_modules import build_module, input_tensor, materialize

    assert fvcore_meta_ok()
    everything = {"conv", "fc", "bn", "pool", "act"}
    # The paper's AlexNet has a fixed FC head: it exists only at its own 227x227.
    resolution = None if name == "alexnet" else 128
    network = load_network(name)
    alpha = 1 if network.preset_of else 0.25  # a preset's width is its definition
    instances = network.evaluate(Config.make(alpha=alpha, resolution=resolution))
    module = build_module(instances)
    meta_fv = fvcore_count(module, (input_tensor(instances),), everything)
    meta_fcm = fcm_count(module, (input_tensor(instances),))
    assert meta_fv.device == "meta"
    materialize(module)
    cpu_fv = fvcore_count(module, (input_tensor(instances, "cpu"),), everything)
    cpu_fcm = fcm_count(module, (input_tensor(instances, "cpu"),))
    assert cpu_fv.device == "cpu"
    assert meta_fv.by_module == cpu_fv.by_module
    assert meta_fcm.flops == cpu_fcm.flops
    # and PyTorch's own meta kernels are back afterwards: fvcore cannot trace a conv on meta alone
    from fvcore.nn import FlopCountAnalysis

    conv = torch.nn.Conv2d(2, 2, 3, device="meta")
    with pytest.raises(Exception):
        FlopCountAnalysis(conv, (torch.empty(1, 2, 5, 5, device="meta"),)).total()


# -- counting in parallel (check --all) ------------------------------------------------

def test_parallel_workers_give_the_same_result_in_the_same_order(monkeypatch):
    """check(workers=2) counts in two spawned processes: the same networks, in the
    order of the jobs, row for row, as in this process; a configuration that makes
    no network is still reported in its place. workers=None (the CLI) stays in
    this process for fewer than 32 networks per CPU."""
    from fractions import Fraction

    import mbcost.attachments.check as check_mod
    from mbcost.core.network import Network
    from mbcost.errors import MbcostError

    tiny = Network.from_text("input 16x16x3\nconv / s2 3x3x3x8 +bn +relu\ndw 3x3x8 +relu\npw 8x8\ngap\nfc 8x4\n",
                             source="tiny.spec")
    fixed = Network.from_text("input 8x8x3\nconv 3x3x3x4 pad=valid\nflatten\nfc 144x2\n", source="fixed.spec")
    args = ([tiny, fixed], [1, Fraction(1, 2)], [16, 8])
    here = check(*args, workers=1)
    skipped = [n.label for n in here.networks if n.skipped]  # fixed.spec's FC head takes 6x6x4 only
    assert skipped and len(skipped) < len(here.networks), skipped
    apart = check(*args, workers=2)
    assert apart.to_dict() == here.to_dict() and apart.ok
    assert [n.label for n in apart.networks] == [n.label for n in here.networks]

    def no_pool(jobs, workers):
        raise AssertionError("a pool was started")

    monkeypatch.setattr(check_mod, "_counted_in_parallel", no_pool)
    assert check(*args, workers=None).to_dict() == here.to_dict()
    with pytest.raises(MbcostError, match="workers must be at least 1"):
        check(*args, workers=0)
