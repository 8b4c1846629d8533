"""Issue 22: every option has a stated range, checked before any work: the
issue's reproducers give one line and exit 2 (in process, nothing measured)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mbcost import options
from mbcost.cli import main
from mbcost.errors import MbcostError

D5000 = "9" * 5000
CPUS = os.cpu_count()


@pytest.mark.parametrize("args,message", [
    (["sweep", "--res", D5000], "resolution must be a number, got '9999"),
    (["pick", "--max-madds", D5000], "--max-madds must be a count like"),
    (["sweep", "--alpha", "1e400"], "alpha must be at most 1e+300"),
    (["sweep", "--alpha", "nan"], "alpha must be a number"),
    (["plot", "layers", "--alpha", "1e308", "-o", "x.png"], "--alpha must be at most 1,000"),
    (["table", "--alpha", "inf"], "alpha must be a finite number"),
    (["table", "--rho", "nan"], "rho must be a finite number"),
    (["table", "--depth-mult", "1e400"], "the depth multiplier must be a finite number"),
    (["calibrate", "--threads", "99999", "-o", "c.json"], f"--threads must be 1 to {CPUS} (this machine's CPUs)"),
    (["calibrate", "--budget", "inf", "-o", "c.json"], "--budget must be a number of seconds above 0 to 86,400"),
    (["calibrate", "--budget", "nan", "-o", "c.json"], "got nan"),
    (["calibrate", "--budget", "0", "-o", "c.json"], "got 0"),
    (["profile", "--min-reps", "99999999999"], "--min-reps must be 1 to 10,000, got 99,999,999,999"),
    (["profile", "--warmup", "-1"], "--warmup must be 0 to 10,000"),
    (["profile", "--budget", "1e9"], "--budget must be a number of seconds from 0 to 86,400 (a day), got 1e+09"),
    (["profile", "--batch", "0"], "--batch must be 1 to 65,536"),
    (["table", "--latency", "x.json", "--batch", "100000"], "--batch must be 1 to 65,536"),
    (["table", "--res", "9" * 4000], "resolution has 4,000 digits; at most 400"),
    (["table", "--torch", "x" * 100_000], "is longer than 1,000 characters"),
    (["roofline", "mobilenet_v1", "--ridge", "1e400"], "each number must be at most 1e+300"),
    (["roofline", "mobilenet_v1", "--ridge", "9" * 5000], "(5,000 characters) is not a number"),
    (["roofline", "mobilenet_v1", "--hardware", "1e300,1e-300"], "the ridge point (peak / bandwidth) must be at"),
    (["table", "--roofline", "1e308"], "each number must be at most 1e+300"),
    (["roofline", "mobilenet_v1", "--ridge", "0.25:1:0.05", "--alpha", "1e300", "--format", "markdown"],
     "the roofline costs of this network pass what a float holds"),
    (["export", "--torch", "m:f(" + "-" * 5000 + "1)", "-o", "x.spec"], "is longer than 1,000 characters"),
    (["table", "--torch", "m:f(" + "-" * 900 + "1)"], "the arguments must be Python literals"),
    (["table", "--classes", "9" * 4000], "classes has 4,000 digits; at most 400"),
    (["table", "--min-depth", "9" * 4000], "minimum depth has 4,000 digits; at most 400"),
    (["layer", "--m", "9" * 4000, "--n", "9" * 4000, "--df", "1"], "m has 4,000 digits; at most 400"),
    (["plot", "layers", "--dpi", "9" * 4000, "-o", "x.png"], "--dpi of 4000 digits: choose 50 to 1200"),
])
def test_out_of_range_options_are_one_line(capsys, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mbcost: error: ") and message in err, err
    assert not (tmp_path / "c.json").exists() and not (tmp_path / "x.png").exists()


def test_time_budgets_are_finite():
    from mbcost.results.pick import parse_time

    for text in (D5000 + "ms", "1e999s", "inf", "0ms"):
        with pytest.raises(MbcostError, match="--max-latency must be a positive time"):
            parse_time(text)
    assert parse_time("5ms") == 0.005


def test_plot_sizes_the_option_accepts_render_or_say_too_small(tmp_path):
    pytest.importorskip("matplotlib")
    from mbcost.figures.plots import plot

    with pytest.raises(MbcostError, match=r"--size 12x3: too small .* needs at least \d\.\d inches of height"):
        plot("tradeoff", str(tmp_path / "t.svg"), size="12x3")
    with pytest.raises(MbcostError, match=r"--size 5x3: too small .* needs at least 11 inches of width"):
        plot("tradeoff", str(tmp_path / "t.svg"), size="5x3")  # the size: two panels side by side
    assert not (tmp_path / "t.svg").exists()


@settings(max_examples=25, deadline=None, derandomize=True)
@given(value=st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=True, allow_infinity=True),
                       st.text(alphabet="0123456789.e+-x /infa", max_size=30)))
def test_every_validator_returns_in_range_or_refuses(value):
    checks = [
        (lambda v: options.threads(v), lambda r: 1 <= r <= options.cpu_count()),
        (lambda v: options.budget(v), lambda r: 0 < r <= options.MAX_BUDGET_S),
        (lambda v: options.repetitions(v), lambda r: 1 <= r <= options.MAX_REPS),
        (lambda v: options.batch(v), lambda r: 1 <= r <= options.MAX_BATCH),
        (lambda v: options.scale(v, "alpha"), lambda r: 0 < r <= 10**300),
        (lambda v: options.drawn_alpha(v), lambda r: 0 < r <= options.MAX_DRAWN_ALPHA),
    ]
    for check, ok in checks:
        try:
            result = check(value)
        except MbcostError as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 300
        except TypeError:
            assert isinstance(value, str)  # a whole-number option is given an int by typer, never text
        else:
            assert ok(result), (value, result)
