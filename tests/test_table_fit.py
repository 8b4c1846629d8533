"""Tables fit a terminal by design (issue 23): at 80 and 120 columns no line is
wider than the terminal, every row of a per-layer table is one line (a formula
longer than a third of the terminal folds between its terms only), and the
column an option exists for stays while the least important go first. Rendered
in-process as a terminal of that width shows it (rich, no colours)."""

from __future__ import annotations

import math
import re

import pytest

import mbcost
from mbcost.attachments import attach_memory, attach_roofline
from mbcost.attachments.check import CounterCheck
from mbcost.attachments.latency import Calibration, KindModel, predict_latency
from mbcost.documents import render
from mbcost.documents.views import cost_document
from mbcost.results import zoo

WIDTHS = (80, 120)


def on_terminal(doc, width: int) -> str:
    return render.terminal_text(doc, width)


def per_layer_lines(text: str) -> tuple[str, list[str]]:
    """The per-layer table's header line and its body lines (rows, then the total)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("┏"))
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith("└"))
    head = "\n".join(lines[start:next(i for i in range(start, end) if lines[i].startswith("┡"))])
    return head, [line for line in lines[start:end] if line.startswith("│")]


def assert_fits(doc, width: int, key: str, folding: int = 0) -> None:
    text = on_terminal(doc, width)
    assert max(len(line) for line in text.splitlines()) <= width, text
    head, body = per_layer_lines(text)
    table = doc.tables[0]
    assert len(body) == len(table.rows) + 1 + folding, (width, key, text[:3000])  # one line a row, and the total
    assert all(word in head for word in key.split()), (width, key, head)  # a header may fold between words


def _fake_check(a) -> CounterCheck:
    return CounterCheck("fvcore", {r.name: r.mult_adds for r in a.layers}, ())


def _fake_latency(a):
    models = {k: KindModel("linear", (1e-5, 1e-10, 1e-11, 1e-11), 10, 3, 0.05, 0.1, 0.2) for k in ("pw", "other")}
    return predict_latency(a, Calibration("test CPU", "torch", 1, {}, models, source="machine.json"))


def layout(table, width: int) -> tuple[list[int], dict[int, int]]:
    """The columns kept and their widths at ``width`` (every column at its natural width when it fits)."""
    keep, _ = render._fitted(table, width)
    cells = [[render.cell(v) for v in row] for row in table.rows + [table.footer]]
    widths = render._widths(table, cells, keep, width)
    natural = {i: max([len(table.columns[i].header)] + [len(r[i]) for r in cells]) for i in keep}
    return keep, {i: widths.get(i, natural[i]) for i in keep}


@pytest.mark.parametrize("width", WIDTHS)
def test_every_zoo_table_is_laid_out_one_line_a_row(width):
    """The layout of every zoo network's table, with and without formulas: within
    the terminal, and every kept column as wide as its longest cell (so rich never
    wraps a row). At 120 columns with no exception (the attention rows' formulas
    stay on one line, columns of lower priority left out); at 80, the hybrid
    MobileNetV4s' attention formulas (58 and 61 characters, beside 33-character
    names) fold between their terms."""
    for name in zoo.model_names():
        a = mbcost.analyze(name)
        for doc, key in ((cost_document(a), "Mult-Adds"), (cost_document(a, unit="flops", formula=True), "Formula")):
            table = doc.tables[0]
            keep, widths = layout(table, width)
            assert sum(widths.values()) + 3 * len(keep) + 1 <= width, (name, key)
            assert key in [table.columns[i].header.split()[0] for i in keep], (name, key)
            for i in keep:
                longest = max(len(render.cell(row[i])) for row in table.rows + [table.footer])
                folds = (width < 120 and key == "Formula" and table.columns[i].header.startswith("Formula")
                         and longest > width // 3)
                assert widths[i] >= longest or folds, (name, table.columns[i].header, width)


def test_formulas_with_formula_are_one_line_a_row_at_120_columns():
    """``table --formula`` of every zoo network on a 120-column terminal: one line a row."""
    for name in zoo.model_names():
        assert_fits(cost_document(mbcost.analyze(name), formula=True), 120, "Formula")


@pytest.mark.parametrize("count", ["conv,fc", "conv,fc,bn", "conv"])
def test_every_formula_evaluates_to_its_rows_mult_adds(count):
    """A formula is a sum of products: its arithmetic, done here, is the row's Mult-Adds
    (the attention rows write equal products once, with their count in front)."""
    names = zoo.model_names() if count == "conv,fc" else ["mobilenet_v4_hybrid_medium", "mobilenet_v4_hybrid_large"]
    for name in names:
        for r in mbcost.analyze(name, count=tuple(count.split(","))).layers:
            terms = r.formula.split(" + ") if r.formula else []
            assert sum(math.prod(int(f) for f in t.split("·")) for t in terms) == r.mult_adds, (name, r.name, r.formula)


def test_attention_formula_groups_equal_products():
    # mqa_res1 of the hybrid medium (hand): L = 16·16 = 256 positions, M = N = 160, 4 heads of 64,
    # keys and values at 8·8 = 64 positions, 3x3 downsampling convs
    row = next(r for r in mbcost.analyze("mobilenet_v4_hybrid_medium").layers if r.name == "mqa_res1.mqa1")
    assert row.formula == "2·256·160·256 + 2·64·160·64 + 2·3·3·160·64 + 2·4·256·64·64"
    assert row.mult_adds == 2 * 256 * 160 * 256 + 2 * 64 * 160 * 64 + 2 * 9 * 160 * 64 + 2 * 4 * 256 * 64 * 64


def test_long_formulas_fold_between_their_terms_only():
    width = 80
    a = mbcost.analyze("mobilenet_v4_hybrid_large")
    long_formulas = [r for r in a.layers if len(r.formula) > width // 3]
    assert long_formulas  # the attention rows' 61-character formulas
    text = on_terminal(cost_document(a, unit="flops", formula=True), width)
    _, body = per_layer_lines(text)
    assert len(body) > len(a.layers) + 1 and max(map(len, text.splitlines())) <= width
    flat = re.sub(r"\s+", " ", " ".join(line.split("│")[-2].strip() for line in body))
    for r in long_formulas:
        assert r.formula in flat


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["efficientnet_b0", "mobilenet_v4_hybrid_large", "shufflenet_v2_x1_0"])
def test_each_option_keeps_its_column(name, width):
    a = mbcost.analyze(name)
    for key, attached in (("Alive kB", {"memory": attach_memory(a)}), ("fvcore", {"check": _fake_check(a)}),
                          ("Pred. ms", {"latency": _fake_latency(a)}),
                          ("Bound", {"roofline": attach_roofline(a, 100)})):
        assert_fits(cost_document(a, unit="flops" if key == "fvcore" else "mult-adds", **attached), width, key)
    by_type = on_terminal(cost_document(a, by_type_only=True), width)
    assert max(map(len, by_type.splitlines())) <= width and "left out" not in by_type


def test_the_least_important_columns_go_first():
    doc = cost_document(mbcost.analyze("efficientnet_b0"), memory=attach_memory(mbcost.analyze("efficientnet_b0")))
    wide, narrow = on_terminal(doc, 400), on_terminal(doc, 80)
    assert "left out" not in wide and "Input Size" in wide
    head, _ = per_layer_lines(narrow)
    assert all(h in head for h in ("Layer", "Alive kB", "Mult-Adds"))
    left = re.search(r"left out to fit 80 columns: ([^(]*)", re.sub(r"\s+", " ", narrow)).group(1)
    assert left.startswith("Input Size, Output Size, Filter Shape")


def test_a_module_path_is_shortened_in_the_middle_on_a_terminal_only():
    # 20 characters: half of the 19 left by the ellipsis from the start (an index stays), the rest from the end
    assert render.middle_shortened("features.stage3.unit2.conv1.conv", 20) == "features.s…onv1.conv"
    assert render.middle_shortened("_blocks.10._depthwise_conv", 20) == "_blocks.10…wise_conv"
    assert render.middle_shortened("    _blocks.10._depthwise_conv", 20).startswith("    _blo")
    assert render.middle_shortened("fc", 20) == "fc"
