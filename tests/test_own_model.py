"""Your own model (issue 13, first part): ``mbcost.analyze`` on any nn.Module,
``--torch`` with a file path and literal factory arguments, every parameter by
default for a user's model. Expected counts are derived by hand."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

import mbcost  # noqa: E402
from mbcost.errors import MbcostError  # noqa: E402

MODEL = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, width=16, classes=10):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.bn = nn.BatchNorm2d(width)
        self.fc = nn.Linear(width, classes)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).mean((2, 3)))


def build(width=16, classes=10, **extra):
    if extra:
        raise ValueError(f"unknown options {sorted(extra)}")
    return Net(width, classes)
'''


class Net(torch.nn.Module):
    def __init__(self, width=16, classes=10):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, width, 3, padding=1)
        self.fc = torch.nn.Linear(width, classes)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)))


def test_analyze_a_module_like_a_spec():
    a = mbcost.analyze(Net(), input_size=(1, 3, 32, 32))
    assert [r.name for r in a.layers] == ["conv", "fc"]
    assert a.total.mult_adds == 3 * 3 * 3 * 16 * 32 * 32 + 16 * 10
    assert a.config.params == "all" and a.total.params == (3 * 3 * 3 * 16 + 16) + (16 * 10 + 10)
    assert list(a.to_frame()["mult_adds"]) == [3 * 3 * 3 * 16 * 32 * 32, 16 * 10]
    assert {s.type for s in a.by_type()} == {"Conv 3×3", "Fully Connected"}
    weights = mbcost.analyze(Net(), input_size=(1, 3, 32, 32), params="weights")
    assert weights.total.params == 3 * 3 * 3 * 16 + 16 * 10


def test_analyze_with_explicit_inputs_and_errors():
    b = mbcost.analyze(Net(), inputs=(torch.zeros(2, 3, 8, 8),))  # batch 2
    assert b.total.mult_adds == 2 * (3 * 3 * 3 * 16 * 8 * 8 + 16 * 10)
    with pytest.raises(MbcostError, match="alpha applies to specs only"):
        mbcost.analyze(Net(), alpha=0.5)
    with pytest.raises(MbcostError, match="forward pass failed on input 1x4x8x8"):
        mbcost.analyze(Net(), input_size=(1, 4, 8, 8))
    with pytest.raises(MbcostError, match="input_size applies to torch models and ONNX files only"):
        mbcost.analyze("mobilenet_v1", input_size=(1, 3, 224, 224))


def test_torch_option_takes_a_file_and_literal_arguments(cli, cli_here, tmp_path):
    path = tmp_path / "my_models.py"
    path.write_text(MODEL)
    # a real process once (the file's folder importable, the factory's arguments parsed); the rest in-process
    res = cli("table", "--torch", f"{path}:build(width=8, classes=5)", "--input", "1x3x32x32", "-f", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    rows = {r["name"]: r for r in data["layers"]}
    assert rows["conv"]["mult_adds"] == 3 * 3 * 3 * 8 * 32 * 32 and rows["fc"]["mult_adds"] == 8 * 5
    assert data["params_convention"] == "all" and data["total"]["params"] == 224 + 16 + 45
    for target, message in ((f"{path}:build(width=__import__('os'))", "must be Python literals"),
                            (f"{path}:build(depth=3)", "factory " + str(path) + ":build(depth=3) failed: ValueError"),
                            (f"{tmp_path}/missing.py:build", "no such Python file"),
                            (f"{path}:nothing", "has no attribute 'nothing'")):
        bad = cli_here("table", "--torch", target)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
        assert message in bad.stderr, bad.stderr


def test_fused_modules_parameters_belong_to_the_module_that_uses_them():
    class Attend(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.att = torch.nn.MultiheadAttention(8, 2)  # calls F.linear on out_proj.weight: out_proj never runs
            self.fc = torch.nn.Linear(8, 3)

        def forward(self, x):
            return self.fc(self.att(x, x, x)[0])

    a = mbcost.analyze(Attend(), input_size=(5, 1, 8))  # (L, N, E)
    rows = {r.name: r for r in a.layers}
    # in_proj 8 -> 24 and out_proj 8 -> 8: weights 192 + 64, biases 24 + 8, all on the attention's row
    assert (rows["att"].weights, rows["att"].biases) == (192 + 64, 24 + 8)
    assert a.uncalled_params == 0 and a.total.params == 192 + 64 + 24 + 8 + 8 * 3 + 3


DEEP = '''
from torch import nn


def build():
    def block(c):
        return nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU())
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Sequential(block(8), block(8)),
                         nn.Sequential(block(8)), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))
'''


def test_max_depth_rolls_rows_up_and_keeps_totals(cli_here, tmp_path):
    path = tmp_path / "deep.py"
    path.write_text(DEEP)
    full = json.loads(cli_here("table", "--torch", f"{path}:build", "--input", "1x3x16x16", "-f", "json").stdout)
    res = cli_here("table", "--torch", f"{path}:build", "--input", "1x3x16x16", "--max-depth", "1", "-f", "json")
    assert res.returncode == 0, res.stderr
    rolled = json.loads(res.stdout)
    assert [r["name"] for r in rolled["layers"]] == ["0", "1", "2", "3", "4", "5"]
    one = next(r for r in rolled["layers"] if r["name"] == "1")
    assert one["mult_adds"] == 2 * 3 * 3 * 8 * 8 * 16 * 16 and one["type"] == "Sequential"
    assert one["stride"] == [1, 1]  # 16×16 in, 16×16 out
    assert rolled["total"] == full["total"] and rolled["by_type"] == full["by_type"]
    bad = cli_here("table", "mobilenet_v1", "--max-depth", "1")
    assert bad.returncode == 2 and "--max-depth applies to torch models and ONNX files only" in bad.stderr


def test_torch_models_are_built_on_the_meta_device_with_a_cpu_fallback(cli_here, tmp_path):
    path = tmp_path / "models.py"
    path.write_text(MODEL + '''

class NeedsValues(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x)
        return y * float(y.abs().sum().item() >= 0)  # a value: impossible on the meta device


def needs_values():
    return NeedsValues()
''')
    meta = cli_here("table", "--torch", f"{path}:build", "--input", "1x3x8x8")
    assert meta.returncode == 0 and "built on the meta device" in meta.stdout, meta.stderr
    cpu = cli_here("table", "--torch", f"{path}:needs_values", "--input", "1x3x8x8", "-f", "json")
    assert cpu.returncode == 0, cpu.stderr
    assert json.loads(cpu.stdout)["total"]["mult_adds"] == 3 * 3 * 3 * 4 * 6 * 6
    text = cli_here("table", "--torch", f"{path}:needs_values", "--input", "1x3x8x8").stdout
    assert "built on the CPU: on the meta device" in text and "item()" in text


def test_torch_sizes_are_shown_in_the_models_own_layout(cli_here, tmp_path):
    path = tmp_path / "m.py"
    path.write_text(MODEL)
    text = cli_here("table", "--torch", f"{path}:build(width=8)", "--input", "1x3x32x32").stdout
    assert "1×3×32×32" in text and "1×8×32×32" in text and "N×C×H×W" in text
    data = json.loads(cli_here("table", "--torch", f"{path}:build(width=8)", "--input", "2x3x16x16",
                               "-f", "json").stdout)
    conv = next(r for r in data["layers"] if r["name"] == "conv")
    assert (conv["input_dims"], conv["output_dims"]) == ([2, 3, 16, 16], [2, 8, 16, 16])
    assert conv["output"] == [16, 16, 8]  # the JSON contract's H, W, C stays


def test_torch_formula_column(cli_here, tmp_path):
    path = tmp_path / "m.py"
    path.write_text(MODEL)
    data = json.loads(cli_here("table", "--torch", f"{path}:build(width=8)", "--input", "2x3x32x32", "--formula",
                          "-f", "json").stdout)
    rows = {r["name"]: r for r in data["layers"]}
    # batch 2: N·Kh·Kw·M·N·Ho·Wo and rows·in·out, written out; none where nothing is counted
    assert rows["conv"]["formula"] == "2·3·3·3·8·32·32" and rows["conv"]["mult_adds"] == 2 * 9 * 3 * 8 * 32 * 32
    assert rows["fc"]["formula"] == "2·8·10" and rows["bn"]["formula"] == ""


# -- --memory for a torch model, from its traced graph -------------------------------------------------------

def _memory(model, shape):
    from mbcost.adapters.torch_model import analyze_user_module
    from mbcost.adapters.torch_trace import torch_memory

    a = analyze_user_module(model, shape)
    return torch_memory(a, a.module, a.example_inputs)


def test_memory_of_a_torch_model_by_hand():
    # input 3·8·8 = 192; conv -> 8·8·8 = 512; ReLU (a new tensor) 512; 1x1 conv -> 4·8·8 = 256 (elements, fp32)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 1))
    report = _memory(net, (1, 3, 8, 8))
    assert [m.alive_bytes for m in report.layers] == [4 * (192 + 512), 4 * (512 + 512), 4 * (512 + 256)]
    assert report.peak_bytes == 4 * 1024 and report.peak.name == "1"
    assert [m.output_bytes for m in report.layers] == [4 * 512, 4 * 512, 4 * 256]
    assert report.input_bytes == 4 * 192 and report.params == 3 * 9 * 8 + 8 + 8 * 4 + 4


def test_memory_in_place_relu_writes_nothing():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(inplace=True),
                              torch.nn.Conv2d(8, 4, 1))
    report = _memory(net, (1, 3, 8, 8))
    assert report.layers[1].output_bytes == 0
    assert report.peak_bytes == 4 * (512 + 256) and report.peak.name == "2"


def test_memory_residual_keeps_the_block_input_alive():
    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Conv2d(4, 4, 3, padding=1)
            self.b = torch.nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x):
            return x + self.b(self.a(x))

    report = _memory(Block(), (1, 4, 5, 5))  # every tensor 100 elements
    # while b runs: x (kept for the addition), a's output, b's output
    assert {m.name: m.alive_bytes for m in report.layers}["b"] == 4 * 300


def test_cli_torch_memory(tmp_path, capsys):
    from mbcost.cli import main

    (tmp_path / "m.py").write_text(MODEL)
    assert main(["table", "--torch", f"{tmp_path}/m.py:build", "--memory", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["memory"]["peak_activation_bytes"] > 0 and "alive_bytes" in data["layers"][0]


COUNTED = '''
import pathlib

import torch
from torch import nn

CALLS = pathlib.Path(__file__).with_name("calls.txt")


def _called(name):
    with CALLS.open("a") as f:
        f.write(name + "\\n")


class Checked(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x)
        return y * 2 if float(y.sum()) > 1e30 else y  # reads a value: fails on the meta device


def good():
    _called("good")
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())


def broken():
    _called("broken")
    raise ValueError("no such checkpoint")


def not_a_module():
    _called("not_a_module")
    return 3


def reads_values():  # the factory itself needs real tensors
    _called("reads_values")
    model = nn.Sequential(nn.Conv2d(3, 4, 3))
    assert int(torch.ones(2).sum()) == 2
    return model


def checks_values():  # the forward pass needs real tensors
    _called("checks_values")
    return Checked()
'''


def test_a_factory_is_called_once_where_one_build_serves(tmp_path, capsys):
    """A factory's own failure is reported after one call (not again for the size
    check and the CPU); a second call only where the CPU is needed (the factory or
    its forward pass reads values, which the meta device has not) and for an
    export, whose size check on meta comes before the CPU build of real weights."""
    from mbcost.cli import main

    (tmp_path / "counted.py").write_text(COUNTED)
    calls = tmp_path / "calls.txt"

    def run(*args):
        calls.unlink(missing_ok=True)
        rc = main(list(args))
        out, err = capsys.readouterr()
        return rc, out, err, calls.read_text().split() if calls.exists() else []

    m = f"{tmp_path}/counted.py"
    small = ("--input", "1x3x8x8")
    assert run("table", "--torch", f"{m}:good", *small)[::3] == (0, ["good"])
    assert run("table", "--torch", f"{m}:good", *small, "--memory")[::3] == (0, ["good"])
    for name, said in (("broken", "ValueError: no such checkpoint"), ("not_a_module", "returned a int")):
        for args in (("table", "--torch", f"{m}:{name}"), ("export", "--torch", f"{m}:{name}", "-o",
                                                            str(tmp_path / "x.spec"))):
            rc, _, err, called = run(*args)
            assert (rc, called) == (2, [name]) and said in err and err.count("\n") == 1, (args, err, called)
    for name in ("reads_values", "checks_values"):
        rc, out, err, called = run("table", "--torch", f"{m}:{name}", *small, "--format", "json")
        assert (rc, called) == (0, [name, name]), (name, err)
        data = json.loads(out)
        assert data["total"]["mult_adds"] == 3 * 3 * 3 * 4 * 6 * 6  # conv 3x3x3x4 at 6x6 output, by hand
    rc, _, err, called = run("export", "--torch", f"{m}:good", *small, "-o", str(tmp_path / "good.spec"))
    assert (rc, called) == (0, ["good", "good"]), err  # meta: its size; then the CPU: real weights to export
