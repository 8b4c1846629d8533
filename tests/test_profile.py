"""``mbcost profile``: the structure of the measurement on a tiny network (every
layer timed, repetitions as asked, shares adding up). No test asserts a time."""

from __future__ import annotations

import io
import json

import pytest

torch = pytest.importorskip("torch")

from mbcost import analyze  # noqa: E402
from mbcost.adapters import profile as profile_mod  # noqa: E402
from mbcost.adapters.profile import Timing, _quantile, profile  # noqa: E402
from mbcost.errors import MbcostError  # noqa: E402
from mbcost.core.network import Network  # noqa: E402
from mbcost.documents.render import render_text  # noqa: E402
from mbcost.documents.views_profile import profile_document  # noqa: E402

# A chain, a residual and a concat, then a classifier: 10 rows.
TINY = """
model tiny
input 16x16x3
classes 10
conv / s2 3x3x3x8 +bn +relu
residual {
  dw 3x3x8 +bn +relu
  pw 8x8 +bn
}
concat {
  branch conv 1x1x8x8 +relu
  branch maxpool 3x3 pad=1
}
avgpool 8x8 global
fc 16x10
softmax
"""


@pytest.fixture(scope="module")
def tiny():
    return analyze(Network.from_text(TINY))


@pytest.fixture
def counted(monkeypatch):
    """Count the calls of every row's module during a profile."""
    calls: dict[str, int] = {}
    build = profile_mod.build_module

    def counting_build(instances, **kw):
        net = build(instances, **kw)
        for name, module in net.rows.items():
            calls[name] = 0

            def hook(_module, _args, _out, name=name):
                calls[name] += 1

            module.register_forward_hook(hook)
        return net

    monkeypatch.setattr(profile_mod, "build_module", counting_build)
    return calls


def test_every_layer_timed_with_the_repetitions_asked(tiny, counted):
    p = profile(tiny, budget=0, warmup=2, min_reps=3, max_reps=50, threads=1)
    assert [t.name for t in p.layers] == [r.name for r in tiny.layers]
    assert len(p.layers) == 10
    assert all(t.timing.reps == 3 and len(t.timing.samples) == 3 for t in p.layers)
    assert all(t.timing.warmup == 2 for t in p.layers)
    assert p.end_to_end is not None and p.end_to_end.reps == 3
    # each row: 1 capture run + (2 warm-up + 3 timed) alone + (2 + 3) end-to-end passes, then the end-to-end
    # figure under calibrate's protocol: 5 rounds of 1 warm-up and max(1, min_reps // 5) timed passes
    assert counted == {r.name: 1 + 5 + 5 + 5 * (1 + 1) for r in tiny.layers}
    assert p.whole is not None and len(p.whole.rounds) == 5 and p.whole.spread >= 0
    assert all(t.time >= 0 and t.timing.iqr >= 0 for t in p.layers)


def test_max_reps_caps_a_large_budget(tiny, counted):
    p = profile(tiny, budget=30.0, warmup=1, min_reps=2, max_reps=4, end_to_end=False)
    assert all(t.timing.reps == 4 for t in p.layers)
    assert p.end_to_end is None
    assert counted == {r.name: 1 + 1 + 4 for r in tiny.layers}


def test_in_context_times_every_row_inside_whole_passes(tiny, counted):
    p = profile(tiny, method="in-context", budget=0, warmup=1, min_reps=3, max_reps=50)
    assert p.method == "in-context"
    assert [t.name for t in p.layers] == [r.name for r in tiny.layers]
    assert {t.timing.reps for t in p.layers} == {3}
    # each row: (1 warm-up + 3 timed) passes + (1 + 3) end-to-end passes, + 5 rounds of (1 warm-up + 1) passes
    # for the protocol's end-to-end figure; no capture run
    assert counted == {r.name: 4 + 4 + 5 * 2 for r in tiny.layers}
    assert sum(s.time_pct for s in p.by_type()) == pytest.approx(100.0)
    with pytest.raises(MbcostError, match="unknown timing method"):
        profile(tiny, method="guess")


