"""The command line, run as a user runs it: a fresh process, output on a pipe."""

from __future__ import annotations

import csv
import io
import json
import os
import sys

import pytest
from conftest import mobilenet_oracle, published

TABLE = ("table", "--alpha", "0.5", "--res", "160")


def test_table_plain_text_when_piped(cli):
    res = cli(*TABLE)
    assert res.returncode == 0, res.stderr
    assert "\x1b[" not in res.stdout  # no escape codes off a terminal
    expected = mobilenet_oracle(0.5, 160)[0]
    assert f"{expected:,}" in res.stdout
    assert "Mult-Adds counted for: conv, fc (paper convention)" in res.stdout
    assert "params: weights only" in res.stdout
    assert "By layer type" in res.stdout and "Conv 1×1" in res.stdout


def test_json_contract(cli):
    res = cli(*TABLE, "--format", "json")
    data = json.loads(res.stdout)
    assert {"model", "alpha", "resolution", "unit", "layers", "total", "by_type"} <= set(data)
    assert (data["model"], data["alpha"], data["resolution"], data["unit"]) == ("mobilenet_v1", 0.5, 160, "mult-adds")
    layer = data["layers"][0]
    for key in ("name", "type", "stride", "input", "output", "mult_adds", "params", "formula"):
        assert key in layer
    assert layer["input"] == [160, 160, 3] and layer["output"] == [80, 80, 16]
    assert layer["mult_adds"] == 3 * 3 * 3 * 16 * 80 * 80 and layer["formula"] == "3·3·3·16·80·80"
    total = data["total"]
    mult_adds, weights = mobilenet_oracle(0.5, 160)
    assert total["mult_adds"] == mult_adds and total["params"] == weights
    assert set(total["params_breakdown"]) == {"weights", "biases", "norm"}
    assert all(isinstance(v, int) for v in total["params_breakdown"].values())
    assert isinstance(total["activations"], int)
    for row in data["by_type"]:
        assert set(row) == {"type", "mult_adds", "mult_adds_pct", "params", "params_pct"}
    assert sum(r["mult_adds"] for r in data["by_type"]) == mult_adds


def test_flops_are_labelled_and_doubled(cli):
    data = json.loads(cli(*TABLE, "--flops", "-f", "json").stdout)
    assert data["unit"] == "flops"
    assert data["total"]["flops"] == 2 * data["total"]["mult_adds"] == 2 * mobilenet_oracle(0.5, 160)[0]
    text = cli(*TABLE, "--flops").stdout
    assert "FLOPs (2 × Mult-Adds)" in text and f"{2 * mobilenet_oracle(0.5, 160)[0]:,}" in text


def test_csv_is_tidy_and_comments_are_asked_for(cli):
    out = cli(*TABLE, "-f", "csv").stdout
    assert not out.startswith("#")  # the header row first
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 30 and rows[-1]["name"] == "softmax1"  # one row per layer, no Total row
    assert sum(int(r["mult_adds"]) for r in rows) == mobilenet_oracle(0.5, 160)[0]
    assert (rows[0]["in_h"], rows[0]["in_w"], rows[0]["in_c"]) == ("160", "160", "3")
    commented = cli(*TABLE, "-f", "csv", "--comments").stdout
    first, rest = commented.split("\n", 1)
    assert first.startswith("# mobilenet_v1") and any("conv, fc" in line for line in commented.splitlines()[:4])
    assert [line for line in commented.splitlines() if not line.startswith("#")] == out.splitlines()


def test_markdown_and_latex(cli):
    md = cli(*TABLE, "-f", "markdown").stdout
    assert "| Layer | Type / Stride |" in md and "**Total**" in md
    tex = cli(*TABLE, "-f", "latex").stdout
    assert "\\begin{tabular}" in tex and "\\toprule" in tex and "Conv 1$\\times$1" in tex


def test_by_type_and_formula_options(cli):
    out = cli("table", "--by-type").stdout
    assert "Per layer" not in out
    for row in published("table2_by_type"):
        assert row["type"] in out
    assert "3·3·3·32·112·112" in cli("table", "--formula").stdout


def test_output_file_is_written_whole(cli, tmp_path):
    target = tmp_path / "mobilenet.json"
    res = cli(*TABLE, "--output", str(target))
    assert res.returncode == 0 and res.stdout == ""
    assert json.loads(target.read_text(encoding="utf-8"))["total"]["mult_adds"] == mobilenet_oracle(0.5, 160)[0]
    assert [p.name for p in tmp_path.iterdir()] == ["mobilenet.json"]  # no temporary left


