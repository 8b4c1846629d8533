"""The zoo's torchvision networks (the variants of AlexNet and GoogLeNet, the
mobile family) against torchvision's published figures
(tables/published/torchvision.csv) and hand derivation."""

from __future__ import annotations

import pytest
from conftest import published

import mbcost

ROWS = {r["model"]: r for r in published("torchvision")}  # a model's last row (V2 weights where given)
TWICE_ROUNDED = {"mnasnet0_75"}  # documentation 0.21 = round(metadata 0.215, 2); exact 0.21549...


@pytest.mark.parametrize("model", sorted(ROWS))
def test_params_equal_torchvisions_count_and_mult_adds_its_gflops(model):
    row = ROWS[model]
    total = mbcost.analyze(model, params="all", resolution=int(row["resolution"])).total  # at the eval crop
    assert total.params == int(row["params"])
    # torchvision's "GFLOPS" are multiply-accumulates, printed to 2 decimals (docs) or 3 (weights metadata)
    decimals = len(row["gflops"].split(".")[1])
    exact = total.mult_adds / 1e9
    if model in TWICE_ROUNDED:
        assert round(exact, decimals) != float(row["gflops"])
        assert round(round(exact, 3), decimals) == float(row["gflops"])
    else:
        assert round(exact, decimals) == float(row["gflops"])


def test_alexnet_torchvision_by_hand():
    # conv1 11x11x3x64 at 55x55, conv2 5x5x64x192 at 27x27, conv3-5 3x3 at 13x13, FC 9216-4096-4096-1000
    convs = (55 * 55 * 64 * 11 * 11 * 3 + 27 * 27 * 192 * 5 * 5 * 64
             + 13 * 13 * (384 * 9 * 192 + 256 * 9 * 384 + 256 * 9 * 256))
    fcs = 9216 * 4096 + 4096 * 4096 + 4096 * 1000
    a = mbcost.analyze("alexnet_torchvision")
    assert a.total.mult_adds == convs + fcs == 714_188_480
    # the adaptive 6x6 pool: the same classifier, parameters and FC cost at any resolution
    for res in (160, 320):
        other = mbcost.analyze("alexnet_torchvision", resolution=res, params="all")
        assert other.total.params == 61_100_840
        assert [r.mult_adds for r in other.layers if r.kind == "fc"] == [9216 * 4096, 4096 * 4096, 4096 * 1000]


def test_googlenet_torchvision_differs_from_the_papers_as_its_header_says():
    tv = {r.name: r for r in mbcost.analyze("googlenet_torchvision", params="all").layers}
    paper = {r.name: r for r in mbcost.analyze("googlenet").layers}
    # the "5x5" branch is a 3x3 conv: 3·3·16·32 weights in inception3a, not 5·5·16·32
    assert tv["inception3a.branch3.conv2"].weights == 3 * 3 * 16 * 32
    assert paper["inception3a.b5x5.conv2"].weights == 5 * 5 * 16 * 32
    # batch norm after every conv: no conv bias, 2 norm parameters per channel
    assert (tv["conv1"].biases, tv["conv1"].norm) == (0, 2 * 64)
    # the 2x2/2 max pool before 5a still gives 7x7
    assert (tv["maxpool4"].output.h, tv["maxpool4"].output.w) == (7, 7)


@pytest.mark.parametrize("alias,name", [("tv_alexnet", "alexnet_torchvision"),
                                        ("torchvision_googlenet", "googlenet_torchvision")])
def test_aliases(alias, name):
    assert mbcost.analyze(alias).model == name


def test_three_way_check_passes():
    pytest.importorskip("fvcore")
    from mbcost.attachments.check import check

    result = check(["alexnet_torchvision", "googlenet_torchvision"], alphas=["1", "0.5"], resolutions=[224, 160])
    assert result.ok and not any(n.skipped for n in result.networks)
