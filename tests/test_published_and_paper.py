"""Published tables: the loader's validation; `mbcost paper`: published vs computed."""

from __future__ import annotations

import io

import csv

import json
from fractions import Fraction

import pytest
from conftest import PUBLISHED, mobilenet_oracle

from mbcost import analyze
from mbcost.errors import MbcostError
from mbcost.results.paper import (ROUNDED_UP, TRUNCATED, Check, Reading, gives, judge, paper_tables, printed_unit,
                          significant_digits, within_rounding)
from mbcost.results.published import SCHEMAS, load_published


def test_every_published_table_loads_with_sources():
    for name in SCHEMAS:
        rows = load_published(name)
        assert rows and all(r["source"] for r in rows)
    assert len(load_published("checkpoints")) == 16


@pytest.mark.parametrize("content,words", [
    ("alpha,resolution,top1,source\n1.0,224,x\n", "expected 4 cells, got 3"),
    ("alpha,resolution,top1,source\n1.0,224,abc,x\n", "column 'top1' must be a number, got 'abc'"),
    ("alpha,resolution,top1,source\n1.0,224,169.7,x\n", "column 'top1' = 169.7 is outside [0, 100]"),
    ("alpha,resolution,top1,source\n1.0,22.4,69.7,x\n", "column 'resolution' must be an integer"),
    ("alpha,resolution,top1,source\n1.0,224,69.7,x\n1.0,224,68,y\n", "duplicate key"),
    ("alpha,resolution,top1,source\n1.0,224,69.7,\n", "column 'source' is empty"),
])
def test_bad_rows_fail_with_file_and_line(tmp_path, content, words):
    path = tmp_path / "checkpoints_quantized.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MbcostError) as info:
        load_published("checkpoints_quantized", path)
    assert str(info.value).startswith(f"{path}:") and words in str(info.value)


