"""`mbcost report`: the folder it writes, its determinism, its progress and errors."""

from __future__ import annotations

import io
import re
import sys
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("matplotlib")

from mbcost.figures import report as report_mod  # noqa: E402
from mbcost.errors import MbcostError  # noqa: E402

FIGURES = [stem for stem, _, _, _ in report_mod.FIGURES]


@pytest.fixture(scope="module")
def cli_report(tmp_path_factory):
    """The report written by the command, output on a pipe."""
    from conftest import run_cli

    out = tmp_path_factory.mktemp("cli") / "report"
    res = run_cli("report", "--out", str(out))
    return out, res


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_report_writes_readme_and_figures(cli_report):
    import matplotlib.image

    out, res = cli_report
    assert res.returncode == 0, res.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["README.md", report_mod.MANIFEST] + [f"{s}.svg" for s in FIGURES]
                           + [f"{s}.png" for s in FIGURES])
    for stem in FIGURES:
        ET.parse(out / f"{stem}.svg")
        assert matplotlib.image.imread(out / f"{stem}.png").ndim == 3
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# MobileNet's costs, reproduced\n")
    for heading in ("## The paper's tables, rebuilt", "## Comparison with popular models (the paper's Table 8)",
                    "## Comparison with small models (the paper's Table 9)", "## Figures"):
        assert f"\n{heading}\n" in readme
    # every relative link and image points at a file of the report
    targets = re.findall(r"\]\(([^)]+)\)", readme)
    assert {f"{s}.svg" for s in FIGURES} <= set(targets)
    for target in targets:
        assert not target.startswith(("/", "http")) and (out / target).is_file(), target
    assert "| 0.5-160 |" in readme  # the tradeoff's numbers
    assert "vgg16" in readme and "Mult-Adds counted for: conv, fc (paper convention)" in readme
    # it says how to write it again, to this folder (not this repository's docs/report)
    assert f"run `mbcost report --out {out.as_posix()}` again" in readme and "docs/report" not in readme


def test_report_plain_steps_when_piped(cli_report):
    out, res = cli_report
    lines = res.stdout.splitlines()
    total = len(lines) - 1
    assert lines[0] == f"[1/{total}] figure: tradeoff"
    assert lines[-2] == f"[{total}/{total}] README.md"
    assert lines[-1] == f"wrote {len(list(out.iterdir()))} files to {out}"
    assert "\x1b[" not in res.stdout and res.stderr == ""


def test_report_is_deterministic(cli_report, tmp_path):
    out, _ = cli_report
    result = report_mod.report(tmp_path / "again")
    assert sorted(p.name for p in result.files) == sorted(p.name for p in out.iterdir())
    again, first = _files(tmp_path / "again"), _files(out)
    # byte-identical, but for the folder the README says to write it again to
    again["README.md"] = again["README.md"].replace((tmp_path / "again").as_posix().encode(), out.as_posix().encode())
    # and the manifest: each file's SHA-256, the README's of its own bytes
    import hashlib
    import json

    manifest = json.loads(again[report_mod.MANIFEST])
    assert manifest["files"]["README.md"] == hashlib.sha256((tmp_path / "again" / "README.md").read_bytes()).hexdigest()
    manifest["files"]["README.md"] = hashlib.sha256(again["README.md"]).hexdigest()
    again[report_mod.MANIFEST] = (json.dumps(manifest, indent=2) + "\n").encode()
    assert again == first


