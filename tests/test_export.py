"""mbcost export and the three routes of one torch model (issue 13).

For each model: the torch route (fvcore per module), the ONNX route (the model
exported by torch.onnx and counted by mbcost's ONNX handles) and the spec route
(the spec written from the graph, counted by the symbolic core) must agree
exactly. The three share no counting code. The spec's --alpha/--res are checked
against the torch model built at that width and input size.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")
pytest.importorskip("onnx")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch import nn  # noqa: E402

import mbcost  # noqa: E402
from mbcost.adapters.onnx_count import analyze_graph  # noqa: E402
from mbcost.adapters.onnx_export import module_to_onnx  # noqa: E402
from mbcost.adapters.onnx_model import read_graph  # noqa: E402
from mbcost.adapters.torch_model import analyze_module, analyze_torch  # noqa: E402
from mbcost.cli import main  # noqa: E402
from mbcost.errors import MbcostError  # noqa: E402
from mbcost.graphs.export import ALL_GROUPS, export_spec, line_differences, spec_differences  # noqa: E402
from mbcost.core.network import Config, Network  # noqa: E402
from mbcost.graphs.rowmatch import differences  # noqa: E402

HERE = Path(__file__).parent
MODELS = HERE / "roundtrip_models.py"
sys.path.insert(0, str(HERE))
import roundtrip_models as rm  # noqa: E402

EVERY = Config.make(count=ALL_GROUPS, params="all")


def routes(model: nn.Module, shape=(1, 3, 224, 224), name="model"):
    """(torch route, ONNX graph, ONNX route, written spec, spec route), every group counted."""
    model = model.eval()
    torch_table = analyze_module(model, shape, EVERY, name=name)
    graph = read_graph(name, data=module_to_onnx(model, shape, name))
    onnx_table = analyze_graph(graph, count=ALL_GROUPS)
    from mbcost.graphs.spec_writer import write_spec

    written = write_spec(graph, name=name)
    spec = mbcost.analyze(Network.from_text(written.text), count=ALL_GROUPS, params="all")
    return torch_table, graph, onnx_table, written, spec


def totals(table):
    t = table.total
    return t.mult_adds, t.weights, t.biases, t.norm


HAND_WRITTEN = ["resnetish", "mobilenetv2ish", "senet", "groupnet", "shufflenetish"]


@pytest.mark.parametrize("factory", HAND_WRITTEN)
def test_three_routes_agree_module_by_module(factory):
    torch_table, graph, onnx_table, written, spec = routes(getattr(rm, factory)(), name=factory)
    assert differences(torch_table, onnx_table) == []  # fvcore = ONNX handles, per module
    assert spec_differences(spec, torch_table, written.modules) == []  # symbolic = fvcore, per module
    assert line_differences(spec, graph, written) == []  # symbolic = ONNX handles, per spec line
    assert totals(torch_table) == totals(onnx_table) == totals(spec)
    assert torch_table.total.params == sum(p.numel() for p in getattr(rm, factory)().parameters())


def test_third_party_efficientnet_three_routes():
    """efficientnet_pytorch's B0: its one Swish module is called for the block's
    activation and again inside squeeze-and-excitation, so fvcore and the ONNX
    scopes credit the SE's 8..1152 activations to `_swish`, where the spec's `se`
    line holds them: per module the routes differ only there, and only by moving
    the same Mult-Adds; totals and every line against the graph are equal."""
    pytest.importorskip("efficientnet_pytorch")
    torch_table, graph, onnx_table, written, spec = routes(rm.effnet(), name="effnet")
    assert differences(torch_table, onnx_table) == []
    assert line_differences(spec, graph, written) == []
    assert totals(torch_table) == totals(onnx_table) == totals(spec)
    assert torch_table.total.mult_adds == 401_088_572 and spec.total.params == 5_288_548
    moved = spec_differences(spec, torch_table, written.modules)
    assert moved and all(m.rpartition(".")[0].startswith("_blocks") or m == "_swish" for m, _, _ in moved)
    assert sum(a[0] - b[0] for _, a, b in moved) == 0 and all(a[1:] == b[1:] for _, a, b in moved)
    paper = mbcost.analyze(Network.from_text(written.text))  # conv and fc only: no activation to move
    assert paper.total.mult_adds == 385_814_752  # the zoo's efficientnet_b0, tests/test_third_party.py


@pytest.mark.parametrize("factory, alpha, res", [("resnetish", 0.5, 160), ("mobilenetv2ish", 0.75, 192),
                                                 ("senet", 0.5, 224), ("groupnet", 1.0, 128),
                                                 ("shufflenetish", 0.5, 160)])
def test_exported_spec_scales_like_the_model(factory, alpha, res):
    """The spec written at width 1 and 224, analysed at --alpha a --res r, equals
    the torch model built at width a on an r x r input (int(a·c) channels in
    both)."""
    written = export_spec(torch_target=f"{MODELS}:{factory}", input_shape="1x3x224x224")
    spec = mbcost.analyze(Network.from_text(written.text), alpha=alpha, resolution=res, count=ALL_GROUPS,
                          params="all")
    model = getattr(rm, factory)(width=alpha)
    torch_table = analyze_module(model.eval(), (1, 3, res, res), EVERY)
    assert totals(spec) == totals(torch_table)
    assert spec_differences(spec, torch_table, written.modules) == []


def test_attention_is_counted_but_not_written():
    model = rm.attention()
    torch_table = analyze_module(model, (1, 3, 64, 64), EVERY)
    graph = read_graph("attention", data=module_to_onnx(model, (1, 3, 64, 64), "attention"))
    onnx_table = analyze_graph(graph, count=ALL_GROUPS)
    assert differences(torch_table, onnx_table) == []
    # by hand: stem 16·16·32·(3·4·4); q, k, v, out: 4 · 256·32·32; q·kᵀ and weights·v: 2 · 256·256·32; head
    assert torch_table.total.mult_adds == 256 * 32 * 48 + 4 * 256 * 32 * 32 + 2 * 256 * 256 * 32 + 32 * 10 + \
        32 * 256  # + the mean over 256 positions (pool)
    from mbcost.graphs.spec_writer import write_spec

    with pytest.raises(MbcostError, match="cannot write attention as a spec"):
        write_spec(graph)


# -- the CLI ---------------------------------------------------------------------------------------------

def test_cli_export_torch_to_spec_and_back(tmp_path, capsys):
    out = tmp_path / "senet.spec"
    assert main(["export", "--torch", f"{MODELS}:senet", "--output", str(out)]) == 0
    assert "checked" in capsys.readouterr().out
    text = out.read_text()
    assert "se reduce=4 act=relu gate=hsigmoid" in text and "hswish" in text
    spec = mbcost.analyze(str(out), params="all")
    torch_table = analyze_torch(f"{MODELS}:senet")
    assert totals(spec) == totals(torch_table)
    assert main(["table", str(out), "--alpha", "0.5", "--res", "160"]) == 0


def test_exported_spec_reads_like_a_spec():
    """Repeated modules are one block called per module; the classifier is stated."""
    text = export_spec(torch_target=f"{MODELS}:resnetish").text
    assert "classes 10" in text.splitlines()
    assert "model resnetish" in text and "_block(c1, c2) {" in text and "residual {" in text
    shuffle = export_spec(torch_target=f"{MODELS}:shufflenetish").text
    assert "split parts=2 take=1" in shuffle and "shuffle groups=2" in shuffle
    assert shuffle.count("_block(24)") == 2  # two units: one block, two calls (24: the branch width)


def test_cli_export_onnx_to_spec(tmp_path):
    onnx_file, spec_file = tmp_path / "m.onnx", tmp_path / "m.spec"
    assert main(["export", "--torch", f"{MODELS}:resnetish(width=0.5)", "--input", "1x3x96x96",
                 "--output", str(onnx_file)]) == 0
    assert main(["export", str(onnx_file), "--output", str(spec_file)]) == 0
    a, b = mbcost.analyze(str(onnx_file)), mbcost.analyze(str(spec_file), params="all")
    assert a.total.mult_adds == b.total.mult_adds and a.total.params == b.total.params
    assert main(["check", str(onnx_file)]) == 0


def test_failed_export_writes_nothing(tmp_path, capsys):
    out = tmp_path / "attn.spec"
    assert main(["export", "--torch", f"{MODELS}:attention", "--input", "1x3x64x64", "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot write" in err and "Traceback" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, message", [
    (["--torch", f"{MODELS}:resnetish(width=undefined_name)"], "literals"),
    (["--torch", f"{MODELS}:resnetish(width=-1)"], "factory"),
    (["--torch", f"{MODELS}:resnetish", "--input", "1x5x64x64"], "forward pass failed|export failed"),
    (["--torch", f"{MODELS}:resnetish", "--alpha", "0.5"], "--alpha applies to specs only"),
    (["mobilenet_v1"], "end in .spec or .onnx"),
])
def test_bad_export_input_is_one_line(tmp_path, capsys, args, message):
    import re

    output = tmp_path / ("x.txt" if args == ["mobilenet_v1"] else "x.spec")
    assert main(["export", *args, "--output", str(output)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err and re.search(message, err), err
    assert not output.exists()


def test_too_big_for_the_cpu_is_refused(monkeypatch, capsys, tmp_path):
    from mbcost.adapters import torch_model

    monkeypatch.setattr(torch_model, "available_bytes", lambda: 1_000_000)  # 1 MB free
    assert main(["export", "--torch", f"{MODELS}:resnetish", "--output", str(tmp_path / "x.spec")]) == 2
    err = capsys.readouterr().err
    assert "too big to build on the CPU" in err and "meta device" in err


# -- random torch modules: torch -> ONNX -> spec, counts equal ----------------------------------------------

ACTS = [nn.ReLU, nn.ReLU6, nn.Hardswish, nn.Hardsigmoid, nn.SiLU, nn.Sigmoid]


class Residual(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.body(x)


@st.composite
def random_model(draw):
    c, side, layers = 3, 32, []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["conv", "dw", "bn", "act", "residual", "se", "pool"]))
        if kind == "conv":
            k = draw(st.sampled_from([1, 3, 5]))
            stride = draw(st.sampled_from([1, 2])) if side >= 8 else 1
            dil = draw(st.sampled_from([1, 2])) if k > 1 else 1
            out = draw(st.sampled_from([8, 12, 16]))
            groups = draw(st.sampled_from([g for g in (1, 2, 4) if c % g == 0 and out % g == 0]))
            pad = draw(st.sampled_from([0, dil * (k // 2)]))
            if side + 2 * pad < dil * (k - 1) + 1:
                continue
            layers.append(nn.Conv2d(c, out, k, stride, pad, dil, groups, bias=draw(st.booleans())))
            side = (side + 2 * pad - dil * (k - 1) - 1) // stride + 1
            c = out
        elif kind == "dw":
            layers.append(nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False))
        elif kind == "bn":
            layers.append(nn.BatchNorm2d(c))
        elif kind == "act":
            layers.append(draw(st.sampled_from(ACTS))())
        elif kind == "residual":
            layers.append(Residual(c))
        elif kind == "se" and c >= 4:
            layers.append(rm.SqueezeExcite(c))
        elif kind == "pool" and side >= 4:
            layers.append(nn.MaxPool2d(2, 2))
            side //= 2
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10)]
    return nn.Sequential(*layers)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_model())
def test_random_modules_round_trip(model):
    torch_table, graph, onnx_table, written, spec = routes(model, shape=(1, 3, 32, 32))
    assert differences(torch_table, onnx_table) == []
    assert spec_differences(spec, torch_table, written.modules) == []
    assert line_differences(spec, graph, written) == []
    assert totals(torch_table) == totals(spec)
