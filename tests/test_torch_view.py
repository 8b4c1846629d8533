"""A built model's default view is short and hierarchical (issue 23): rolled up to
the deepest module depth that shows at most 50 rows, indented by depth, zero-cost
rows left out and named, a rolled-up row's stride what its sizes show; totals
unchanged (equal to fvcore's own count and torch's parameters); ``--all-rows``
and CSV/JSON keep every row. Models written as third parties write them:
tests/data/pytorchcv_mobilenetv2.py and efficientnet_pytorch."""

from __future__ import annotations

import importlib.util
import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

import mbcost  # noqa: E402
from mbcost.documents.render import render_text  # noqa: E402
from mbcost.documents.views import model_cost_document  # noqa: E402

from conftest import DATA  # noqa: E402
from test_table_fit import assert_fits, on_terminal  # noqa: E402

MOBILENETV2 = DATA / "pytorchcv_mobilenetv2.py"


def _mobilenetv2():
    spec = importlib.util.spec_from_file_location("pytorchcv_mobilenetv2", MOBILENETV2)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.mobilenetv2()


@pytest.fixture(scope="module")
def mobilenetv2_table():
    return mbcost.analyze(_mobilenetv2(), input_size=(1, 3, 64, 64))


def _fvcore_conv_mult_adds(model, size) -> int:
    """fvcore's own count (its default handles, no mbcost code): conv Mult-Adds."""
    from fvcore.nn import FlopCountAnalysis

    counter = FlopCountAnalysis(model.eval(), torch.zeros(size))
    counter.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return counter.by_operator()["conv"]


def test_the_default_view_is_a_screen_and_keeps_the_totals(mobilenetv2_table):
    full = mobilenetv2_table
    assert len(full.layers) == 3 + 17 * 9 + 3 + 1 + 1  # every leaf: ConvBlocks of conv, bn, activation
    view = full.screenful()
    # depth 4 (the bottlenecks' ConvBlocks: 2 + 51 + 2 + 1 rows) is more than 50: depth 3, a row per bottleneck
    assert view.rolled_depth == 3 and len(view.layers) == 2 + 17 + 2 + 1
    assert sorted(view.hidden) == ["AdaptiveAvgPool2d", "ReLU6", "ReLU6"]
    model = _mobilenetv2()
    size = (1, 3, 64, 64)
    params = sum(p.numel() for p in model.parameters())
    for table in (full, view):
        assert table.total.mult_adds == sum(r.mult_adds for r in table.layers) == _fvcore_conv_mult_adds(model, size)
        assert table.total.params == sum(r.params for r in table.layers) == params
    assert view.by_type() == full.by_type()
    rows = {r.name: r for r in view.layers}
    # a bottleneck's stride from its sizes: stage 2 opens at stride 2 (32→16 px), unit 2 keeps the size
    unit1, unit2 = rows["features.stage2.unit1"], rows["features.stage2.unit2"]
    assert (unit1.type_stride, unit1.input_dims, unit1.output_dims) == (
        "LinearBottleneck / s2", (1, 16, 32, 32), (1, 24, 16, 16))
    assert unit2.type_stride == "LinearBottleneck / s1"
    assert unit1.mult_adds == sum(r.mult_adds for r in full.layers if r.name.startswith("features.stage2.unit1."))


def test_the_default_view_reads_in_at_most_90_lines(mobilenetv2_table):
    text = render_text(model_cost_document(mobilenetv2_table.screenful()), "rich")
    lines = text.splitlines()
    assert len(lines) <= 90
    assert "    features.stage2.unit1  " in text  # indented by depth
    assert "3 rows at 0 Mult-Adds and 0 params not shown (ReLU6 ×2, AdaptiveAvgPool2d ×1)" in text
    every = render_text(model_cost_document(mobilenetv2_table), "rich")
    assert len(every.splitlines()) > 180 and "features.stage5.unit4.conv3.activ" in every


def test_a_small_model_shows_every_row():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8, 2))
    table = mbcost.analyze(net, input_size=(1, 3, 3, 3))
    assert table.screenful() is table


def test_stride_is_omitted_where_the_sizes_show_none():
    from mbcost.results.tables import size_stride

    assert size_stride((1, 16, 112, 112), (1, 24, 56, 56)) == (2, 2)
    assert size_stride((1, 3, 224, 224), (1, 8, 222, 222)) is None  # a 3×3 conv without padding: no stride
    assert size_stride((1, 8, 7, 7), (1, 8, 14, 14)) is None  # upsampling
    assert size_stride((1, 1280, 7, 7), (1, 1000)) is None


DEEP = """
from torch import nn


def build():  # 60 leaf rows: more than a screen
    return nn.Sequential(*[nn.Sequential(nn.Conv2d(2, 2, 1), nn.ReLU()) for _ in range(30)])
"""


def test_cli_default_view_all_rows_and_machine_formats(capsys, tmp_path):
    from mbcost.cli import main

    (tmp_path / "deep.py").write_text(DEEP)
    args = ["table", "--torch", f"{tmp_path / 'deep.py'}:build", "--input", "1x2x4x4"]
    assert main(args) == 0
    shown = capsys.readouterr().out
    # depth 2 with the 30 ReLUs (0 Mult-Adds, 0 params) left out: 30 rows
    assert "rows rolled up to module depth 2" in shown
    assert "30 rows at 0 Mult-Adds and 0 params not shown (ReLU ×30)" in shown
    assert "  29.0 " in shown and "29.1" not in shown
    assert main(args + ["-f", "json"]) == 0  # JSON: every row, full paths
    data = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in data["layers"]][-2:] == ["29.0", "29.1"] and len(data["layers"]) == 60
    assert data["total"]["mult_adds"] == 30 * 2 * 2 * 4 * 4
    assert main(args + ["--all-rows"]) == 0
    assert "29.1" in capsys.readouterr().out
    assert main(args + ["--all-rows", "--max-depth", "2"]) == 2
    assert "give one" in capsys.readouterr().err
    assert main(["table", "mobilenet_v1", "--all-rows"]) == 2
    assert "--all-rows applies to torch models and ONNX files only" in capsys.readouterr().err


def test_efficientnet_pytorch_blocks_show_their_true_strides():
    efficientnet_pytorch = pytest.importorskip("efficientnet_pytorch")
    model = efficientnet_pytorch.EfficientNet.from_name("efficientnet-b0")
    full = mbcost.analyze(model, input_size=(1, 3, 64, 64))
    view = full.screenful()
    assert view.rolled_depth == 2 and view.total == full.total
    strides = [r.stride for r in view.layers if r.name.startswith("_blocks.")]
    # EfficientNet-B0's stages (the paper's Table 1): stride 2 opens stages 2, 3, 4 and 6 (blocks 1, 3, 5, 11)
    assert strides == [(2, 2) if i in (1, 3, 5, 11) else (1, 1) for i in range(16)]
    assert {"ZeroPad2d", "Identity"} <= set(view.hidden)
    # one line a row on a terminal, every row or rolled up; long paths shortened in the middle at 80 only
    for table, width in ((full, 80), (full, 120), (view, 80)):
        assert_fits(model_cost_document(table), width, "Mult-Adds")
    narrow, wide = (on_terminal(model_cost_document(full), w) for w in (80, 120))
    assert "_blocks.0._depthwise_conv.static_padding" in wide and "…" in narrow
    assert "Type / Stride" in narrow  # the module's class stays; the shapes go first