def test_same_command_gives_identical_bytes(cli, tmp_path):
    for fmt in ("csv", "json", "markdown", "latex"):
        a, b = (cli(*TABLE, "-f", fmt).stdout for _ in range(2))
        assert a == b


@pytest.mark.parametrize("args,words", [
    (("table", "--alpha", "0"), "alpha must be positive"),
    (("table", "--alpha", "-0.5"), "alpha must be positive"),
    (("table", "--res", "0"), "resolution must be positive"),
    (("table", "--alhpa", "1"), "No such option: --alhpa"),
    (("table", "--alpha", "abc"), "abc"),
    (("table", "mobilnet"), "did you mean mobilenet"),
    (("table", "no_such.spec"), "no such spec file: no_such.spec"),
    (("table", "--format", "xml"), "unknown format 'xml'"),
    (("table", "--output", "/nonexistent-dir/x.csv"), "cannot write /nonexistent-dir/x.csv"),
    (("table", "--count", "conv,everything"), "cannot count everything"),
    (("layer", "--m", "0", "--n", "4", "--df", "7"), "m must be a positive whole number"),
])
def test_user_errors_exit_2_with_one_line(cli, args, words):
    res = cli(*args)
    assert res.returncode == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mbcost: error: ")
    assert words in lines[0]
    assert "Traceback" not in res.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_unwritable_output(cli, tmp_path):
    if os.geteuid() == 0:  # root writes anywhere on disk, but not into sysfs
        target = "/sys/mbcost-test.csv"
    else:
        locked = tmp_path / "ro"
        locked.mkdir()
        locked.chmod(0o500)
        target = str(locked / "t.csv")
    res = cli("table", "-o", target)
    assert res.returncode == 2 and f"cannot write {target}" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_output_to_a_directory_is_refused(cli, tmp_path):
    res = cli("table", "-o", str(tmp_path))
    assert res.returncode == 2 and "it is a directory" in res.stderr


def test_spec_error_shows_location_and_caret(cli, tmp_path):
    spec = tmp_path / "bad.spec"
    spec.write_text("input 8x8x3\nconv 3x3x3x16 groups=3\n", encoding="utf-8")
    res = cli("table", str(spec))
    assert res.returncode == 2
    first, source, caret = res.stderr.rstrip("\n").split("\n")
    assert first.startswith(f"mbcost: error: {spec}:2:15: groups=3")
    assert source.strip() == "conv 3x3x3x16 groups=3"
    assert caret.index("^") == source.index("groups")


def test_spec_file_path_works_as_model(cli, tmp_path):
    spec = tmp_path / "tiny.spec"
    spec.write_text("input 8x8x3\nconv 3x3x3x16\n", encoding="utf-8")
    data = json.loads(cli("table", str(spec), "-f", "json").stdout)
    assert data["model"] == "tiny" and data["total"]["mult_adds"] == 3 * 3 * 3 * 16 * 64


def test_layer_command_reproduces_worked_example(cli):
    (row,) = published("worked_example")
    out = cli("layer", "--k", row["k"], "--m", row["m"], "--n", row["n"], "--df", row["df"]).stdout
    assert f"{int(row['standard_mult_adds']):,}" in out and f"{int(row['separable_mult_adds']):,}" in out
    assert row["ratio"] in out
    data = json.loads(cli("layer", "--k", "3", "--m", "512", "--n", "512", "--df", "14", "--alpha", "0.75",
                          "--rho", "0.714", "-f", "json").stdout)
    assert data["separable"]["mult_adds"] == 3 * 3 * 384 * 10 * 10 + 384 * 384 * 10 * 10
    assert data["bound"] == pytest.approx(1 / 384 + 1 / 9)


def test_models_lists_builtins(cli):
    out = cli("models").stdout
    assert "mobilenet_v1" in out and "Howard" in out and "mobilenet" in out


def test_no_color_respected_on_a_terminal():
    pty = pytest.importorskip("pty")
    import subprocess

    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    env.pop("FORCE_COLOR", None)
    leader, follower = pty.openpty()
    proc = subprocess.run([sys.executable, "-m", "mbcost", "table", "--by-type"], stdout=follower,
                          stderr=subprocess.PIPE, env=env, timeout=60)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    out = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0
    assert "Conv 1×1" in out
    assert "\x1b[1m" in out  # it is the rich rendering (bold is not colour) ...
    import re

    params = [int(p) for seq in re.findall(r"\x1b\[([0-9;]*)m", out) for p in seq.split(";") if p]
    colours = [p for p in params if 30 <= p <= 49 or 90 <= p <= 107]
    assert colours == []  # ... and NO_COLOR left no colour in it


