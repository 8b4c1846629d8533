"""``mbcost sweep``: the vectorized grid equals per-configuration ``analyze``.

Expected values come from ``analyze`` run configuration by configuration (the
reference the vectorized path must reproduce exactly), from the paper's formulas
(``mobilenet_oracle``) and from the published CSVs read directly (not through
mbcost). Never from the sweep's own output.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from fractions import Fraction

import pytest
from conftest import mobilenet_oracle, published

import mbcost
from mbcost.errors import MbcostError
from mbcost.core.network import Network
from mbcost.results.sweep_grid import MAX_AXIS, parse_grid, sweep

# Branches, a residual, pooling (a non-global window, and a global pool with
# batch norm after it: a row whose counted parts sit at different positions,
# H·W for the pool and 1 for its batch norm), all scaled by alpha.
BRANCHY = """
model branchy
input 64x64x3
classes 10
conv / s2 3x3x3x24 +bn +relu
stage: concat {
  branch a { conv 1x1x24x16 +bn +relu }
  branch b {
    conv 1x1x24x8 +bn +relu
    dw 3x3x8 +bn +relu
    conv 1x1x8x16 +bn
  }
  branch c { maxpool / s1 3x3 pad=same }
}
conv 1x1x?x64 +bn +relu
residual {
  conv 1x1x64x128 +bn +relu6
  dw 3x3x128 +bn +relu6
  conv 1x1x128x64 +bn
}
conv / s2 3x3x64x96 +bn +relu
avgpool / s2 2x2
gap +bn
fc 96x10
"""

ALL_COUNTED = "conv,fc,bn,pool,act"


def assert_equals_analyze(result, model, **conventions):
    """Every configuration of the sweep, totals and per layer, == analyze."""
    for i, alpha in enumerate(result.alphas):
        for j, res in enumerate(result.resolutions):
            ref = mbcost.analyze(model, alpha=alpha, resolution=res, **conventions)
            row = result.at(alpha, res)
            assert (row.mult_adds, row.params) == (ref.total.mult_adds, ref.total.params), (alpha, res)
            assert type(row.mult_adds) is int and type(row.params) is int
            if result.method == "vectorized":
                assert result.layer_mult_adds(i, j) == [r.mult_adds for r in ref.layers], (alpha, res)


# -- exactness ---------------------------------------------------------------------

def test_mobilenet_grid_equals_analyze():
    result = sweep("mobilenet_v1", "0.25:1:0.15,0.33,1.4", "96:224:32,97,33,1")
    assert result.method == "vectorized"
    assert len(result) == len(result.alphas) * len(result.resolutions) == 8 * 8
    assert_equals_analyze(result, "mobilenet_v1")


def test_mobilenet_all_counted_all_params_and_channel_rounding():
    conventions = dict(count=ALL_COUNTED, params="all", min_depth=8, divisor=8, classes=120)
    result = sweep("mobilenet_v1", "0.1,0.35,0.5,0.8,1", "224,160,113,7", **conventions)
    assert result.method == "vectorized"
    assert_equals_analyze(result, "mobilenet_v1", **conventions)


@pytest.mark.parametrize("count", ["conv,fc", ALL_COUNTED, "pool,bn"])
def test_branches_residual_and_pooling_equal_analyze(count):
    net = Network.from_text(BRANCHY)
    result = sweep(net, "0.25:1:0.25,0.3,0.35,0.6", "64,63,33,17,9", count=count, params="weights+biases")
    assert result.method == "vectorized"
    assert_equals_analyze(result, net, count=count, params="weights+biases")


def test_a_row_with_parts_at_different_positions_is_handled():
    # gap1 +bn: the pool is paid at H·W positions, its batch norm at 1. The sweep
    # factors per part, not per row, so this row needs no special case.
    net = Network.from_text(BRANCHY)
    analysis = mbcost.analyze(net, resolution=64, count=ALL_COUNTED)
    gap = analysis.layers[[r.name for r in analysis.layers].index("gap1")]
    positions = {p.positions for p in analysis._parts[analysis.layers.index(gap)] if p.mult_adds}
    assert positions == {8 * 8, 1}
    assert gap.mult_adds == 8 * 8 * 96 + 96  # global pool H·W·C, then batch norm on 1×1×C
    result = sweep(net, "1,0.5", "64,32", count=ALL_COUNTED)
    assert result.at(1, 64).mult_adds == analysis.total.mult_adds


def test_flatten_falls_back_to_exact_per_config():
    # A flatten whose map follows the resolution makes the next layer's input
    # channels H·W·C: not a product of a width term and a resolution term. Each
    # configuration is evaluated alone. (With no FC after it: a fully connected
    # layer there would not exist at another resolution, and is refused.)
    net = Network.from_text("input 16x16x3\nconv / s2 3x3x3x8\nflatten\npw 1x1x?x4\n", name="flat")
    result = sweep(net, "1,0.5", "16,8")
    assert result.method == "per-config"
    assert "flatten1" in result.reason
    assert_equals_analyze(result, net)
    with pytest.raises(MbcostError, match="cannot vectorize flat"):
        sweep(net, "1,0.5", "16,8", method="vectorized")
    # one resolution: the channels cannot change with it, so it vectorizes
    one = sweep(net, "1,0.5,0.25", "16")
    assert one.method == "vectorized"
    assert_equals_analyze(one, net)
    # VGG-16 pools to 7x7 before its classifier (torchvision's head): it vectorizes
    vgg = sweep("vgg16", "1,0.5", "224,160")
    assert vgg.method == "vectorized"
    assert_equals_analyze(vgg, "vgg16")


def test_per_config_method_agrees_with_vectorized():
    fast = sweep("mobilenet_v1", "0.3:1:0.35", "100:200:50")
    slow = sweep("mobilenet_v1", "0.3:1:0.35", "100:200:50", method="per-config")
    assert (fast.method, slow.method) == ("vectorized", "per-config")
    assert fast.rows == slow.rows


def test_no_int64_overflow_on_huge_counts():
    # 3 x 4e9 weights at 1e10 positions: 1.2e20 Mult-Adds, past int64 (9.2e18).
    net = Network.from_text("input 100000x100000x3\nconv / s1 1x1x3x4000000000\n")
    result = sweep(net, "1,0.5", "100000,50000")
    assert result.method == "vectorized"
    assert result.at(1, 100000).mult_adds == 3 * 4_000_000_000 * 100000 * 100000 > 2**63
    assert result.at(Fraction(1, 2), 50000).mult_adds == 3 * 2_000_000_000 * 50000 * 50000
    assert_equals_analyze(result, net)


# -- the paper's figures ------------------------------------------------------------

def test_paper_grid_matches_hand_formulas():
    result = sweep()  # the paper's 16: alpha 1, 0.75, 0.5, 0.25 x 224, 192, 160, 128
    assert [(r.alpha, r.resolution) for r in result.rows] == [
        (Fraction(a), r) for a in ("1", "0.75", "0.5", "0.25") for r in (224, 192, 160, 128)]
    for row in result.rows:
        assert (row.mult_adds, row.params) == mobilenet_oracle(row.alpha, row.resolution)


@pytest.mark.parametrize("row", [r for r in published("imagenet_models")
                                 if r["model"] == "mobilenet_v1" and r["table"] in ("5", "6")],
                         ids=lambda r: f"table{r['table']}-{r['label']}")
def test_cells_against_tables_5_and_6(row):
    result = sweep("mobilenet_v1", "1,0.75,0.5,0.25", "224,192,160,128")
    cell = result.at(Fraction(row["alpha"]), int(row["resolution"]))
    millions = cell.mult_adds / 1e6
    if (row["alpha"], row["resolution"]) == ("1.0", "160"):
        assert int(millions) == int(row["mult_adds_millions"])  # printed truncated: 290.68 -> 290
    else:
        assert round(millions) == int(row["mult_adds_millions"])
    assert round(cell.params / 1e6, 1) == float(row["params_millions"])


def test_published_accuracy_joined_on_the_16_checkpoints_only():
    result = sweep("mobilenet_v1", "1,0.75,0.6,0.5,0.25", "224,208,192,160,128")
    expected = {(Fraction(r["alpha"]), int(r["resolution"])): (float(r["top1"]), float(r["top5"]))
                for r in published("checkpoints")}
    joined = {(r.alpha, r.resolution): (r.top1, r.top5) for r in result.rows if r.published}
    assert joined == expected
    for r in result.rows:
        if (r.alpha, r.resolution) not in expected:
            assert (r.top1, r.top5) == (None, None)
    assert "16 published rows" in result.published_note
    assert "alpha 0.75 at 224, 192, 160, 128 px" in result.published_note


def test_no_accuracy_for_other_models_or_other_networks():
    assert not any(r.published for r in sweep("vgg16", "1", "224").rows)
    assert "no published accuracy for vgg16" in sweep("vgg16", "1", "224").published_note
    # 120 classes is not the ImageNet checkpoint
    other = sweep("mobilenet_v1", "1,0.5", "224", classes=120)
    assert not any(r.published for r in other.rows)
    assert "not joined at alpha 1, 0.5" in other.published_note
    # channel rounding that leaves the network as released keeps the join:
    # multiples of 8 at alpha 0.5 (16, 32, ... 512) and at 1
    rounded = sweep("mobilenet_v1", "1,0.5", "224", divisor=8)
    assert all(r.published for r in rounded.rows)


# -- grids ------------------------------------------------------------------------

def test_range_is_exact_decimal():
    values = parse_grid("0.25:1:0.05", "alpha")
    assert len(values) == 16
    assert values == [Fraction(100 - 5 * k, 100) for k in range(16)]  # largest first, no float drift
    assert values[0] == 1 and values[-1] == Fraction(1, 4)


def test_range_stop_included_only_on_the_grid():
    assert parse_grid("0.25:1:0.3", "alpha") == [Fraction(85, 100), Fraction(55, 100), Fraction(25, 100)]
    assert parse_grid("128:224:16", "resolution") == [224, 208, 192, 176, 160, 144, 128]
    assert parse_grid("128:230:32", "resolution") == [224, 192, 160, 128]
    assert parse_grid("0.5:0.5:0.1", "alpha") == [Fraction(1, 2)]


def test_lists_ranges_mixed_and_duplicates():
    assert parse_grid("1,0.75,0.5,0.25", "alpha") == [1, Fraction(3, 4), Fraction(1, 2), Fraction(1, 4)]
    assert parse_grid("0.25:0.5:0.25,1, 1.0 ,1.00", "alpha") == [1, Fraction(1, 2), Fraction(1, 4)]
    assert parse_grid([224, 160, 224], "resolution") == [224, 160]
    assert parse_grid("128.0", "resolution") == [128]
    assert all(type(r) is int for r in parse_grid("96:128:8", "resolution"))


@pytest.mark.parametrize("text,what,message", [
    ("", "alpha", "grid is empty"),
    (" , ", "resolution", "grid is empty"),
    ("0.25:1", "alpha", "bad alpha range '0.25:1': write start:stop:step"),
    ("0.25:1:0.05:2", "alpha", "bad alpha range"),
    ("0.25::0.05", "alpha", "bad alpha range"),
    ("0.25:1:0", "alpha", "step of alpha range '0.25:1:0' must be positive"),
    ("0.25:1:-0.05", "alpha", "must be positive"),
    ("1:0.25:0.05", "alpha", "is empty"),
    ("0", "alpha", "alpha must be positive, got 0"),
    ("-0.5", "alpha", "alpha must be positive"),
    ("0:1:0.25", "alpha", "alpha must be positive, got 0 (in range '0:1:0.25')"),
    ("abc", "alpha", "alpha must be a number, got 'abc'"),
    ("1e", "alpha", "must be a number"),
    ("nan", "alpha", "must be a number"),
    ("160.5", "resolution", "whole number of pixels"),
    ("128:224:0.5", "resolution", "must be a whole number"),
    ("0", "resolution", "resolution must be positive"),
    ("0.0001:1000:0.0001", "alpha", f"at most {MAX_AXIS:,}"),
])
def test_bad_grids(text, what, message):
    with pytest.raises(MbcostError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_grid(text, what)


def test_vanishing_feature_map_names_the_layer_and_configuration():
    with pytest.raises(MbcostError) as info:
        sweep(Network.from_text(BRANCHY, source="branchy.spec"), "1", "64,9,3")
    assert "layer avgpool1" in str(info.value) and "feature map vanishes" in str(info.value)
    assert "resolution 3" in str(info.value)
    assert info.value.detail()  # the spec line and a caret, as for 'mbcost table'
    with pytest.raises(MbcostError, match="layer maxpool5.*vanishes.*resolution 16"):
        sweep("vgg16", "1", "224,16")


def test_alpha_that_leaves_no_channels():
    with pytest.raises(MbcostError, match="layer conv1: width multiplier 0.01 leaves 0 of its 32 channels"):
        sweep("mobilenet_v1", "1,0.01", "224")


def test_too_many_configurations():
    with pytest.raises(MbcostError, match="10,010,000 configurations"):
        sweep("mobilenet_v1", "0.0001:1:0.0001", "1:1001:1")  # 10,000 x 1,001


# -- imports ----------------------------------------------------------------------

def test_numpy_only_when_sweeping():
    script = (
        "import sys, io, contextlib\n"
        "from mbcost.cli import main\n"
        "import mbcost.results.sweep_grid, mbcost.results.pick\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['table', '--alpha', '0.5']) == 0\n"
        "print('numpy' in sys.modules)\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['sweep']) == 0\n"
        "    assert main(['pick', '--max-madds', '150M']) == 0\n"
        "print('numpy' in sys.modules)\n"
        "print(' '.join(m for m in ('torch', 'fvcore', 'matplotlib', 'pandas') if m in sys.modules) or '-')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True", "-"]


# -- the command line ---------------------------------------------------------------

def test_cli_default_is_the_paper_grid(cli):
    res = cli("sweep")
    assert res.returncode == 0, res.stderr
    for alpha, r in ((1, 224), (0.5, 160), (0.25, 128)):
        assert f"{mobilenet_oracle(alpha, r)[0]:,}" in res.stdout
    assert "vectorized" in res.stdout and "16 published rows" in res.stdout


def test_cli_json_rows_sorted_and_joined(cli):
    res = cli("sweep", "--alpha", "0.5:1:0.25", "--res", "160,224,192", "-f", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    keys = [(r["alpha"], r["resolution"]) for r in data["rows"]]
    assert keys == [(a, r) for a in (1, 0.75, 0.5) for r in (224, 192, 160)]
    first = data["rows"][0]
    assert first["mult_adds"] == mobilenet_oracle(1, 224)[0] and first["params"] == mobilenet_oracle(1, 224)[1]
    (pub,) = [r for r in published("checkpoints") if (r["alpha"], r["resolution"]) == ("1.0", "224")]
    assert (first["top1"], first["top5"], first["published"]) == (float(pub["top1"]), float(pub["top5"]), True)
    assert data["method"] == "vectorized" and data["unit"] == "mult-adds"


def test_cli_csv_flops_and_output_file(cli, tmp_path):
    out = tmp_path / "grid.csv"
    res = cli("sweep", "--alpha", "0.25:1:0.05", "--res", "128:224:32", "--flops", "-o", str(out))
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 16 * 4
    assert float(rows[0]["alpha"]) == 1 and rows[0]["resolution"] == "224"
    assert int(rows[0]["flops"]) == 2 * mobilenet_oracle(1, 224)[0]
    assert float(rows[-1]["alpha"]) == 0.25 and int(rows[-1]["flops"]) == 2 * mobilenet_oracle(0.25, 128)[0]
    meta = json.loads((tmp_path / "grid.csv-metadata.json").read_text())  # the conventions beside it
    assert meta["url"] == "grid.csv" and any("conv, fc" in line for line in meta["dc:description"])


def test_cli_count_and_params_options(cli):
    res = cli("sweep", "--alpha", "0.5", "--res", "160", "--count", ALL_COUNTED, "--params", "all", "-f", "json")
    data = json.loads(res.stdout)
    ref = mbcost.analyze("mobilenet_v1", alpha=0.5, resolution=160, count=ALL_COUNTED, params="all")
    assert (data["rows"][0]["mult_adds"], data["rows"][0]["params"]) == (ref.total.mult_adds, ref.total.params)
    assert data["counted"] == ["conv", "fc", "bn", "pool", "act"] and data["params_convention"] == "all"


@pytest.mark.parametrize("args,message", [
    (("--alpha", "0.25:1"), "bad alpha range '0.25:1'"),
    (("--alpha", "0.25:1:0"), "must be positive"),
    (("--res", "0"), "resolution must be positive"),
    (("--alpha", ""), "grid is empty"),
    (("--alpha", "-1"), "alpha must be positive"),
    (("--count", "conv,flops"), "cannot count flops"),
    (("nosuchmodel",), "unknown model 'nosuchmodel'"),
])
def test_cli_errors_are_one_line_exit_2(cli, args, message):
    res = cli("sweep", *args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mbcost: error: ") and message in lines[0]
    assert "Traceback" not in res.stderr and res.stdout == ""


def test_cli_vanishing_map_exit_2(cli):
    res = cli("sweep", "vgg16", "--alpha", "1", "--res", "224,16")
    assert res.returncode == 2
    first = res.stderr.splitlines()[0]
    assert first.startswith("mbcost: error: ") and "layer maxpool5" in first and "resolution 16" in first
    assert "Traceback" not in res.stderr


def test_scientific_notation_is_a_number_as_elsewhere():
    # --alpha 1e200 works in table and compare; the grid parser reads it too, exactly
    assert parse_grid("1e-1,2.5E1") == [Fraction(25), Fraction(1, 10)]


def test_an_impossible_grid_fails_at_its_cheapest_configuration_first():
    # 1,000 x 1,000 configurations, every one of which leaves conv1 no channels
    # below alpha 1/32: the error names the smallest alpha and resolution, found
    # before any of the rest is evaluated.
    with pytest.raises(MbcostError, match=r"at alpha 0\.001, resolution 1\)"):
        sweep("mobilenet_v1", "0.001:1:0.001", "1:1000:1")


@pytest.mark.parametrize("command", [["sweep", "--alpha", "1,0.5", "--res", "224,128"],
                                     ["table", "efficientnet_b0", "--res", "96"]])
def test_depth_mult_one_is_one_whatever_its_spelling(capsys, command):
    """--depth-mult 1.0 (or 1.00) prints the very table --depth-mult 1 prints: the
    plain sweep, not a depth sweep of one multiplier."""
    from mbcost.cli import main

    outputs = []
    for spelling in ("1", "1.0", "1.00"):
        assert main(command + ["--depth-mult", spelling, "--format", "json"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == outputs[2]
    assert main(command + ["--depth-mult", "1.0"]) == 0
    assert "depth multiplier" not in capsys.readouterr().out  # no depth axis, no depth in the heading
