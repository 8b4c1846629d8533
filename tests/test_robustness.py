"""Bad or extreme input: one clear line and exit 2, or an exact result; never a
traceback (issue 9). Expected counts are hand-derived."""

from __future__ import annotations

import json

import pytest

from mbcost import analyze
from mbcost.errors import SpecError
from mbcost.core.network import Network

BIG = int("9" * 309)  # a 309-digit channel count: far past a float (1.8e308)
BIG_SPEC = f"input 4x4x3\nconv 3x3x3x{BIG}\ngap\nfc {BIG}x10\n"


def no_traceback(res, code=0):
    assert "Traceback" not in res.stderr, res.stderr
    assert res.returncode == code, res.stderr


@pytest.mark.parametrize("args", [
    ["table"], ["table", "--format", "json"], ["table", "--format", "csv", "--by-type", "--memory"],
    ["table", "--format", "markdown", "--formula"], ["table", "--format", "latex"], ["compare", "SPEC", "mobilenet"],
    ["compare", "SPEC", "mobilenet", "--format", "json"], ["sweep", "SPEC", "--alpha", "1,0.5", "--res", "4,8"],
    ["table", "--memory", "--res", "64"], ["table", "--memory", "--res", "64", "--format", "csv"],
    ["table", "--memory", "--res", "64", "--format", "json"],
])
def test_a_309_digit_channel_count_is_counted_exactly(cli, tmp_path, args):
    spec = tmp_path / "big.spec"
    spec.write_text(BIG_SPEC, encoding="utf-8")
    args = [str(spec) if a == "SPEC" else a for a in args]
    if args[0] == "table":
        args.insert(1, str(spec))
    res = cli(*args)
    no_traceback(res)
    if args[0] == "table" and "json" in args:
        total = json.loads(res.stdout)["total"]
        # conv 3·3·3·N at 4x4 (or --res 64: 64x64; 'same'), FC N·10; weights 27N + 10N
        side = 64 if "--res" in args else 4
        assert total["mult_adds"] == 3 * 3 * 3 * BIG * side * side + BIG * 10
        assert total["params"] == 27 * BIG + 10 * BIG


@pytest.mark.parametrize("args", [
    ["table", "--alpha", "1e200"], ["table", "--alpha", "1e200", "--memory", "--format", "json"],
    ["table", "--res", "1" + "0" * 159], ["compare", "vgg16", "mobilenet:alpha=1e200"],
    ["compare", "mobilenet", "--alpha", "1e200", "--format", "json"], ["sweep", "--alpha", "1e200"],
])
def test_huge_but_valid_settings(cli, args):
    res = cli(*args)
    no_traceback(res)
    if "json" in args:
        json.loads(res.stdout)  # valid JSON: no Infinity


def test_alpha_1e200_totals_stay_exact():
    a = analyze("mobilenet_v1", alpha="1e200")
    assert a.layers[0].output.c == 32 * 10**200  # int(1e200 · 32), exact decimal
    assert a.total.mult_adds == sum(r.mult_adds for r in a.layers)


@pytest.mark.parametrize("text,where", [
    ("input 8x8x4\nconv 3x3x4x4 groups=\u00b2\n", (2, 14)),
    ("input 8x8x4\nconv 3x3x\u0663x4\n", (2, 10)),
    ("input 8x8x4\nblock b(s) { conv 1x1x?x{s} }\nb(s=\u00b2)\n", (3, 3)),
])
def test_non_ascii_digits_are_a_spec_error(text, where):
    with pytest.raises(SpecError) as info:
        Network.from_text(text, source="t.spec")
    assert (info.value.line, info.value.col) == where


def test_non_ascii_digit_on_the_command_line(cli):
    for args in (["table", "--res", "\u00b2"], ["check", "--res", "\u00b2"], ["sweep", "--res", "\u00b2"]):
        res = cli(*args)
        no_traceback(res, 2)
        assert len(res.stderr.strip().splitlines()) == 1


def test_a_byte_order_mark_is_accepted():
    (row,) = analyze(Network.from_text("\ufeffinput 8x8x3\nconv 3x3x3x4\n")).layers
    assert row.mult_adds == 3 * 3 * 3 * 4 * 8 * 8


@pytest.mark.parametrize("sep", ["\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x0b"])
def test_other_line_separators_do_not_shift_line_numbers(sep):
    # only \n, \r\n and \r end a line: an error on line 3 is reported on line 3
    text = f"input 8x8x3\n# a comment with {sep} inside\nconvx 3x3x3x4\n"
    with pytest.raises(SpecError) as info:
        Network.from_text(text, source="t.spec")
    assert info.value.line == 3 and "unknown layer type 'convx'" in info.value.message


def test_windows_and_old_mac_line_ends():
    for end in ("\r\n", "\r"):
        net = Network.from_text(end.join(["input 8x8x3", "conv 3x3x3x4", "relu"]) + end)
        assert [layer.name for layer in net.layers] == ["conv1", "relu1"]


def test_a_network_torch_cannot_represent_is_refused_by_name(cli, tmp_path):
    pytest.importorskip("torch")
    spec = tmp_path / "huge.spec"
    spec.write_text(f"input 4x4x3\nconv 3x3x3x{2 ** 62}\n", encoding="utf-8")
    for args in (["check", str(spec)], ["table", str(spec), "--check"]):
        res = cli(*args)
        no_traceback(res, 2)
        assert "layer conv1: its weights have" in res.stderr and "PyTorch tensor" in res.stderr


def test_profile_refuses_what_cannot_fit_in_memory(cli, tmp_path):
    pytest.importorskip("torch")
    spec = tmp_path / "wide.spec"
    spec.write_text("input 100000x100000x3\nconv 3x3x3x64\n", encoding="utf-8")
    res = cli("profile", str(spec))
    no_traceback(res, 2)
    assert "cannot be measured here" in res.stderr