def test_shares_sum_to_100_and_types_cover_the_rows(tiny):
    p = profile(tiny, budget=0, warmup=1, min_reps=3, max_reps=3)
    shares = p.by_type()
    assert sum(s.time_pct for s in shares) == pytest.approx(100.0)
    assert sum(s.mult_adds_pct for s in shares) == pytest.approx(100.0)
    assert sum(s.layers for s in shares) == len(tiny.layers)
    assert sum(s.mult_adds for s in shares) == tiny.total.mult_adds
    assert {s.category for s in shares} == {r.category for r in tiny.layers}
    assert sum(p.time_pct(t) for t in p.layers) == pytest.approx(100.0)
    assert p.layer_sum == pytest.approx(sum(s.time for s in shares))
    # the memory report rides along (fp32, batch 1)
    assert p.memory.peak_bytes > 0 and [m.name for m in p.memory.layers] == [t.name for t in p.layers]


def test_batch_scales_the_mult_adds(tiny):
    p = profile(tiny, batch=3, budget=0, warmup=0, min_reps=1, max_reps=1, end_to_end=False)
    assert p.mult_adds == 3 * tiny.total.mult_adds
    assert p.memory.batch == 3 and p.memory.input_bytes == 3 * 4 * 16 * 16 * 3


def test_threads_are_set_and_restored(tiny):
    before = torch.get_num_threads()  # 1 under the suite (conftest): start from 2, so restoring shows
    torch.set_num_threads(2)
    try:
        p = profile(tiny, threads=1, budget=0, warmup=0, min_reps=1, max_reps=1, end_to_end=False)
        assert p.threads == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_bad_settings_are_user_errors(tiny):
    for kw in ({"batch": 0}, {"threads": 0}, {"min_reps": 0}, {"budget": -1}, {"device": "tpu"}):
        with pytest.raises(MbcostError):
            profile(tiny, **kw)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_user_error(tiny):
    with pytest.raises(MbcostError, match="^no CUDA device: "):
        profile(tiny, device="cuda")


def test_timing_statistics():
    t = Timing((4.0, 1.0, 3.0, 2.0, 100.0), warmup=0)
    assert t.reps == 5 and t.median == 3.0
    assert (t.q1, t.q3, t.iqr) == (2.0, 4.0, 2.0)  # linear interpolation, as numpy's default
    assert _quantile([1.0, 2.0], 0.25) == 1.25


def test_document_in_every_format(tiny):
    p = profile(tiny, budget=0, warmup=1, min_reps=3, max_reps=3)
    doc = profile_document(p)
    assert [t.title for t in doc.tables] == ["By layer type", "Per layer", "Memory"]
    assert [row[0] for row in doc.tables[1].rows] == [r.name for r in tiny.layers]
    assert all(row[9] == 3 for row in doc.tables[1].rows)  # Reps
    for fmt in ("rich", "csv", "json", "markdown", "latex"):
        assert render_text(doc, fmt)
    data = json.loads(render_text(doc, "json"))
    assert len(data["layers"]) == 10 and data["end_to_end"]["reps"] == 3
    assert sum(s["time_pct"] for s in data["by_type"]) == pytest.approx(100.0)
    assert data["memory"]["peak_activation_bytes"] == p.memory.peak_bytes
    rows = list(__import__("csv").DictReader(io.StringIO(render_text(doc, "csv"))))  # one row per layer
    assert [r["name"] for r in rows] == [r.name for r in tiny.layers]
    assert all(r["reps"] == "3" for r in rows) and sum(int(r["mult_adds"]) for r in rows) == p.mult_adds


