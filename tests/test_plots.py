"""`mbcost plot`: the figures' content, their files, their determinism, the errors."""

from __future__ import annotations

import itertools
import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction

import pytest

pytest.importorskip("matplotlib")

import mbcost  # noqa: E402
from mbcost.figures import plots  # noqa: E402
from mbcost.errors import MbcostError  # noqa: E402
from mbcost.results.published import load_published  # noqa: E402
from mbcost.results.zoo import model_names  # noqa: E402


@pytest.fixture(scope="module")
def tradeoff():
    return plots.tradeoff_figure()


@pytest.fixture(scope="module")
def figures(tradeoff):
    return {"tradeoff": tradeoff, "scaling": plots.scaling_figure(), "breakdown": plots.breakdown_figure(),
            "layers": plots.layers_figure()}


def _line(ax, gid):
    (line,) = [ln for ln in ax.lines if ln.get_gid() == gid]
    return line


# -- Pareto frontier ---------------------------------------------------------------------

def test_pareto_frontier_hand_made():
    points = [
        (10, 50, "a"),
        (20, 60, "b"),
        (15, 45, "c"),  # a is cheaper and better
        (20, 55, "d"),  # b: same cost, better
        (30, 60, "e"),  # b: same accuracy, cheaper
        (5, 40, "f"),  # cheapest
        (40, 70, "g"),  # best
        (40, 70, "g2"),  # equal to g: neither dominates
        (50, 69, "h"),  # g is cheaper and better
    ]
    front = plots.pareto_frontier(points)
    assert [p[2] for p in front] == ["f", "a", "b", "g", "g2"]
    assert plots.pareto_frontier([]) == []
    assert plots.pareto_frontier([(1, 1)]) == [(1, 1)]
    # cost first, accuracy second, through a key
    assert plots.pareto_frontier([{"c": 2, "a": 9}, {"c": 1, "a": 1}, {"c": 3, "a": 5}],
                                 key=lambda d: (d["c"], d["a"])) == [{"c": 1, "a": 1}, {"c": 2, "a": 9}]


def test_pareto_frontier_properties():
    grid = [(c, a) for c, a in itertools.product(range(1, 6), range(1, 6)) if (c * 7 + a * 3) % 4]
    front = plots.pareto_frontier(grid)
    costs = [c for c, _ in front]
    assert costs == sorted(costs)
    accs = [a for _, a in front]
    assert accs == sorted(accs)  # along the frontier, more cost buys more accuracy
    for c, a in grid:
        if (c, a) not in front:
            assert any(c2 <= c and a2 >= a for c2, a2 in front)


# -- tradeoff ------------------------------------------------------------------------------

def test_tradeoff_axes_and_conventions(tradeoff):
    madds, params = tradeoff.axes
    assert madds.get_xscale() == "log" and params.get_xscale() == "log"
    assert madds.get_xlabel() == "Mult-Adds (millions, log scale)"
    assert params.get_xlabel() == "Parameters (millions, log scale)"
    assert madds.get_ylabel() == params.get_ylabel() == "ImageNet top-1 accuracy (%)"
    assert "Figure 4" in madds.get_title() and "Figure 5" in params.get_title()
    assert tradeoff.get_suptitle()
    texts = " ".join(t.get_text() for t in tradeoff.texts)
    assert "Mult-Adds: conv + fc (paper convention)" in texts
    assert "params: weights only" in texts
    (legend,) = tradeoff.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert any("Pareto frontier" in s for s in labels) and any("α = 0.5" in s for s in labels)