def test_bare_mbcost_prints_the_help_and_exits_0(cli):
    res = cli()
    assert res.returncode == 0 and res.stderr == ""
    assert res.stdout.startswith("Usage: mbcost") and "table" in res.stdout and "Commands" in res.stdout


def test_version_and_completion(cli):
    import mbcost

    res = cli("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"mbcost {mbcost.__version__}"
    assert "--install-completion" in cli("--help").stdout


def test_an_output_extension_mbcost_cannot_write_is_refused(cli, tmp_path):
    for name in ("t.xlsx", "t.html", "noextension"):
        res = cli("table", "-o", str(tmp_path / name))
        assert res.returncode == 2 and "cannot tell the format" in res.stderr and ".csv" in res.stderr
        assert not (tmp_path / name).exists()
    res = cli("table", "-o", str(tmp_path / "t.html"), "--format", "json")  # explicit: written
    assert res.returncode == 0 and json.loads((tmp_path / "t.html").read_text(encoding="utf-8"))["total"]
    res = cli("table", "-o", str(tmp_path / "t.txt"))
    assert res.returncode == 0 and "Total:" in (tmp_path / "t.txt").read_text(encoding="utf-8")


def test_options_mean_the_same_everywhere(cli, tmp_path):
    # the model is the first argument of pick, as of every other command (--model still works)
    res = cli("pick", "mobilenet_v2", "--max-madds", "150M", "--format", "json")
    assert res.returncode == 0 and json.loads(res.stdout)["model"] == "mobilenet_v2"
    assert cli("pick", "--max-madds", "150M", "-m", "mobilenet_v1").returncode == 0
    res = cli("pick", "vgg16", "--max-madds", "150M", "-m", "mobilenet_v1")
    assert res.returncode == 2 and "two models given" in res.stderr
    # --output (-o) for every command that writes; --out is kept for plot and report
    for flag in ("--output", "-o", "--out"):
        assert "--output" in cli("plot", "--help").stdout
        res = cli("plot", "breakdown", flag, str(tmp_path / f"b{flag}.svg"))
        assert res.returncode == 0, res.stderr
    # -t is paper's --table only
    assert "-t" not in cli("profile", "--help").stdout.replace("--t", "")


def test_totals_for_people_are_scaled_per_value(cli, tmp_path):
    # Issue 11: 15.47 G rather than 15,470.26 M; 4.03 K params rather than 0.00 M.
    assert "Total: 15.47 G Mult-Adds · 138.34 M params" in cli("table", "vgg16").stdout
    spec = tmp_path / "small.spec"
    spec.write_text("input 8x8x4\nconv 3x3x4x112\n", encoding="utf-8")
    # 3·3·4·112·8·8 = 258,048 Mult-Adds; 3·3·4·112 = 4,032 weights
    assert "Total: 258.05 K Mult-Adds · 4.03 K params = weights 4,032 (not counted:" in cli("table", str(spec)).stdout


def test_published_figures_print_as_published(cli):
    out = cli("compare", "vgg16", "mobilenet").stdout
    row = next(line for line in out.split("Published vs computed")[1].splitlines() if line.startswith("vgg16"))
    assert " 15300 M " in row and "15300.00" not in row and " 71.5 " in row
    assert " 15,470.26 M " in row  # beside it, the computed count in the same unit


@pytest.mark.parametrize("columns", ["80", "120"])
def test_help_summaries_are_whole(columns, monkeypatch, capsys):
    """'mbcost --help' lists every command with its whole summary, never cut with '...'."""
    from mbcost.cli import main

    monkeypatch.setenv("COLUMNS", columns)
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    commands = out.split("Commands:")[1].strip().splitlines()
    assert len(commands) >= 13 and all(len(line.split(None, 1)) == 2 for line in commands)
    assert "..." not in out.split("Commands:")[1]  # ("COMMAND [ARGS]..." in the usage line is click's)


def test_numbers_and_formulas_never_split_on_a_narrow_terminal():
    from mbcost.documents.render import terminal_text
    from mbcost.documents.views import layer_document
    from mbcost.results.separable import compare_layer

    text = terminal_text(layer_document(compare_layer(3, 64, 128, 112)), 80)
    # 3·3·64·128·112·112 = 924,844,032, hand-multiplied
    assert 3 * 3 * 64 * 128 * 112 * 112 == 924_844_032
    assert "3·3·64·128·112·112" in text and "924,844,032" in text
    assert max(len(line) for line in text.splitlines()) <= 80
