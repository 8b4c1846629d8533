"""Every CSV mbcost writes is tidy (issue 11): the header row first, unique
snake_case column names, one row per item (no Total row), numbers as plain
numbers that pandas reads as numbers, and the same totals as the JSON."""

from __future__ import annotations

import io
import json
import re

import pytest

from conftest import mobilenet_oracle

pd = pytest.importorskip("pandas")

#: (command, the JSON's total Mult-Adds or None, columns that must be integers)
COMMANDS = [
    (("table", "mobilenet", "--alpha", "0.5", "--res", "160"), "mult_adds",
     ["mult_adds", "params", "in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "stride_h", "stride_w"]),
    (("table", "mobilenet", "--memory", "--formula", "--flops"), "mult_adds",
     ["mult_adds", "flops", "in_bytes", "out_bytes", "alive_bytes"]),
    (("table", "googlenet", "--by-type"), None, ["mult_adds", "params"]),
    (("compare", "vgg16", "mobilenet"), None, ["mult_adds", "params", "activations", "in_h", "in_w", "in_c"]),
    (("sweep", "mobilenet"), None, ["mult_adds", "params", "resolution"]),
    (("pick", "mobilenet_v1", "--max-madds", "300M"), None, ["rank", "mult_adds", "params", "resolution"]),
    (("paper",), None, []),
    (("layer", "--k", "3", "--m", "512", "--n", "512", "--df", "14"), None, ["mult_adds", "params"]),
    (("models",), None, []),
]


def _csv(cli, args):
    res = cli(*args, "-f", "csv")
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.mark.parametrize("args,total,ints", COMMANDS, ids=[" ".join(c[0]) for c in COMMANDS])
def test_csv_is_tidy(cli, args, total, ints):
    text = _csv(cli, args)
    header = text.splitlines()[0]
    assert not header.startswith("#")
    names = header.split(",")
    assert len(set(names)) == len(names), names
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names), names
    frame = pd.read_csv(io.StringIO(text))
    for column in ints:
        assert pd.api.types.is_integer_dtype(frame[column]), (column, frame[column].dtype)
    for column in frame.columns:  # no number hidden in text: '1/27.2', '1.00×', '224×224×3', '1,234'
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            values = frame[column].dropna().astype(str)
            assert not values.str.fullmatch(r"[\d.,/×x]+[×x]?").any() or column in ("filter", "formula"), column
    assert "Total" not in set(frame.iloc[:, 0].astype(str))
    if total:
        data = json.loads(cli(*args, "-f", "json").stdout)
        assert int(frame[total].sum()) == data["total"][total]


def test_table_csv_totals_against_the_paper(cli):
    # the oracle: the paper's own formulas, written out in conftest (not mbcost's)
    out = _csv(cli, ("table", "--alpha", "0.75", "--res", "192"))
    frame = pd.read_csv(io.StringIO(out))
    assert int(frame["mult_adds"].sum()) == mobilenet_oracle(0.75, 192)[0]
    assert int(frame["params"].sum()) == mobilenet_oracle(0.75, 192)[1]


def test_compare_ratios_are_floats(cli):
    frame = pd.read_csv(io.StringIO(_csv(cli, ("compare", "vgg16", "mobilenet"))))
    assert frame["mult_adds_ratio"].dtype == float
    vgg, mobile = frame["mult_adds"]
    assert frame["mult_adds_ratio"][1] == pytest.approx(mobile / vgg)


def test_csv_file_gets_its_conventions_beside_it(cli, tmp_path):
    out = tmp_path / "t.csv"
    res = cli("table", "--alpha", "0.5", "-o", str(out))
    assert res.returncode == 0, res.stderr
    meta = json.loads((tmp_path / "t.csv-metadata.json").read_text())
    assert meta["@context"] == "http://www.w3.org/ns/csvw" and meta["url"] == "t.csv"
    assert any("paper convention" in line for line in meta["dc:description"])
    kinds = {c["name"]: c["datatype"] for c in meta["tableSchema"]["columns"]}
    assert kinds["mult_adds"] == "integer" and kinds["mult_adds_pct"] == "double" and kinds["name"] == "string"
    assert list(kinds) == out.read_text().splitlines()[0].split(",")


def test_comments_option_is_pandas_readable(cli):
    text = cli("sweep", "-f", "csv", "--comments").stdout
    assert text.startswith("# mobilenet_v1")
    frame = pd.read_csv(io.StringIO(text), comment="#")
    assert len(frame) == 16 and frame["mult_adds"].dtype == "int64"


def test_to_frame_kernel_and_stride_are_ints():
    import mbcost

    frame = mbcost.analyze("mobilenet_v1").to_frame()
    assert str(frame["kernel_h"].dtype) == "Int64" and frame["kernel_h"][0] == 3
    assert frame["kernel_h"].isna().sum() == 2  # fc1, softmax1: no window
    assert frame["stride_h"].dtype == "int64"