def test_cli_profile_json(cli, tmp_path):
    spec = tmp_path / "tiny.spec"
    spec.write_text(TINY, encoding="utf-8")
    out = cli("profile", str(spec), "--budget", "0", "--min-reps", "3", "--warmup", "1", "--threads", "1",
              "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["model"] == "tiny" and data["threads"] == 1 and data["device"] == "cpu"
    assert [l["name"] for l in data["layers"]] == [r.name for r in analyze(Network.from_text(TINY)).layers]
    assert {l["reps"] for l in data["layers"]} == {3}
    assert sum(s["mult_adds_pct"] for s in data["by_type"]) == pytest.approx(100.0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cli_cuda_without_a_gpu_exits_2_with_one_line(cli_here):
    out = cli_here("profile", "--device", "cuda")
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mbcost: error: no CUDA device: ")


def test_cli_bad_threads_exit_2(capsys):
    from mbcost.cli import main

    assert main(["profile", "--threads", "0"]) == 2
    import os

    assert capsys.readouterr().err == f"mbcost: error: --threads must be 1 to {os.cpu_count()} (this machine's CPUs), got 0\n"


def test_profile_figures_are_deterministic(tiny):
    pytest.importorskip("matplotlib")
    from mbcost.figures.plots import render
    from mbcost.figures.profile_plots import roofline_figure, timeshare_figure

    p = profile(tiny, budget=0, warmup=1, min_reps=3, max_reps=3)
    for make in (roofline_figure, timeshare_figure):
        first = render(make(profile=p), "svg")
        assert first == render(make(profile=p), "svg")
        assert b"<svg" in first
    with pytest.raises(MbcostError):
        roofline_figure("mobilenet_v1", profile=p)


def test_inconsistent_measurements_get_a_visible_warning(tiny):
    import dataclasses

    from mbcost.adapters.profile import Timing

    p = profile(tiny, budget=0, warmup=1, min_reps=3, max_reps=3)
    rows = [dataclasses.replace(t, timing=Timing((0.01,), 0)) for t in p.layers]  # 10 rows x 10 ms = 100 ms
    fine = dataclasses.replace(p, layers=rows, end_to_end=Timing((0.09,), 0))
    assert fine.inconsistency() == ""
    seen = dataclasses.replace(p, layers=rows, end_to_end=Timing((0.004,), 0))  # 100 ms of rows in a 4 ms pass
    problem = seen.inconsistency()
    assert "100.000 ms" in problem and "4.000 ms" in problem and "25.00x" in problem
    doc = profile_document(seen)
    assert doc.summary[0].startswith("WARNING: the rows' medians add up to 100.000 ms")
    pytest.importorskip("matplotlib")
    from mbcost.figures.profile_plots import timeshare_figure

    fig = timeshare_figure(profile=seen)
    (warning,) = [t for t in fig.texts if t.get_gid() == "warning"]
    assert warning.get_text().startswith("WARNING")
    # it covers neither the title nor the axes, and its advice names options 'plot' has
    from matplotlib.text import Text

    from mbcost.figures.plot_style import style

    with style():
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = Text.get_window_extent(warning, renderer)
    for other in [fig._suptitle] + [ax for ax in fig.axes] + fig.legends:
        assert not box.overlaps(other.get_window_extent(renderer))
    from mbcost.cli import app
    import typer

    plot_options = {o for p in typer.main.get_command(app).commands["plot"].params for o in p.opts}
    for option in ("--threads", "--budget", "--in-context"):
        assert option in problem and option in plot_options


@pytest.mark.parametrize("columns", [80, 120])
def test_the_columns_a_command_exists_for_stay_on_a_narrow_terminal(tiny, columns):
    """profile keeps % Time and GMAC/s (memory columns go first); check keeps its
    Verdict, per layer and across configurations."""
    from mbcost.attachments.check import check
    from mbcost.documents.render import terminal_text
    from mbcost.documents.views import check_document

    p = profile(tiny, budget=0, warmup=1, min_reps=3, max_reps=3)
    def left_out(text):
        return " ".join(line for line in text.splitlines() if line.startswith("left out"))

    text = terminal_text(profile_document(p), columns)
    assert "Time" in text.split("Per layer")[1].split("┡")[0]
    assert "% Time" not in left_out(text) and "GMAC/s" not in left_out(text)
    result = check([tiny.network], [1])
    for layers in (True, False):
        text = terminal_text(check_document(result, layers=layers), columns)
        assert "Verdict" in text and "Verdict" not in left_out(text)
        assert max(len(line) for line in text.splitlines()) <= columns
