"""`mbcost compare`: settings per model, ratios, published figures."""

from __future__ import annotations

import json

import pytest
from conftest import mobilenet_oracle

from mbcost.results.analysis import analyze
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


def test_published_figures_are_graded_by_size():
    """Each published figure beside the computed one in its unit, and a verdict by
    size: SqueezeNet's 1700 (M) against 832.67 M computed is not 'at the printed
    precision' but another convention: 2 × 832,667,936 = 1,665,335,872 FLOPs, 1700 M
    at the two significant digits Table 9 prints."""
    from mbcost.documents.views import compare_document
    from mbcost.results.comparison import judge_published

    doc = compare_document(compare(["mobilenet:alpha=0.5,res=160", "squeezenet", "alexnet"]))
    for table in doc.tables:  # no two columns of a table share a name (once two were both 'Δ M')
        headers = [c.header for c in table.columns]
        assert len(headers) == len(set(headers)), headers
    (published,) = [t for t in doc.tables if t.title == "Published vs computed"]
    cols = [c.header for c in published.columns]
    rows = {r[0]: dict(zip(cols, r)) for r in published.rows}
    squeeze = rows["squeezenet"]
    assert squeeze["Mult-Adds pub."] == "1700 M" and squeeze["Mult-Adds computed"] == "832.67 M"
    assert squeeze["Mult-Adds check"].startswith("convention [")
    note = next(n for n in published.notes if n.startswith(squeeze["Mult-Adds check"][-3:]))
    assert "FLOPs" in note and "1,665.34 M" in note
    assert round((832_667_936 - 1_700_000_000) / 1_700_000_000 * 100, 2) == squeeze["Δ Mult-Adds %"]
    # 76 printed, 76,524,800 computed: not a rounding to nearest, one unit off: 'rounding'
    assert rows["mobilenet_v1 0.5-160"]["Mult-Adds check"].startswith("rounding [")
    assert rows["alexnet"]["Mult-Adds check"] == "ok"  # 724.41 M: '720' to 2 significant digits
    # a 2x gap no convention explains is 'not explained', with its size
    far = judge_published({"_text": {"mult_adds_millions": "1700"}}, 832_667_936, "mult_adds")
    assert far.grade == "not explained" and "-51.0%" in far.words
    # units: every published and computed cell carries its own
    for r in published.rows:
        assert r[2].endswith((" M", " G")) and r[3].endswith(r[2][-2:])


def test_one_resolution_for_a_network_in_compare_and_pick():
    """A network's weights are evaluated at one crop (torchvision's IMAGENET1K_V1:
    288 px for EfficientNet-B2), and compare and pick --family both count it there."""
    from mbcost.results.family import family_points

    (b2,) = compare(["efficientnet"]).entries[2:3]
    (point,) = [p for p in family_points() if p.model == "efficientnet_b2"]
    assert b2.analysis.resolution == point.resolution == 288
    assert b2.analysis.total.mult_adds == point.mult_adds
    assert b2.published is not None and b2.published["top1"] == 80.608 and "288 px" in b2.note
    # a resolution given is kept, and the spec's own (the paper's 260) is one setting away
    (paper_b2,) = compare(["efficientnet_b2:res=260"]).entries
    assert paper_b2.analysis.resolution == 260 and paper_b2.note == ""


def test_plots_of_one_network_and_the_table_follow_the_same_resolution_rule():
    """plot layers/breakdown/scaling of EfficientNet-B2 with no --res draw it at 288 px
    (torchvision's IMAGENET1K_V1 crop, tables/published/torchvision.csv), as compare does,
    and say so under the figure; table keeps the spec's (the paper's) 260 and says where
    the weights are evaluated."""
    pytest.importorskip("matplotlib")
    from mbcost.documents.views import cost_document
    from mbcost.figures.plots import breakdown_figure, layers_figure, scaling_figure

    at_crop = analyze("efficientnet_b2", resolution=288).total.mult_adds
    (b2,) = compare(["efficientnet_b2"]).entries
    assert b2.analysis.total.mult_adds == at_crop
    for draw in (breakdown_figure, layers_figure, scaling_figure):
        fig = draw("efficientnet_b2")
        texts = " ".join([fig.get_suptitle(), fig.get_supxlabel()] + [ax.get_title() for ax in fig.axes])
        assert "288" in texts and "evaluation crop of its published weights" in fig.get_supxlabel(), draw
        assert "260" in fig.get_supxlabel()  # the spec's, named
        given = draw("efficientnet_b2", resolution=260)
        assert "evaluation crop" not in given.get_supxlabel(), draw
    fig = breakdown_figure("efficientnet_b2")
    assert f"{at_crop / 1e6:,.2f} M Mult-Adds" in fig.axes[0].get_title()
    assert "evaluation crop" not in breakdown_figure("efficientnet_b0").get_supxlabel()  # spec 224 = crop 224
    settings = cost_document(analyze("efficientnet_b2")).settings
    assert "the published weights are evaluated at 288 px, not 260 (compare, pick and plot use 288; --res 288 here)" \
        in settings
    assert not any("published weights" in s for s in cost_document(analyze("efficientnet_b2", resolution=288))
                   .settings + cost_document(analyze("efficientnet_b0")).settings)