def test_bad_header(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("alpha,res,top1,source\n", encoding="utf-8")
    with pytest.raises(MbcostError, match=r"x.csv:1: header must be alpha,resolution,top1,source"):
        load_published("checkpoints_quantized", path)


def test_rounding_rules():
    # The unit of the last significant digit; a whole number's trailing zeros are
    # read at the precision of its table (sig digits), never beyond its own digits.
    assert printed_unit("1.32") == Fraction(1, 100) and printed_unit("569") == 1
    assert printed_unit("720", sig=2) == 10 and printed_unit("720", sig=3) == 1 and printed_unit("720") == 1
    assert printed_unit("15300", sig=3) == 100 and printed_unit("1550", sig=3) == 10
    assert printed_unit("290", sig=3) == 1 and printed_unit("5000", sig=3) == 10 and printed_unit("60", sig=1) == 10
    assert significant_digits("569") == 3 and significant_digits("1.32") == 3 and significant_digits("720") is None
    assert within_rounding("569", 568.74) and not within_rounding("290", 290.68)
    assert gives("290", Fraction(29068, 100), TRUNCATED) and not gives("290", Fraction(29068, 100), ROUNDED_UP)
    assert Check("1.19", 1.906).verdict().startswith("consistent with two digits swapped")
    assert Check("1700", 832.67, [Reading("FLOPs (2 × Mult-Adds)", Fraction(166534, 100))]).verdict() == \
        "matches FLOPs (2 × Mult-Adds)"
    assert Check("317", 325.4).verdict() == "differs: no explanation found"


def test_a_rounding_rule_explains_a_row_only_if_it_fits_the_whole_table():
    # Two figures truncated, nothing else in the table: consistent.
    both = [Check("11", Fraction(117, 10), label="a"), Check("21", Fraction(219, 10), label="b")]
    judge(both)
    assert [c.verdict_text for c in both] == ["consistent with figures truncated (so is every row of this table)"] * 2
    # The same first row beside one rounded to nearest (20.6 printed 21): truncation no longer explains it.
    mixed = [Check("11", Fraction(117, 10), label="a"), Check("21", Fraction(206, 10), label="b")]
    judge(mixed)
    assert mixed[0].verdict_text == ("no consistent reading: truncated would give it, but not b's 21 (20.60"
                                     " computed) in the same table")
    assert mixed[1].verdict_text == "ok"
    # The paper's own networks: never another rule or convention.
    own = [Check("290", Fraction(29068, 100), label="x", own=True), Check("569", Fraction(56874, 100), own=True)]
    judge(own)
    assert own[0].verdict_text.startswith("no consistent reading: a figure truncated would give it, but the paper")


def test_a_convention_explains_a_row_only_if_it_fits_every_row_from_the_same_source():
    flops = [Reading("FLOPs (2 × Mult-Adds)", Fraction(200))]
    # alone from its source: the convention explains it
    alone = [Check("200", 100, flops, source="s"), Check("50", 50, source="t")]
    judge(alone)
    assert alone[0].verdict_text == "matches FLOPs (2 × Mult-Adds)"
    # beside a row of the same source that is Mult-Adds, not FLOPs: no consistent reading
    together = [Check("200", 100, flops, source="s", label="one"),
                Check("50", 50, [Reading("FLOPs (2 × Mult-Adds)", Fraction(100))], source="s", label="two")]
    judge(together)
    assert together[0].verdict_text == ("no consistent reading: FLOPs (2 × Mult-Adds) would give it, but not two's 50"
                                        " (50.00 computed), from the same source")


def test_the_papers_own_networks_are_rounded_to_nearest_in_tables_5_and_6():
    # The premise of the own-network rule: every figure of Tables 5 and 6 is the
    # conv + fc Mult-Adds and the weights rounded to nearest, but 290.
    for table_name in ("Table 5", "Table 6"):
        table, cols = _table(table_name)
        for row in table.rows:
            assert row[cols.index("Params check")] == "ok"
            assert (row[cols.index("Mult-Adds check")] == "ok") != (row[0] == "1.0 MobileNet-160")


def _table(title_start: str):
    (table,) = [t for t in paper_tables() if t.title.startswith(title_start)]
    return table, list(table.headers)


def test_each_reproduced_cost_column_is_the_core_value():
    table, cols = _table("Table 5")
    computed = cols.index("M Mult-Adds computed")
    for row, alpha in zip(table.rows, (1, 0.75, 0.5, 0.25)):
        assert row[computed] == round(mobilenet_oracle(alpha, 224)[0] / 1e6, 2)
    table, cols = _table("Table 6")
    for row, res in zip(table.rows, (224, 192, 160, 128)):
        assert row[cols.index("M Mult-Adds computed")] == round(mobilenet_oracle(1, res)[0] / 1e6, 2)
        assert row[cols.index("M Params computed")] == round(mobilenet_oracle(1, res)[1] / 1e6, 3)


def test_flagged_rows_carry_a_reason_or_say_none_was_found():
    for table in paper_tables():
        cols = table.headers
        checks = [i for i, c in enumerate(cols) if "check" in c.lower()]
        for row in table.rows:
            for i in checks:
                verdict = row[i]
                assert verdict == "" or verdict.startswith(("ok", "matches", "consistent", "several readings fit: ",
                                                            "no consistent reading: ", "differs: no explanation",
                                                            "no spec"))


def test_known_discrepancies_are_explained_consistently():
    table, cols = _table("Table 2")
    (conv3,) = [r for r in table.rows if r[0] == "Conv 3×3"]
    assert conv3[cols.index("Mult-Adds check")].startswith("consistent with two digits swapped")
    # 290 for 290.68: truncation would give it, but the same paper rounds 568.74 to 569.
    table, cols = _table("Table 6")
    verdict = table.rows[2][cols.index("Mult-Adds check")]
    assert verdict.startswith("no consistent reading: ") and "truncated" in verdict and "Tables 5 and 6" in verdict
    # 720 for AlexNet's 724.41 is read like VGG's 15300: trailing zeros at the table's precision
    # (Table 9's other figure, 76, has 2 significant digits: 720 is 72 tens).
    table, cols = _table("Table 9")
    (alexnet,) = [r for r in table.rows if r[0] == "AlexNet"]
    assert alexnet[cols.index("Mult-Adds check")].startswith("ok (its trailing zeros read as not significant")
    table, cols = _table("Table 8")
    (vgg,) = [r for r in table.rows if r[0] == "VGG 16"]
    # 15,470.26 M less the FC layers' 123.64 M (25088·4096 + 4096·4096 + 4096·1000) = 15,346.6: 153 hundreds
    assert 25088 * 4096 + 4096 * 4096 + 4096 * 1000 == 123_633_664
    assert vgg[cols.index("Mult-Adds check")] == "matches the convolutions alone (fully connected layers not counted)"
    # Inception V3's 5000: the Inception paper's own "5 billion multiply-adds", not a truncation.
    table, cols = _table("Table 10")
    (inception,) = [r for r in table.rows if r[0] == "Inception V3"]
    assert "5 billion multiply-adds" in inception[cols.index("Mult-Adds check")]
    assert "truncat" not in inception[cols.index("Mult-Adds check")]
    dogs = [r for r in table.rows if r[0] == "1.0 MobileNet-224"][0]
    # 569 printed for 120 classes: the 1000-class network's 568.74 M
    assert analyze("mobilenet_v1", classes=120).total.mult_adds == mobilenet_oracle(classes=120)[0]
    assert dogs[cols.index("Mult-Adds check")] == "matches the 1000-class (ImageNet) network's figure"
    # Checkpoints: 4.24 M fits weights + biases + 3 values per batch-norm channel arithmetically
    # (4,209,088 + 1,000 + 3 × 10,944 = 4,242,920), but a TF-Slim checkpoint stores 1001-class
    # logits and 4 values per channel (gamma too): 4,209,088 + 1,024 + 1,001 + 4 × 10,944 = 4.25 M.
    assert round((4_209_088 + 1_000 + 3 * 10_944) / 1e6, 2) == 4.24
    assert round((4_209_088 + 1_024 + 1_001 + 4 * 10_944) / 1e6, 2) == 4.25
    table, cols = _table("Released checkpoints")
    first = table.rows[0][cols.index("Params check")]
    assert first.startswith("no consistent reading: arithmetically consistent")
    assert "3 values per batch-norm channel" in first and "4.25 M" in first


def test_paper_cli(cli):
    res = cli("paper", "--table", "5", "-f", "json")
    assert res.returncode == 0, res.stderr
    (table,) = json.loads(res.stdout)["tables"]
    assert table["title"].startswith("Table 5") and len(table["rows"]) == 4
    rows = list(csv.DictReader(io.StringIO(cli("paper", "-f", "csv").stdout)))  # long: one row per figure
    tables = {r["table"].split(":")[0] for r in rows}
    assert {"Table 2", "Table 8", "Released checkpoints (TF-Slim, 2018-02-22)"} <= tables
    vgg = next(r for r in rows if r["row"] == "VGG 16" and r["quantity"] == "mult_adds_millions")
    assert vgg["published"] == "15300" and int(vgg["computed"].split(".")[0]) == 15470
    bad = cli("paper", "--table", "1")
    assert bad.returncode == 2 and "Table 1 is the architecture" in bad.stderr


def test_paper_reads_short_with_its_explanations_as_numbered_notes():
    """Explanations are notes under their table, not a narrow column that breaks
    words: 'paper' reads in at most 300 lines at 120 columns, every verdict cell is
    a word or two, and each note number in a cell has its note under the table."""
    from mbcost.documents.render import terminal_text
    from mbcost.documents.views_paper import paper_document

    doc = paper_document(paper_tables())
    text = terminal_text(doc, 120)
    assert len(text.splitlines()) <= 300
    assert len(terminal_text(paper_document(paper_tables("checkpoints")), 120).splitlines()) <= 60
    assert "arXiv:1512.00567" in text and "arithmetically consistent" in text  # words whole
    for table in doc.tables:
        verdicts = [i for i, c in enumerate(table.columns) if c.header.endswith("check")]
        for row in table.rows:
            for i in verdicts:
                word, _, ref = row[i].partition(" [")
                assert word in ("ok", "explained", "not explained", "see note", ""), row[i]
                if ref:
                    assert any(n.startswith(f"[{ref}") for n in table.notes), (table.title, row[i])
    # the full words stay in the machine formats
    cols = doc.tables[0].columns
    assert [c.header for c in cols].count("Δ % Mult-Adds") == 1
    assert doc.data["tables"][0]["rows"][2][4].startswith("consistent with two digits swapped")