def test_tradeoff_points_are_computed_costs_and_published_accuracy(tradeoff):
    madds, params = tradeoff.axes
    for row in load_published("checkpoints"):
        alpha = Fraction(str(row["alpha"]))
        line_m = _line(madds, f"madds-alpha-{plots.alpha_text(alpha)}")
        line_p = _line(params, f"params-alpha-{plots.alpha_text(alpha)}")
        a = mbcost.analyze("mobilenet_v1", alpha=alpha, resolution=row["resolution"])
        pairs = list(zip(line_m.get_xdata(), line_m.get_ydata()))
        assert (pytest.approx(a.total.mult_adds / 1e6), row["top1"]) in pairs
        assert (pytest.approx(a.total.params / 1e6), row["top1"]) in list(zip(line_p.get_xdata(),
                                                                              line_p.get_ydata()))
    # computed, not published: 0.75-224 is 325.4 M computed, 317 M published
    xs = list(_line(madds, "madds-alpha-0.75").get_xdata())
    assert any(abs(x - 325.4) < 0.01 for x in xs) and not any(abs(x - 317) < 0.5 for x in xs)
    labels = {t.get_text() for t in madds.texts}
    assert {"1.0-224", "0.5-160", "0.25-128", "0.75-192"} <= labels
    assert len([t for t in madds.texts if "-label-mobilenet_v1-" in (t.get_gid() or "")]) == 16


def test_tradeoff_reference_models_present_in_zoo_only(tradeoff):
    data = plots.tradeoff_data()
    zoo = set(model_names())
    published = {r["model"] for r in load_published("imagenet_models")}
    expected = [m for m in plots.REFERENCE_MODELS if m in zoo and m in published]
    assert [p.model for p in data.references] == expected
    assert all(any(m in s for s in data.skipped) for m in plots.REFERENCE_MODELS if m not in expected)
    for p in data.references:
        a = mbcost.analyze(p.model)
        assert (p.mult_adds, p.params) == (a.total.mult_adds, a.total.params)
    if expected:
        line = _line(tradeoff.axes[0], "madds-references")
        assert list(line.get_ydata()) == [p.top1 for p in data.references]


def test_tradeoff_frontier_line_matches_the_data(tradeoff):
    data = plots.tradeoff_data()
    for ax, what in zip(tradeoff.axes, ("madds", "params")):
        front = plots.pareto_frontier(data.checkpoints, key=lambda p: (p.cost(what), p.top1))
        line = _line(ax, f"{what}-pareto")
        assert list(line.get_ydata()) == [p.top1 for p in front]
        assert list(line.get_xdata()) == pytest.approx([p.cost(what) / 1e6 for p in front])
    # against parameters, alpha sets the cost: the best resolution of each width is on it
    assert [p.label for p in data.frontier("params")] == ["0.25-224", "0.5-224", "0.75-224", "1.0-224"]
    labels = [p.label for p in data.frontier("madds")]
    assert "1.0-224" in labels and "0.25-128" in labels and "1.0-128" not in labels


def _label_boxes(fig):
    from matplotlib.text import Text

    fig.canvas.draw()
    out = []
    for ax in fig.axes:
        boxes = [Text.get_window_extent(t) for t in ax.texts if "-label-" in (t.get_gid() or "")]
        out.append((ax, boxes))
    return out


@pytest.mark.parametrize("against", ["both", "madds", "params"])
def test_tradeoff_labels_do_not_overlap(against, tradeoff):
    fig = tradeoff if against == "both" else plots.tradeoff_figure(against)
    for ax, boxes in _label_boxes(fig):
        area = ax.get_window_extent()
        assert len(boxes) >= 16
        for a, b in itertools.combinations(boxes, 2):
            assert not a.overlaps(b), (a, b)
        for box in boxes:
            assert area.x0 <= box.x0 and box.x1 <= area.x1 and area.y0 <= box.y0 and box.y1 <= area.y1
        centres = [ax.transData.transform(xy) for ln in ax.lines if ln.get_marker() not in ("None", None, "")
                   for xy in zip(ln.get_xdata(), ln.get_ydata())]
        for box in boxes:
            assert not any(box.contains(x, y) for x, y in centres)


def test_place_labels_avoids_crowded_points():
    """A tight cluster still gets labels that do not overlap."""
    fig = plots.new_figure(4, 3)
    ax = fig.add_axes((0.1, 0.1, 0.85, 0.85))
    pts = [(1.0 + 0.02 * i, 1.0 + 0.02 * (i % 3)) for i in range(8)]
    ax.plot(*zip(*pts), "o", ms=5)
    ax.set_xlim(0, 2)
    ax.set_ylim(0, 2)
    anns = plots.place_labels(ax, [(x, y, f"point {i}", f"t-label-{i}") for i, (x, y) in enumerate(pts)],
                              markers=pts, marker_radius=2.5)
    assert len(anns) == 8
    (_, boxes), = _label_boxes(fig)
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)


