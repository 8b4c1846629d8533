"""Published tables: the loader's validation; `mbcost paper`: published vs computed."""

from __future__ import annotations

import json

import pytest
from conftest import PUBLISHED, mobilenet_oracle

from mbcost import analyze
from mbcost.errors import MbcostError
from mbcost.paper import Check, paper_tables, printed_unit, within_rounding
from mbcost.published import SCHEMAS, load


def test_every_published_table_loads_with_sources():
    for name in SCHEMAS:
        rows = load(name)
        assert rows and all(r["source"] for r in rows)
    assert len(load("checkpoints")) == 16


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
        load("checkpoints_quantized", path)
    assert str(info.value).startswith(f"{path}:") and words in str(info.value)


def test_bad_header(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("alpha,res,top1,source\n", encoding="utf-8")
    with pytest.raises(MbcostError, match=r"x.csv:1: header must be alpha,resolution,top1,source"):
        load("checkpoints_quantized", path)


def test_rounding_rules():
    assert printed_unit("1.32") == 0.01 and printed_unit("569") == 1 and printed_unit("720") == 1
    assert printed_unit("15300") == 100 and printed_unit("1550") == 10
    assert within_rounding("569", 568.74) and not within_rounding("290", 290.68)
    assert Check("290", 290.68).verdict().startswith("consistent with truncating")
    assert Check("1.19", 1.906).verdict().startswith("two digits swapped")
    assert Check("1700", 832.67, alternatives={"FLOPs (2 × Mult-Adds)": 1665.3}).verdict() == "matches FLOPs (2 × Mult-Adds)"
    assert Check("317", 325.4).verdict() == "differs: no explanation found"


def _table(title_start: str):
    (table,) = [t for t in paper_tables() if t.title.startswith(title_start)]
    cols = [c.header for c in table.columns]
    return table, cols


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
        cols = [c.header for c in table.columns]
        checks = [i for i, c in enumerate(cols) if "check" in c.lower()]
        for row in table.rows:
            for i in checks:
                verdict = row[i]
                assert verdict == "ok" or verdict.startswith(("matches", "consistent", "two digits",
                                                              "differs: no explanation", "no spec")) or verdict == ""


def test_known_discrepancies_are_explained():
    table, cols = _table("Table 2")
    (conv3,) = [r for r in table.rows if r[0] == "Conv 3×3"]
    assert conv3[cols.index("check")].startswith("two digits swapped")
    table, cols = _table("Table 6")
    assert table.rows[2][cols.index("Mult-Adds check")].startswith("consistent with truncating")  # 290 for 290.68
    table, cols = _table("Released checkpoints")
    first = table.rows[0]
    # 4.24 M = 4,209,088 weights + 1,000 biases + 3 x 10,944 batch-norm channels (beta, mean, variance)
    assert round((4_209_088 + 1_000 + 3 * 10_944) / 1e6, 2) == 4.24
    assert "TF-Slim checkpoint variables" in first[cols.index("Params check")]
    table, cols = _table("Table 10")
    dogs = [r for r in table.rows if r[0] == "1.0 MobileNet-224"][0]
    # 569 printed for 120 classes: the 1000-class network's 568.74 M
    assert analyze("mobilenet_v1", classes=120).total.mult_adds == mobilenet_oracle(classes=120)[0]
    assert "1000-class" in dogs[cols.index("Mult-Adds check")]


def test_paper_cli(cli):
    res = cli("paper", "--table", "5", "-f", "json")
    assert res.returncode == 0, res.stderr
    (table,) = json.loads(res.stdout)["tables"]
    assert table["title"].startswith("Table 5") and len(table["rows"]) == 4
    csv_all = cli("paper", "-f", "csv").stdout
    assert "# Table 2" in csv_all and "# Released checkpoints" in csv_all
    bad = cli("paper", "--table", "1")
    assert bad.returncode == 2 and "Table 1 is the architecture" in bad.stderr