def test_compare_and_check_take_the_options_sweep_takes(capsys):
    """compare has --rho and --depth-mult (as table); check takes ranges (as sweep, pick)."""
    from fractions import Fraction

    from mbcost.attachments.check import parse_alphas, parse_resolutions
    from mbcost.cli import main

    assert parse_alphas("0.25:1:0.25") == [1, Fraction(3, 4), Fraction(1, 2), Fraction(1, 4)]
    assert parse_resolutions("128:224:32,112") == [224, 192, 160, 128, 112]
    assert main(["compare", "mobilenet", "--rho", "0.5", "-f", "json"]) == 0
    (m,) = json.loads(capsys.readouterr().out)["models"]
    assert m["resolution"] == 112  # 224 · 0.5
    assert main(["compare", "efficientnet_b0", "--depth-mult", "1.1", "-f", "json"]) == 0
    (b0,) = json.loads(capsys.readouterr().out)["models"]
    # B1 is B0 at depth 1.1 and width 1 (tables/presets.csv): at B0's 224 px they are the same network
    assert b0["mult_adds"] == analyze("efficientnet_b1", resolution=224).total.mult_adds


def test_an_exact_published_count_is_equal_or_not():
    from mbcost.results.comparison import judge_published

    pub = {"params_convention": "all", "params_exact": True, "params_millions": 61.10084, "_text": {}}
    assert judge_published(pub, 61_100_840, "params").grade == "ok"
    off = judge_published(pub, 61_100_844, "params")  # a trailing zero is a digit of an exact count
    assert off.grade == "not explained" and off.printed == off.computed.replace("44", "40")


V4_TRIO = ["mobilenet_v4_conv_small", "mobilenet_v4_conv_medium", "mobilenet_v4_hybrid_medium"]


def _latency_csv() -> tuple[dict, list[str]]:
    """tables/published/mobilenet_v4_latency.csv read here with the csv module:
    (model, device) -> latency as printed, and the devices in the file's order."""
    from conftest import published

    rows = published("mobilenet_v4_latency")
    return {(r["model"], r["device"]): r["latency_ms"] for r in rows}, list(dict.fromkeys(r["device"] for r in rows))


def test_compare_shows_the_papers_device_latencies_as_the_csv_has_them():
    """One row per network, one column per device any of them has (the hybrids'
    missing CoreML and Hexagon cells empty, never 0); the JSON and CSV carry the
    same figures; the notes say whose measurements they are."""
    from mbcost.documents.views import compare_document

    printed, devices = _latency_csv()
    doc = compare_document(compare(V4_TRIO))
    (table,) = [t for t in doc.tables if t.title == "Published latency (ms), by device"]
    assert [c.header for c in table.columns] == ["Model"] + devices  # the conv networks have all seven
    assert [r[0] for r in table.rows] == V4_TRIO
    for row, model in zip(table.rows, V4_TRIO):
        assert row[1:] == [printed.get((model, d)) for d in devices]
    hybrid = dict(zip(devices, table.rows[2][1:]))
    assert hybrid["iPhone 13 CoreML"] is None and hybrid["Pixel 4 Hexagon"] is None
    notes = " ".join(table.notes)
    assert "not predicted or measured by mbcost" in notes and "arXiv:2404.10518), the ImageNet-1K classification table (Tab. 6" in notes
    from conftest import published  # the source line stands for every row's source

    assert all("arXiv:2404.10518" in r["source"] and "Tab. 6" in r["source"] for r in published("mobilenet_v4_latency"))
    for model in doc.data["models"]:
        want = {d: float(v) for (m, d), v in printed.items() if m == model["model"]}
        assert model["published_latency"]["ms"] == want
    for record in doc.tables[0].records():  # the CSV's rows
        for d in devices:
            key = "latency_ms_" + d.lower().replace(" ", "_") + "_published"
            value = printed.get((record["model"], d))
            assert record[key] == (float(value) if value is not None else None)


def test_a_network_without_published_latencies_adds_no_latency_table():
    """MobileNet v1 and a MobileNetV4 at another resolution than the paper measured:
    no table, no CSV column, null in the JSON."""
    from mbcost.documents.views import compare_document

    doc = compare_document(compare(["mobilenet", "mobilenet_v4_conv_small:res=160"]))
    assert not [t for t in doc.tables if "latency" in t.title.lower()]
    assert not [k for k in doc.tables[0].records()[0] if k.startswith("latency_ms")]
    assert [m["published_latency"] for m in doc.data["models"]] == [None, None]


def test_device_latencies_fit_80_columns_one_line_per_network():
    """At 80 columns no line is longer, each network's row is one line with its
    figures in the shown devices' order, and every device not shown is named in
    the 'left out' line."""
    from mbcost.documents.render import terminal_text
    from mbcost.documents.views import compare_document

    printed, devices = _latency_csv()
    text = terminal_text(compare_document(compare(V4_TRIO)), 80)
    assert max(len(line) for line in text.splitlines()) <= 80
    part = text[text.index("Published latency (ms), by device"):text.index("By layer type")]
    flat = " ".join(part.split())
    left = flat.split("left out to fit 80 columns:")[1].split("(")[0] if "left out" in flat else ""
    shown = [d for d in devices if d not in left]
    assert len(shown) >= 4 and all(d in left for d in devices if d not in shown)
    for model in V4_TRIO:
        (line,) = [line for line in part.splitlines() if line.startswith(f"│ {model} ")]
        cells = [c.strip() for c in line.strip("│").split("│")]
        assert cells == [model] + [printed.get((model, d), "") for d in shown]