def test_tradeoff_one_panel():
    fig = plots.tradeoff_figure("params")
    (ax,) = fig.axes
    assert ax.get_xlabel() == "Parameters (millions, log scale)" and ax.get_xscale() == "log"
    with pytest.raises(MbcostError, match="unknown --against 'flops'"):
        plots.tradeoff_figure("flops")


# -- scaling, breakdown, layers -----------------------------------------------------------

def test_scaling_figure_with_ideal_curves(figures):
    fig = figures["scaling"]
    assert len(fig.axes) == 4
    (ma_alpha, ma_res), (p_alpha, p_res) = [fig.axes[:2], fig.axes[2:]]
    assert ma_alpha.get_xlabel() == "width multiplier α" and ma_alpha.get_ylabel() == "Mult-Adds (millions)"
    assert p_res.get_ylabel() == "Parameters (millions)" and "input resolution" in ma_res.get_xlabel()
    full = mbcost.analyze("mobilenet_v1")
    ideal = _line(ma_alpha, "scaling-mult_adds-alpha-ideal")
    curve = dict(zip(ideal.get_xdata(), ideal.get_ydata()))
    assert curve[0.5] == pytest.approx(full.total.mult_adds / 1e6 / 4)
    assert curve[1.0] == pytest.approx(full.total.mult_adds / 1e6)
    computed = dict(zip(*(_line(ma_alpha, "scaling-mult_adds-alpha").get_data())))
    assert computed[0.5] == pytest.approx(mbcost.analyze("mobilenet_v1", alpha=0.5).total.mult_adds / 1e6)
    rho = dict(zip(*(_line(ma_res, "scaling-mult_adds-res-ideal").get_data())))
    assert rho[112] == pytest.approx(full.total.mult_adds / 1e6 / 4)
    computed = dict(zip(*(_line(ma_res, "scaling-mult_adds-res").get_data())))
    assert computed[160] == pytest.approx(mbcost.analyze("mobilenet_v1", resolution=160).total.mult_adds / 1e6)
    p_alpha_ideal = dict(zip(*(_line(p_alpha, "scaling-params-alpha-ideal").get_data())))
    assert p_alpha_ideal[0.5] == pytest.approx(full.total.params / 1e6 / 4)
    assert list(_line(p_res, "scaling-params-res-ideal").get_ydata()) == pytest.approx(
        [full.total.params / 1e6] * len(_line(p_res, "scaling-params-res-ideal").get_ydata()))
    assert "Mult-Adds counted for: conv, fc (paper convention)" in fig.get_supxlabel()


def test_scaling_skips_resolutions_a_spec_cannot_take():
    fig = plots.scaling_figure("alexnet")  # its maps vanish below ~100 pixels
    xs = _line(fig.axes[1], "scaling-mult_adds-res").get_xdata()
    assert max(xs) == 227 and min(xs) > 57


@pytest.mark.parametrize("model", ["mobilenet_v1", "vgg16"])
def test_breakdown_figure(model, figures):
    fig = figures["breakdown"] if model == "mobilenet_v1" else plots.breakdown_figure(model)
    (ax,) = fig.axes
    shares = mbcost.analyze(model).by_type()
    assert ax.get_xlabel() == "share of the network's total (%)"
    assert [t.get_text() for t in ax.get_yticklabels()] == [s.type for s in shares]
    ma = [b for b in ax.patches if b.get_gid() == "breakdown-mult-adds"]
    pa = [b for b in ax.patches if b.get_gid() == "breakdown-params"]
    assert [b.get_width() for b in ma] == pytest.approx([s.mult_adds_pct for s in shares])
    assert [b.get_width() for b in pa] == pytest.approx([s.params_pct for s in shares])
    assert sum(b.get_width() for b in ma) == pytest.approx(100)
    has_table2 = any(ln.get_gid() == "breakdown-table2" for ln in ax.lines)
    assert has_table2 == (model == "mobilenet_v1")
    assert "paper convention" in fig.get_supxlabel()


