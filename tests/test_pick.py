"""``mbcost pick``: budgets, ranking and the accuracy interpolation.

Expected accuracies are computed here by hand: the published top-1/top-5 read
from tables/published/checkpoints.csv directly, Mult-Adds from the paper's
formulas (``mobilenet_oracle``), and the documented rule
``acc0 + (acc1 - acc0) * ln(M / M0) / ln(M1 / M0)``.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest
from conftest import mobilenet_oracle, mobilenet_roofline_oracle, published

from mbcost.errors import MbcostError
from mbcost.results.pick import parse_budget, pick

PUB = {(Fraction(r["alpha"]), int(r["resolution"])): (float(r["top1"]), float(r["top5"]))
       for r in published("checkpoints")}
DEFAULT_GRID = [(Fraction(25 + 5 * i, 100), r) for i in range(16) for r in range(128, 225, 16)]


def M(alpha, res) -> int:
    return mobilenet_oracle(Fraction(str(alpha)), res)[0]


def W(alpha, res) -> int:
    return mobilenet_oracle(Fraction(str(alpha)), res)[1]


def loglinear(m, m0, m1, v0, v1):
    return v0 + (v1 - v0) * math.log(m / m0) / math.log(m1 / m0)


def one(alpha, res):
    (c,) = pick("10G", alphas=str(alpha), resolutions=str(res)).fits
    return c


# -- budgets ----------------------------------------------------------------------

@pytest.mark.parametrize("text,value", [
    ("150M", 150_000_000), ("150m", 150_000_000), ("2.5M", 2_500_000), ("1G", 10**9), ("1.5G", 1_500_000_000),
    ("800K", 800_000), ("150000000", 150_000_000), (" 150 M ", 150_000_000), (42, 42), ("0.5K", 500),
])
def test_budget_values(text, value):
    assert parse_budget(text) == value


@pytest.mark.parametrize("text", ["150MB", "abc", "", "-5M", "0", "0M", "1.5", "0.0000001M", "1e6", "M", "5T"])
def test_bad_budgets(text):
    with pytest.raises(MbcostError, match="budget"):
        parse_budget(text, "budget")


# -- accuracy: published, interpolated, none ------------------------------------------

def test_published_configuration_keeps_its_published_accuracy():
    c = one("0.5", 224)
    assert (c.accuracy.top1, c.accuracy.top5) == PUB[(Fraction(1, 2), 224)] == (63.3, 84.9)
    assert c.accuracy.kind == "published"
    assert (c.mult_adds, c.params) == mobilenet_oracle(0.5, 224)


def test_alpha_1_at_176_is_log_linear_between_160_and_192():
    c = one(1, 176)
    (a0, b0), (a1, b1) = PUB[(1, 160)], PUB[(1, 192)]
    assert (a0, a1) == (68.0, 70.0)
    m, m0, m1 = M(1, 176), M(1, 160), M(1, 192)
    assert m0 < m < m1
    assert c.accuracy.top1 == pytest.approx(loglinear(m, m0, m1, a0, a1), abs=1e-12)
    assert c.accuracy.top5 == pytest.approx(loglinear(m, m0, m1, b0, b1), abs=1e-12)
    assert a0 < c.accuracy.top1 < a1 and b0 < c.accuracy.top5 < b1
    assert c.accuracy.kind == "interpolated" and "160-192 px" in c.accuracy.how


def test_between_widths_at_a_published_resolution():
    c = one("0.6", 160)
    (a0, _), (a1, _) = PUB[(Fraction(1, 2), 160)], PUB[(Fraction(3, 4), 160)]
    expected = loglinear(M(0.6, 160), M(0.5, 160), M(0.75, 160), a0, a1)
    assert c.accuracy.top1 == pytest.approx(expected, abs=1e-12)
    assert a0 < c.accuracy.top1 < a1
    assert "alpha 0.5-0.75" in c.accuracy.how


def test_between_widths_and_resolutions():
    # first along the resolution at alpha 0.5 and 0.75 (in their own Mult-Adds),
    # then across the widths in the Mult-Adds at 176 px
    c = one("0.6", 176)
    low = loglinear(M(0.5, 176), M(0.5, 160), M(0.5, 192), PUB[(Fraction(1, 2), 160)][0], PUB[(Fraction(1, 2), 192)][0])
    high = loglinear(M(0.75, 176), M(0.75, 160), M(0.75, 192), PUB[(Fraction(3, 4), 160)][0],
                     PUB[(Fraction(3, 4), 192)][0])
    expected = loglinear(M(0.6, 176), M(0.5, 176), M(0.75, 176), low, high)
    assert c.accuracy.top1 == pytest.approx(expected, abs=1e-12)
    assert low < c.accuracy.top1 < high
    assert "alpha 0.5-0.75, each 160-192 px" in c.accuracy.how


@pytest.mark.parametrize("alpha,res", [("0.2", 224), ("1.1", 224), ("1", 112), ("1", 240), ("0.6", 120),
                                       ("0.24", 160)])
def test_outside_the_published_range_gets_no_accuracy(alpha, res):
    c = one(alpha, res)
    assert (c.accuracy.top1, c.accuracy.top5, c.accuracy.kind) == (None, None, "none")
    assert "not extrapolated" in c.accuracy.how
    assert c.mult_adds == M(alpha, res)


def test_every_interpolated_value_lies_between_its_published_neighbours():
    result = pick("10G")  # the whole default grid
    assert result.considered == len(DEFAULT_GRID) == 112
    for c in result.fits:
        assert c.accuracy.top1 is not None
        widths = sorted({a for a, _ in PUB})
        lo_a = max(a for a in widths if a <= c.alpha)
        hi_a = min(a for a in widths if a >= c.alpha)
        lo_r = max(r for r in (128, 160, 192, 224) if r <= c.resolution)
        hi_r = min(r for r in (128, 160, 192, 224) if r >= c.resolution)
        corners = [PUB[(a, r)][0] for a in (lo_a, hi_a) for r in (lo_r, hi_r)]
        assert min(corners) - 1e-9 <= c.accuracy.top1 <= max(corners) + 1e-9


# -- budgets and ranking -------------------------------------------------------------

def test_fits_and_ranking_under_150M():
    result = pick("150M")
    expected = {(a, r) for a, r in DEFAULT_GRID if M(a, r) <= 150_000_000}
    assert {(c.alpha, c.resolution) for c in result.fits} == expected
    assert all(c.mult_adds == M(c.alpha, c.resolution) for c in result.fits)
    tops = [c.accuracy.top1 for c in result.fits]
    assert tops == sorted(tops, reverse=True)  # best first; all within the published range
    # the published 0.5 MobileNet-224 (149.5 M) fits and carries its published 63.3
    (half,) = [c for c in result.fits if (c.alpha, c.resolution) == (Fraction(1, 2), 224)]
    assert half.accuracy.top1 == 63.3 and half.accuracy.kind == "published"
    # alpha 0.75 at 160 px (166.4 M) does not fit
    assert (Fraction(3, 4), 160) not in {(c.alpha, c.resolution) for c in result.fits}


def test_params_budget():
    result = pick("1G", "1.4M")
    expected = {(a, r) for a, r in DEFAULT_GRID if W(a, r) <= 1_400_000}
    assert {(c.alpha, c.resolution) for c in result.fits} == expected
    assert {c.alpha for c in result.fits} == {Fraction(k, 100) for k in (25, 30, 35, 40, 45, 50)}
    assert result.fits[0].alpha == Fraction(1, 2) and result.fits[0].resolution == 224  # 63.3, published


def test_configurations_without_accuracy_rank_last_largest_first():
    result = pick("1G", alphas="1,0.2", resolutions="224,160,112")
    order = [(c.alpha, c.resolution) for c in result.fits]
    with_acc = [(1, 224), (1, 160)]  # 70.9, 68.0 (published)
    without = sorted([(Fraction(1), 112), (Fraction(1, 5), 224), (Fraction(1, 5), 160), (Fraction(1, 5), 112)],
                     key=lambda k: -M(*k))
    assert order == with_acc + without
    assert [c.accuracy.kind for c in result.fits] == ["published", "published"] + ["none"] * 4


def test_other_models_have_no_accuracy():
    result = pick("20G", model="vgg16", alphas="1,0.5", resolutions="224,160")
    assert all(c.accuracy.kind == "none" for c in result.fits) and result.source == ""
    madds = [c.mult_adds for c in result.fits]
    assert madds == sorted(madds, reverse=True)


def test_nothing_fits_names_the_cheapest():
    with pytest.raises(MbcostError) as info:
        pick("10M")
    cheapest = M(0.25, 128)  # 13,570,048
    assert str(info.value) == (
        "nothing fits 10,000,000 Mult-Adds among the 112 configurations searched: the cheapest is alpha 0.25 "
        f"at 128 px at {cheapest:,} Mult-Adds ({W(0.25, 128):,} params)")
    with pytest.raises(MbcostError, match="nothing fits 1,000,000,000 Mult-Adds and 100,000 params"):
        pick("1G", "100K")


# -- the command line ---------------------------------------------------------------

def test_cli_json(cli):
    res = cli("pick", "--max-madds", "150M", "--max-params", "2M", "-f", "json", "--top", "0")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["budget"] == {"max_mult_adds": 150_000_000, "max_params": 2_000_000, "max_latency_ms": None}
    expected = {(a, r) for a, r in DEFAULT_GRID if M(a, r) <= 150_000_000 and W(a, r) <= 2_000_000}
    assert data["fit"] == data["shown"] == len(expected) and data["considered"] == 112
    got = {(Fraction(str(c["alpha"])), c["resolution"]) for c in data["candidates"]}
    assert got == expected
    assert [c["rank"] for c in data["candidates"]] == list(range(1, len(expected) + 1))
    assert {c["accuracy"] for c in data["candidates"]} <= {"published", "interpolated"}
    assert "log-linear in Mult-Adds" in data["interpolation"]


def test_cli_text_says_how(cli):
    res = cli("pick", "--max-madds", "600M", "--alpha", "1", "--res", "176,224,96")
    assert res.returncode == 0, res.stderr
    assert "published" in res.stdout and "interpolated: log-linear in Mult-Adds, 160-192 px" in res.stdout
    assert "not extrapolated" in res.stdout
    (row,) = [line.split() for line in res.stdout.splitlines() if line.split()[:3] == ["3", "1", "96"]]
    assert row[3] == f"{M(1, 96):,}" and row[5:7] == ["-", "-"]  # no accuracy: "-", ranked last


@pytest.mark.parametrize("args,message", [
    (("--max-madds", "10M"), "nothing fits 10,000,000 Mult-Adds"),
    (("--max-madds", "150MB"), "--max-madds must be a count like 150M"),
    (("--max-madds", "0"), "--max-madds must be a positive whole number"),
    (("--max-madds", "150M", "--max-params", "x"), "--max-params must be a count"),
    (("--max-madds", "150M", "--alpha", "0.25:1:-1"), "must be positive"),
    (("--max-madds", "150M", "--top", "-1"), "--top must be 0"),
    ((), "give a budget: --max-madds"),
])
def test_cli_errors_one_line_exit_2(cli, args, message):
    res = cli("pick", *args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mbcost: error: ") and message in lines[0]
    assert "Traceback" not in res.stderr and res.stdout == ""


def test_cli_help_documents_defaults_and_rule(cli):
    text = " ".join(cli("pick", "--help").stdout.split())
    assert "alpha 0.25 to 1 step 0.05" in text and "resolution 128 to 224 step 16" in text
    assert "log-linear in Mult-Adds" in text and "never extrapolated" in text


# -- pick --ridge RP: the budget on the roofline cost (docs/roofline.md) --------

RIDGE_GRID = [(Fraction(a), r) for a in ("0.25", "0.5", "0.75", "1") for r in (128, 224)]


def test_ridge_budgets_the_roofline_cost_of_each_configuration():
    """At RP 25 (some rows compute-bound, most memory-bound) each configuration's
    roofline cost is the hand-derived Σ max(MACs, 25·bytes) of Table 1's rows, the
    budget applies to it (not to the Mult-Adds), and the ranking is best top-1 first."""
    cost = {(a, r): mobilenet_roofline_oracle(a, r, 25) for a, r in RIDGE_GRID}
    budget = int(cost[(Fraction("0.5"), 224)])  # whole (an integer RP); exactly at one configuration's cost: it fits
    result = pick(budget, alphas="0.25,0.5,0.75,1", resolutions="128,224", ridge=25)
    assert result.ridge == 25 and result.considered == len(RIDGE_GRID)
    assert {(c.alpha, c.resolution): c.roofline_macs for c in result.fits} == {
        k: v for k, v in cost.items() if v <= budget}
    # a configuration whose Mult-Adds fit but whose roofline cost does not is left out
    assert any(M(a, r) <= budget < v for (a, r), v in cost.items())
    assert [c.accuracy.top1 for c in result.fits] == sorted((PUB[(c.alpha, c.resolution)][0] for c in result.fits),
                                                            reverse=True)
    assert all(c.mult_adds == M(c.alpha, c.resolution) for c in result.fits)  # the Mult-Adds are still shown
    # a fractional ridge point stays exact (no float in the budgeted cost)
    (c,) = pick("10G", alphas="0.5", resolutions="160", ridge=Fraction(100, 3)).fits
    assert c.roofline_macs == mobilenet_roofline_oracle("0.5", 160, Fraction(100, 3))


def test_ridge_0_picks_what_mult_adds_pick():
    """At RP 0 the roofline cost is the Mult-Adds: the same configurations, in the same order."""
    plain, roof = pick("150M"), pick("150M", ridge=0)
    assert [(c.alpha, c.resolution, c.accuracy) for c in roof.fits] == [
        (c.alpha, c.resolution, c.accuracy) for c in plain.fits]
    assert all(c.roofline_macs == c.mult_adds for c in roof.fits)


def test_ridge_nothing_fits_names_the_cheapest_roofline_cost():
    cheapest = int(mobilenet_roofline_oracle("0.25", 128, 100))  # whole: an integer RP
    with pytest.raises(MbcostError) as err:
        pick(cheapest - 1, alphas="0.25,0.5", resolutions="128,160", ridge=100)
    assert (f"nothing fits {cheapest - 1:,} MACs of roofline cost at ridge point 100" in str(err.value)
            and f"alpha 0.25 at 128 px at {cheapest:,} MACs of roofline cost" in str(err.value))


def test_cli_ridge_json_and_csv(capsys):
    """The same field names as pick --all --ridge: roofline_macs per configuration, the budget's ridge point."""
    from mbcost.cli import main

    def run(*more):
        assert main(["pick", "--max-madds", "300M", "--ridge", "25", "--alpha", "0.25,0.5", "--res", "128,224",
                     *more]) == 0
        return capsys.readouterr().out

    data = json.loads(run("--format", "json"))
    assert data["budget"] == {"max_mult_adds": 300_000_000, "max_params": None, "max_latency_ms": None,
                              "ridge_point": 25, "budget_is": "roofline_macs"}
    assert {(c["alpha"], c["resolution"]): c["roofline_macs"] for c in data["candidates"]} == {
        (float(a), r): mobilenet_roofline_oracle(a, r, 25) for a in ("0.25", "0.5") for r in (128, 224)
        if mobilenet_roofline_oracle(a, r, 25) <= 300_000_000}
    assert run("--format", "csv").splitlines()[0].split(",")[:6] == [
        "rank", "alpha", "resolution", "mult_adds", "params", "roofline_macs"]
    text = " ".join(run().split())
    assert "MACs of roofline cost at ridge point 25" in text and "Roofline @25" in text


