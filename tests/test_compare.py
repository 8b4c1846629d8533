"""`mbcost compare`: settings per model, ratios, published figures."""

from __future__ import annotations

import json

import pytest
from conftest import mobilenet_oracle

from mbcost.results.comparison import compare, parse_model_arg
from mbcost.errors import MbcostError


def test_parse_model_arg():
    assert parse_model_arg("mobilenet") == ("mobilenet", {})
    assert parse_model_arg("mobilenet:alpha=0.5,res=160") == ("mobilenet", {"alpha": 0.5, "resolution": 160})
    assert parse_model_arg("vgg16:classes=120") == ("vgg16", {"classes": 120})
    with pytest.raises(MbcostError, match="bad setting 'width=2'"):
        parse_model_arg("mobilenet:width=2")
    with pytest.raises(MbcostError, match="bad value 'x' for alpha"):
        parse_model_arg("mobilenet:alpha=x")


def test_ratios_against_first_and_named_reference():
    cmp = compare(["mobilenet", "mobilenet:alpha=0.5,res=160"])
    full, small = mobilenet_oracle(1, 224)[0], mobilenet_oracle(0.5, 160)[0]
    assert cmp.reference == 0
    assert cmp.ratio(cmp.entries[1], "mult_adds") == pytest.approx(small / full)
    cmp = compare(["mobilenet", "mobilenet:alpha=0.5,res=160"], reference="mobilenet:alpha=0.5,res=160")
    assert cmp.reference == 1 and cmp.ratio(cmp.entries[0], "mult_adds") == pytest.approx(full / small)
    with pytest.raises(MbcostError, match="reference 'vgg16' is none of the compared models"):
        compare(["mobilenet"], reference="vgg16")


def test_published_figures_joined_with_their_difference():
    (entry,) = compare(["mobilenet:alpha=0.5,res=160"]).entries
    assert entry.published["top1"] == 60.2 and entry.published["mult_adds_millions"] == 76  # Table 9
    (dogs,) = compare(["mobilenet:alpha=0.75"], classes=120).entries
    # Table 10 (Stanford Dogs): 0.75 MobileNet-224 with 120 classes, 1.9 M parameters
    assert dogs.published["top1"] == 81.9
    assert dogs.analysis.total.params == mobilenet_oracle(0.75, 224, classes=120)[1]
    assert round(dogs.analysis.total.params / 1e6, 1) == dogs.published["params_millions"]
    (odd,) = compare(["mobilenet:alpha=0.6"]).entries
    assert odd.published is None


def test_cli_compare_json(cli):
    res = cli("compare", "mobilenet", "mobilenet:alpha=0.5,res=160", "-f", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["reference"] == "mobilenet_v1"
    first, second = data["models"]
    assert first["mult_adds"] == mobilenet_oracle()[0] and second["mult_adds"] == mobilenet_oracle(0.5, 160)[0]
    assert second["published"]["label"] == "0.50 MobileNet-160"
    assert second["published"]["mult_adds_millions_diff"] == pytest.approx(76.5248 - 76)
    assert {r["type"] for r in first["by_type"]} == {"Conv 1×1", "Conv DW 3×3", "Conv 3×3", "Fully Connected"}


@pytest.mark.parametrize("args,words", [
    (("compare", "mobilenet", "vggg16"), "unknown model 'vggg16'"),
    (("compare", "mobilenet", "--reference", "alexnet"), "reference 'alexnet'"),
    (("compare", "mobilenet:alpha=0"), "alpha must be positive"),
    (("compare",), "Missing argument"),
])
def test_compare_errors(cli, args, words):
    res = cli(*args)
    assert res.returncode == 2 and words in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_vgg16_costs_27x_the_mult_adds_and_32x_the_params_of_mobilenet():
    # The paper's text: "nearly as accurate as VGG16 while being 32 times smaller and 27 times less compute".
    cmp = compare(["vgg16", "mobilenet"], reference="mobilenet")
    vgg = cmp.entries[0]
    assert round(float(cmp.ratio(vgg, "mult_adds"))) == 27
    assert int(cmp.ratio(vgg, "params")) == 32  # 138,344,128 / 4,209,088 = 32.9
    assert vgg.published["top1"] == 71.5


@pytest.mark.parametrize("table,models", [
    (3, ["conv_mobilenet", "mobilenet"]),
    (4, ["mobilenet:alpha=0.75", "shallow_mobilenet"]),
    (8, ["mobilenet", "googlenet", "vgg16"]),
    (9, ["mobilenet:alpha=0.5,res=160", "squeezenet", "alexnet"]),
])
def test_paper_comparison_tables_rebuild_with_compare(table, models):
    from conftest import published

    printed = [r for r in published("imagenet_models") if int(r["table"]) == table]
    cmp = compare(models)
    # the same configuration appears in several tables (1.0 MobileNet-224 in 3, 5, 6, 8) with the same figures
    for entry, row in zip(cmp.entries, printed):
        assert entry.published["top1"] == float(row["top1"])
        assert entry.published["mult_adds_millions"] == float(row["mult_adds_millions"])
        assert entry.published["params_millions"] == float(row["params_millions"])