def test_layers_figure(figures):
    fig = figures["layers"]
    top, bottom = fig.axes
    a = mbcost.analyze("mobilenet_v1")
    assert top.get_ylabel() == "Mult-Adds (millions)" and bottom.get_ylabel() == "Parameters (millions)"
    assert [t.get_text() for t in bottom.get_xticklabels()] == [r.name for r in a.layers]
    bars = [b for b in top.patches if b.get_gid() == "layers-mult-adds"]
    assert [b.get_height() for b in bars] == pytest.approx([r.mult_adds / 1e6 for r in a.layers])
    bars = [b for b in bottom.patches if b.get_gid() == "layers-params"]
    assert [b.get_height() for b in bars] == pytest.approx([r.params / 1e6 for r in a.layers])


def test_layers_figure_any_model_and_settings():
    fig = plots.layers_figure("vgg16", alpha=0.5, resolution=160)
    a = mbcost.analyze("vgg16", alpha=0.5, resolution=160)
    bars = [b for b in fig.axes[0].patches if b.get_gid() == "layers-mult-adds"]
    assert sum(b.get_height() for b in bars) == pytest.approx(a.total.mult_adds / 1e6)
    assert "160×160" in fig.get_suptitle()


# -- files and determinism -------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(plots.KINDS))
def test_files_open_as_images(kind, figures, tmp_path):
    import matplotlib.image

    from mbcost.documents.output import write_atomic

    fig = figures[kind]
    for fmt in ("png", "svg", "pdf"):
        write_atomic(tmp_path / f"{kind}.{fmt}", plots.render(fig, fmt))
    image = matplotlib.image.imread(tmp_path / f"{kind}.png")
    w, h = fig.get_size_inches() * plots.DPI
    assert image.shape[:2] == (round(h), round(w)) and image.shape[2] in (3, 4)
    root = ET.parse(tmp_path / f"{kind}.svg").getroot()
    assert root.tag.endswith("svg")
    assert (tmp_path / f"{kind}.pdf").read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{kind}.{f}" for f in ("pdf", "png", "svg"))


@pytest.mark.parametrize("kind", list(plots.KINDS))
def test_render_is_deterministic(kind, figures):
    """A figure built again renders to the same bytes (SVG: every kind; PNG and
    PDF: the cheapest kind, the same code path), also after other formats."""
    rebuilt = plots.figure(kind)
    formats = ("svg", "png", "pdf") if kind == "breakdown" else ("svg",)
    for fmt in formats:
        first = plots.render(figures[kind], fmt)
        assert plots.render(rebuilt, fmt) == first
    if kind == "breakdown":
        assert b"CreationDate" not in plots.render(rebuilt, "pdf")
        assert b"<dc:date>" not in plots.render(rebuilt, "svg")


def test_user_style_changes_nothing(figures):
    import matplotlib

    default = plots.render(plots.breakdown_figure(), "svg")
    with matplotlib.rc_context({"lines.linewidth": 7, "font.size": 20, "axes.facecolor": "black",
                                "svg.hashsalt": None, "figure.dpi": 300}):
        assert plots.render(plots.breakdown_figure(), "svg") == default


def test_cli_plot_twice_gives_identical_bytes(cli, tmp_path):
    outs = []
    for i, seed in enumerate(("1", "2")):
        path = tmp_path / f"t{i}.svg"
        res = cli("plot", "tradeoff", "--out", str(path), env={"PYTHONHASHSEED": seed})
        assert res.returncode == 0, res.stderr
        assert res.stdout == f"wrote {path}\n"
        outs.append(path.read_bytes())
    assert outs[0] == outs[1]
    ET.fromstring(outs[0])


@pytest.mark.parametrize("ext", ["png", "pdf"])
def test_cli_plot_formats_from_extension(cli, tmp_path, ext):
    path = tmp_path / f"b.{ext}"
    res = cli("plot", "breakdown", "vgg16", "--out", str(path))
    assert res.returncode == 0, res.stderr
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG" if ext == "png" else b"%PDF")


