"""Files are written whole or not at all, through what the path names (issue 9)."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from mbcost.errors import MbcostError, SpecError
from mbcost.core.network import Network
from mbcost.documents.output import TMP_MARK, write_atomic


def test_a_symlink_stays_a_symlink_and_its_target_gets_the_content(tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    write_atomic(link, "new")
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "new"


def test_an_existing_file_keeps_its_mode(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("{}", encoding="utf-8")
    os.chmod(path, 0o640)
    write_atomic(path, "[]")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640 and path.read_text(encoding="utf-8") == "[]"


def test_a_device_is_written_to_not_replaced():
    write_atomic("/dev/null", "anything")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_fifo_is_written_to(tmp_path, cli):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, encoding="utf-8").read()))
    reader.start()
    res = cli("table", "--format", "csv", "--output", str(fifo))
    reader.join(timeout=60)
    assert res.returncode == 0, res.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got and "conv1" in got[0]


def test_stale_temporary_files_are_named_so_and_removed(tmp_path):
    path = tmp_path / "out.csv"
    dead = tmp_path / f".out.csv{TMP_MARK}999999999-x1"  # no such process
    alive = tmp_path / f".out.csv{TMP_MARK}{os.getpid()}-x2"  # a write still under way
    dead.write_text("half", encoding="utf-8")
    alive.write_text("half", encoding="utf-8")
    write_atomic(path, "whole")
    assert not dead.exists() and alive.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, alive.name])


def test_empty_output_is_an_error(cli):
    for args in (["table", "-o", ""], ["compare", "vgg16", "mobilenet", "--output", ""]):
        res = cli(*args)
        assert res.returncode == 2 and "--output is empty" in res.stderr and "Traceback" not in res.stderr
    with pytest.raises(MbcostError, match="empty"):
        write_atomic("", "x")


def test_a_directory_or_device_given_as_a_spec(cli, tmp_path):
    res = cli("table", str(tmp_path))
    assert res.returncode == 2 and "is a folder, not a spec file" in res.stderr
    res = cli("table", "/dev/null")
    assert res.returncode == 2 and "not a regular file" in res.stderr


def test_the_report_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import mbcost.figures.report as report

    def broken():
        raise MbcostError("disk full, say")

    monkeypatch.setattr(report, "_scaling_text", broken)
    out = tmp_path / "rep"
    with pytest.raises(MbcostError, match="disk full"):
        report.report(out, png=False)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no staging folder left either


def test_an_error_quotes_a_readable_slice_of_a_long_line_with_controls_escaped():
    text = "input 8x8x3\nconv 3x3x3x4 " + "a" * 500 + " bad\x07 " + "b" * 300 + "\n"
    with pytest.raises(SpecError) as info:
        Network.from_text(text, source="x.spec")
    line, caret = info.value.detail().splitlines()
    assert len(line) < 120 and line.strip().startswith("…") and line.endswith("…") and "\\x07" in line
    assert line[caret.index("^")] == "\\"  # the caret is under the escaped character


def test_a_csv_in_a_missing_folder_is_blamed_by_its_own_name(tmp_path, capsys):
    from mbcost.cli import main

    target = tmp_path / "missing" / "x.csv"
    assert main(["table", "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"mbcost: error: cannot write {target}: folder {target.parent} does not exist\n"


def test_models_are_listed_in_natural_order():
    from mbcost.results.zoo import model_names

    names = [n for n in model_names() if n.startswith("resnet")]
    assert names == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