def test_report_nests_the_paper_document(cli_report):
    readme = (cli_report[0] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The paper's tables, rebuilt\n", 1)[1].split("\n## ", 1)[0]
    try:
        from mbcost.results.paper import paper_tables  # noqa: F401
    except ImportError:
        assert "Not available in this installation" in section
    else:
        assert "\n### MobileNet (Howard et al. 2017): published vs computed\n" in section
        assert "\n#### " in section  # its tables, one level further down


def test_report_gives_mobilenet_v4_published_device_latencies(cli_report):
    """The roofline section carries the MobileNetV4 paper's per-device latencies,
    each as printed in tables/published/mobilenet_v4_latency.csv (read here with
    the csv module), with the source."""
    import csv

    from mbcost.results.zoo import tables_dir

    readme = (cli_report[0] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### The roofline across hardware\n", 1)[1].split("\n### ", 1)[0]
    part = section.split("#### Published latency (ms), by device\n", 1)[1]
    with open(tables_dir() / "published" / "mobilenet_v4_latency.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    devices = list(dict.fromkeys(r["device"] for r in rows))
    lines = part.splitlines()
    header = next(line for line in lines if line.startswith("| Model |"))
    assert [c.strip() for c in header.strip("|").split("|")] == ["Model"] + devices
    cells = {}
    for line in lines:
        if line.startswith("| mobilenet_v4_"):
            label, *values = [c.strip() for c in line.strip("|").split("|")]
            cells[label.split(" ")[0]] = dict(zip(devices, values))
    assert sorted(cells) == sorted({r["model"] for r in rows}) and len(cells) == 5
    for r in rows:
        assert cells[r["model"]][r["device"]] == r["latency_ms"]
    given = {(r["model"], r["device"]) for r in rows}
    assert all(value == "" for model, by in cells.items() for d, value in by.items() if (model, d) not in given)
    assert "(224)" in part and "(384)" in part  # the resolutions the paper measured them at
    assert "arXiv:2404.10518" in part and "mobilenet_v4_latency.csv" in part


def test_paper_placeholder_when_module_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "mbcost.results.paper", None)
    (text,) = report_mod._paper_text()
    assert "Not available in this installation" in text and "mbcost.results.paper" in text


def test_comparison_leaves_out_models_missing_from_the_zoo():
    lines = report_mod._comparison_text(("mobilenet", "nosuchnet", "vgg16"))
    text = "\n".join(lines)
    assert "Left out (no spec in the zoo): nosuchnet." in text and "### Comparison: mobilenet_v1, vgg16" in text
    assert report_mod._comparison_text(("mobilenet", "nosuchnet")) == ["_Not available: the zoo lacks nosuchnet._"]


def test_demote_headings():
    assert report_mod._demote("## A\n- x\n### B\n|#|\n#tag\n") == "### A\n- x\n#### B\n|#|\n#tag\n"


def test_unwritable_folder_is_one_line_exit_2(cli, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    for target in (blocker, blocker / "sub"):
        res = cli("report", "--out", str(target))
        assert res.returncode == 2
        assert res.stderr.startswith(f"mbcost: error: cannot write the report to {target}: ")
        assert res.stderr.count("\n") == 1 and res.stdout == ""
    assert blocker.read_text() == "not a folder"
    with pytest.raises(MbcostError, match="not a folder"):
        report_mod.report(blocker)


def test_a_clashing_entry_is_named_before_anything_is_written(tmp_path):
    import os
    import stat

    folder = tmp_path / "rp"
    folder.mkdir()
    (folder / "README.md").write_text("mine", encoding="utf-8")
    (folder / "layers.svg").mkdir()  # a folder where a figure goes
    with pytest.raises(MbcostError, match=r"rp/layers\.svg is a folder, where the report writes its layers\.svg"):
        report_mod.report(folder)
    os.rmdir(folder / "layers.svg")
    with pytest.raises(MbcostError, match=r"would replace .*rp/README\.md, which no earlier report wrote"):
        report_mod.report(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["README.md"]  # nothing written, nothing staged
    assert (folder / "README.md").read_text(encoding="utf-8") == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    os.unlink(folder / "README.md")
    (folder / "README.md").symlink_to(tmp_path / "elsewhere.md")
    with pytest.raises(MbcostError, match=r"rp/README\.md is a link"):
        report_mod.report(folder)
    assert stat.S_IMODE(folder.stat().st_mode)  # untouched


def test_an_earlier_reports_files_are_replaced_only_while_unchanged(cli_report, tmp_path):
    import shutil

    out, _ = cli_report
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    names = report_mod.report_files(png=True)
    assert report_mod.check_targets(copy, names)  # the manifest lists every file, unchanged
    (copy / "breakdown.svg").write_text("edited", encoding="utf-8")
    with pytest.raises(MbcostError, match=r"copy/breakdown\.svg was changed since a report wrote it"):
        report_mod.check_targets(copy, names)
    (copy / report_mod.MANIFEST).write_text("{", encoding="utf-8")
    with pytest.raises(MbcostError, match="is not the manifest an earlier report wrote"):
        report_mod.check_targets(copy, names)


def test_a_new_report_folder_follows_the_umask(cli_report):
    import os
    import stat

    out, _ = cli_report
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal(monkeypatch, tmp_path):
    """On a terminal the steps drive a rich progress bar (the report itself faked)."""
    seen = []

    def fake_report(out, *, png=True, progress=None):
        for i, label in enumerate(("one", "two")):
            progress(i, 2, label)
            seen.append(label)
        progress(2, 2, "done")
        return report_mod.ReportResult(tmp_path, [tmp_path / "README.md"])

    monkeypatch.setattr(report_mod, "report", fake_report)
    stream = _Terminal()
    report_mod.run_report(tmp_path, stream=stream)
    assert seen == ["one", "two"]
    assert stream.getvalue().rstrip().endswith(f"wrote 1 file to {tmp_path}")
    assert "[1/2]" not in stream.getvalue()  # not the plain lines