def test_cli_plot_default_output_name(cli, tmp_path):
    res = cli("plot", "layers", "--alpha", "0.5", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "layers.png").read_bytes().startswith(b"\x89PNG")


# -- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (("plot", "pie", "--out", "x.svg"),
     "mbcost: error: unknown plot kind 'pie': choose from tradeoff, scaling, breakdown, layers"),
    (("plot", "tradeoff", "--out", "x.jpg"),
     "mbcost: error: unsupported file extension '.jpg' for x.jpg: use .png, .svg, .pdf"),
    (("plot", "scaling", "--out", "noext"), "mbcost: error: noext has no file extension: a figure's file name ends"),
    (("plot", "layers", "--out", "."), "mbcost: error: cannot write .: it is a folder; a figure is one file"),
    (("plot", "tradeoff", "vgg16", "--out", "x.svg"), "mbcost: error: plot tradeoff takes no MODEL"),
    (("plot", "tradeoff", "--against", "flops", "--out", "x.svg"), "mbcost: error: unknown --against 'flops'"),
    (("plot", "layers", "--against", "params", "--out", "x.svg"), "mbcost: error: --against applies to plot"),
    (("plot", "layers", "nosuchnet", "--out", "x.svg"), "mbcost: error: unknown model 'nosuchnet'"),
    (("plot", "layers", "--out", "missing/x.svg"), "mbcost: error: cannot write missing/x.svg: folder missing"),
])
def test_cli_plot_errors_are_one_line_exit_2(cli, tmp_path, args, message):
    res = cli(*args, cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.startswith(message) and res.stderr.count("\n") == 1, res.stderr
    assert res.stdout == "" and list(tmp_path.iterdir()) == []


def test_output_format():
    assert plots.output_format("a/b.SVG") == "svg" and plots.output_format("x.pdf") == "pdf"
    with pytest.raises(MbcostError, match="unsupported file extension '.eps'"):
        plots.output_format("fig.eps")


# -- imports ----------------------------------------------------------------------------------

def test_plot_modules_import_matplotlib_lazily():
    code = ("import sys, mbcost.figures.plots, mbcost.figures.report, mbcost.cli; "
            "print(' '.join(m for m in ('matplotlib', 'numpy', 'torch', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_missing_matplotlib_is_a_one_line_error(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from mbcost.cli import main\n"
            f"sys.exit(main(['plot', 'tradeoff', '--out', {str(tmp_path / 'x.svg')!r}]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr == "mbcost: error: mbcost plot needs matplotlib (not installed): pip install 'mbcost[plot]'\n"


def test_scaling_figure_states_the_specs_rounding_and_its_own_markers():
    """EfficientNet-B0 rounds channels under alpha to multiples of 8 (its spec's
    'width' rule), not int(alpha·c): the figure says so, and its markers are not
    labelled as the MobileNet paper's widths."""
    from matplotlib.text import Text

    fig = plots.figure("scaling", "efficientnet_b0")
    texts = " ".join(t.get_text() for t in fig.findobj(Text))
    assert "nearest multiple of 8" in texts and "int(α·c)" not in texts
    labels = [line.get_label() for ax in fig.axes for line in ax.get_lines()]
    assert "α = 0.25, 0.5, 0.75, 1" in labels and not any("paper" in label for label in labels)


def test_a_layer_type_has_one_colour_in_every_figure():
    """The layers figure of two networks colours each shared type alike (once the
    colour followed the type's rank in each network's breakdown)."""
    from matplotlib.colors import to_hex

    def legend_colours(model):
        fig = plots.figure("layers", model)
        return {h.get_label(): to_hex(h.get_facecolor()) for leg in fig.legends for h in leg.legend_handles}

    mobile, google = legend_colours("mobilenet_v1"), legend_colours("googlenet")
    shared = set(mobile) & set(google)
    assert {"Conv 1×1", "Conv 3×3", "Fully Connected"} <= shared
    assert all(mobile[t] == google[t] for t in shared)
    assert len(set(mobile.values())) == len(mobile)  # and distinct within a figure
