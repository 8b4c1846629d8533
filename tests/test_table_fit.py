"""Tables fit a terminal by design (issue 23): at 80 and 120 columns no line is
wider than the terminal, every row of a per-layer table is one line (a formula
longer than a third of the terminal folds between its terms only), and the
column an option exists for stays while the least important go first. Rendered
in-process as a terminal of that width shows it (rich, no colours)."""

from __future__ import annotations

import ast
import math
import re

import pytest

import mbcost
from mbcost.attachments import attach_memory, attach_roofline
from mbcost.attachments.check import CounterCheck
from mbcost.attachments.latency import predict_latency
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
    from toy_calibration import toy

    return predict_latency(a, toy())


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
    wraps a row), at 80 columns as at 120 (the hybrid MobileNetV4s' attention rows
    write their formulas in named factors, 36 characters beside 34-character names,
    where in numbers they took 58 and 61)."""
    for name in zoo.model_names():
        a = mbcost.analyze(name)
        for doc, key in ((cost_document(a), "Mult-Adds"), (cost_document(a, unit="flops", formula=True), "Formula")):
            table = doc.tables[0]
            keep, widths = layout(table, width)
            assert sum(widths.values()) + 3 * len(keep) + 1 <= width, (name, key)
            assert key in [table.columns[i].header.split()[0] for i in keep], (name, key)
            for i in keep:
                longest = max(len(render.cell(row[i])) for row in table.rows + [table.footer])
                assert widths[i] >= longest, (name, table.columns[i].header, width)


def test_formulas_with_formula_are_one_line_a_row_at_120_columns():
    """``table --formula`` of every zoo network on a 120-column terminal: one line a row."""
    for name in zoo.model_names():
        assert_fits(cost_document(mbcost.analyze(name), formula=True), 120, "Formula")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["mobilenet_v4_hybrid_medium", "mobilenet_v4_hybrid_large"])
def test_attention_rows_are_one_line_with_their_named_factors_defined_below(name, width):
    """``table --formula`` of the hybrid MobileNetV4s, rendered: one line a row at 80
    columns too, and the note under the table gives every named factor of every
    attention row a value, with which the row's formula, as shown, multiplies out
    to its Mult-Adds (the CSV/JSON keep the formula in numbers)."""
    a = mbcost.analyze(name)
    doc = cost_document(a, formula=True)
    assert_fits(doc, width, "Formula")
    text = re.sub(r"\s+", " ", on_terminal(doc, width))
    cells = {r.name: row[-1] for r, row in zip(a.layers, doc.tables[0].rows)}
    values = {}
    for found in re.finditer(r"((?:\w+ = [\d,]+(?: \([\d·]+\))?, )*\w+ = [\d,]+(?: \([\d·]+\))?): ([\w., ]+?)(?= L =| left out| By layer|$)",
                             text):
        symbols = {s: int(v.replace(",", "")) for s, v in re.findall(r"(\w+) = ([\d,]+)", found[1])}
        values.update({row: symbols for row in found[2].split(", ")})
    attention = [r for r in a.layers if r.kind == "mqa"]
    assert attention and sorted(values) == sorted(r.name for r in attention), text[-1500:]
    for r in attention:
        assert re.search(r"[A-Z]", cells[r.name]) and named_value(cells[r.name], values[r.name]) == r.mult_adds
        assert r.formula in doc.tables[0].records()[a.layers.index(r)]["formula"]  # in numbers for machines


def named_value(formula: str, values: dict[str, int]) -> int:
    """A formula's arithmetic, done here: sums and products of integers and named
    factors (``2·P·M·(3·3 + dk)``), each name given its value."""
    def value(node) -> int:
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
            left, right = value(node.left), value(node.right)
            return left + right if isinstance(node.op, ast.Add) else left * right
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.Name):
            return values[node.id]
        raise AssertionError(f"not a sum of products: {ast.dump(node)}")

    return value(ast.parse(formula.replace("·", "*"), mode="eval").body)


@pytest.mark.parametrize("count", ["conv,fc", "conv,fc,bn", "conv"])
def test_every_formula_evaluates_to_its_rows_mult_adds(count):
    """A formula is a sum of products: its arithmetic, done here, is the row's Mult-Adds
    (the attention rows write equal products once, with their count in front)."""
    names = zoo.model_names() if count == "conv,fc" else ["mobilenet_v4_hybrid_medium", "mobilenet_v4_hybrid_large"]
    for name in names:
        for r in mbcost.analyze(name, count=tuple(count.split(","))).layers:
            terms = r.formula.split(" + ") if r.formula else []
            assert sum(math.prod(int(f) for f in t.split("·")) for t in terms) == r.mult_adds, (name, r.name, r.formula)
            if r.named_formula is not None:  # the same in named factors, with their values
                symbols = {s: v for s, v, _, _ in r.named_formula.symbols}
                assert named_value(r.named_formula.text, symbols) == r.mult_adds, (name, r.name, r.named_formula)


def test_attention_formula_groups_equal_products():
    # mqa_res1 of the hybrid medium (hand): L = 16·16 = 256 positions, M = N = 160, 4 heads of 64,
    # keys and values at 8·8 = 64 positions, 3x3 downsampling convs
    row = next(r for r in mbcost.analyze("mobilenet_v4_hybrid_medium").layers if r.name == "mqa_res1.mqa1")
    assert row.formula == "2·256·160·256 + 2·64·160·64 + 2·3·3·160·64 + 2·4·256·64·64"
    assert row.mult_adds == 2 * 256 * 160 * 256 + 2 * 64 * 160 * 64 + 2 * 9 * 160 * 64 + 2 * 4 * 256 * 64 * 64


LONG_ATTENTION = """\
model long_attention
input 32x32x48
a_rather_long_attention_layer_label: mhsa 48x40 heads=2 key=8 value=12 kv_stride=2
"""


def test_long_formulas_fold_between_their_terms_only(tmp_path):
    """A formula longer than a third of the terminal, beside a long name, folds between
    its terms: an MHSA whose keys and values differ in width, M -> N, with its batch
    norms counted (six terms in named factors, 65 characters, beside 35)."""
    width = 80
    spec = tmp_path / "long.spec"
    spec.write_text(LONG_ATTENTION)
    a = mbcost.analyze(str(spec), count=("conv", "fc", "bn"))
    (row,) = a.layers
    assert row.named_formula.text == "L·M·C + L·V·N + P·M·(3·3+1+C) + P·M·(3·3+1+V) + L·P·C + L·P·V"
    text = on_terminal(cost_document(a, unit="flops", formula=True), width)
    _, body = per_layer_lines(text)
    assert len(body) > len(a.layers) + 1 and max(map(len, text.splitlines())) <= width
    pieces = [line.split("│")[-2].strip() for line in body[:-1]]
    assert " ".join(pieces) == row.named_formula.text
    terms = row.named_formula.text.split(" + ")
    for piece in pieces:  # whole terms on each line
        assert all(t in terms for t in piece.strip(" +").split(" + ")), piece


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