def test_pick_all_carries_mobilenet_v4_published_device_latencies(capsys):
    """pick --all: a MobileNetV4 network at the paper's configuration carries the
    paper's per-device latencies (read here from the CSV with the csv module),
    every other candidate null; the CSV columns and the table only for the shown."""
    import csv

    from mbcost.cli import main
    from mbcost.results.zoo import tables_dir

    def run(*more):
        assert main(["pick", "--all", "--max-madds", "300M", *more]) == 0
        return capsys.readouterr().out

    with open(tables_dir() / "published" / "mobilenet_v4_latency.csv", encoding="utf-8", newline="") as fh:
        paper = {r["device"]: float(r["latency_ms"]) for r in csv.DictReader(fh)
                 if r["model"] == "mobilenet_v4_conv_small"}
    assert len(paper) == 7
    data = json.loads(run("--format", "json", "--top", "0"))
    by_model = {}
    for c in data["candidates"]:
        by_model.setdefault(c["model"], []).append(c["published_latency"])
    assert by_model["mobilenet_v4_conv_small"] == [
        {"ms": paper, "resolution": 224, "source": by_model["mobilenet_v4_conv_small"][0]["source"]}]
    assert "arXiv:2404.10518" in by_model["mobilenet_v4_conv_small"][0]["source"]
    assert all(m is None for model, ms in by_model.items() if model != "mobilenet_v4_conv_small" for m in ms)
    assert {"mobilenet_v1", "mobilenet_v3_large"} <= set(by_model)

    rows = list(csv.DictReader(run("--format", "csv", "--top", "0").splitlines()))
    v4 = next(r for r in rows if r["model"] == "mobilenet_v4_conv_small")
    assert float(v4["latency_ms_pixel_6_cpu_published"]) == paper["Pixel 6 CPU"]
    assert float(v4["latency_ms_samsung_s23_gpu_published"]) == paper["Samsung S23 GPU"]
    assert all(r["latency_ms_pixel_6_cpu_published"] == "" for r in rows if r["model"] != "mobilenet_v4_conv_small")
    assert "Published latency (ms), by device" in run("--format", "markdown")

    # the best one alone (MobileNetV3-Large, ahead on top-1): no device columns, no table
    assert data["candidates"][0]["model"] != "mobilenet_v4_conv_small"
    assert not any(k.endswith("_published") for k in run("--format", "csv", "--top", "1").splitlines()[0].split(","))
    assert "Published latency" not in run("--format", "markdown", "--top", "1")
