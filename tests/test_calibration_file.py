"""Issue 22: a calibration file is validated against its schema before use:
tampered files give one line (never a traceback), numbers are finite, size and
nesting are bounded before parsing; every JSON the tool prints is strict."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mbcost.attachments.calibration_schema import MAX_BYTES, MAX_NESTING
from mbcost.attachments.latency import load_calibration as load
from mbcost.documents.render import strict_json
from mbcost.errors import MbcostError


def valid() -> dict:
    from toy_calibration import toy

    return toy(correction={"scale": 1.2, "per_pass_s": 1e-6}).to_dict()


def write(tmp_path, text: str):
    path = tmp_path / "cal.json"
    path.write_text(text, encoding="utf-8")
    return str(path)


def refused(tmp_path, text: str, match: str):
    with pytest.raises(MbcostError, match=match) as info:
        load(write(tmp_path, text))
    assert "\n" not in str(info.value) and len(str(info.value)) < 400
    return str(info.value)


def test_a_valid_file_loads(tmp_path):
    cal = load(write(tmp_path, json.dumps(valid())))
    assert cal.coef["pw"] == {"calls": 1e-5, "mult_adds": 1e-10} and cal.correction["scale"] == 1.2


@pytest.mark.parametrize("change,match", [
    ({"versions": 5}, r"versions: 5 is not of type 'object'"),
    ({"threads": "1"}, r"threads: '1' is not of type 'integer'"),
    ({"threads": 10**25}, r"threads: .* is greater than the maximum of 4096"),
    ({"threads": True}, r"threads: True is not of type 'integer'"),
    ({"machine": ["x"]}, r"machine: \['x'\] is not of type 'string'"),
    ({"correction": {"scale": "1", "per_pass_s": 0}}, r"correction.scale: '1' is not of type 'number'"),
    ({"correction": {"scale": -1, "per_pass_s": 0}}, r"correction.scale: -1 is less than the minimum of 0"),
    ({"correction": {"scale": 1}}, r"correction: 'per_pass_s' is a required property"),
    ({"l2_bytes": 0}, r"l2_bytes: 0 is less than the minimum of 1024"),
    ({"clock": "sundial"}, r"clock: 'sundial' is not one of"),
    ({"bandwidth_bytes_per_s": -1}, r"bandwidth_bytes_per_s"),
])
def test_tampered_fields_name_where(tmp_path, change, match):
    data = valid()
    data.update(change)
    refused(tmp_path, json.dumps(data), match)


@pytest.mark.parametrize("model,match", [
    ({"calls": 1e308}, r"coef.pw.calls: 1e\+308 is greater than the maximum of 3600"),
    ({"mult_adds": 2}, r"coef.pw.mult_adds: 2 is greater than the maximum of 1"),
    ({"mult_adds": -1e-9}, r"coef.pw.mult_adds: -1e-09 is less than the minimum of 0"),
    ({"calls": "0"}, r"coef.pw.calls: '0' is not of type 'number'"),
    ({"elements": 1e-9}, r"coef.pw: Additional properties are not allowed \('elements' was unexpected\)"),
    ([0, 0], r"coef.pw: \[0, 0\] is not of type 'object'"),
])
def test_coefficients_are_finite_and_in_range(tmp_path, model, match):
    data = valid()
    data["coef"]["pw"] = model
    refused(tmp_path, json.dumps(data), match)


def test_an_unknown_call_kind_is_refused(tmp_path):
    data = valid()
    data["coef"]["tconv"] = {"calls": 1e-5}
    refused(tmp_path, json.dumps(data), r"coef: Additional properties are not allowed \('tconv' was unexpected\)")


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN", "1e400"])
def test_non_finite_numbers_are_refused_while_parsing(tmp_path, literal):
    text = json.dumps(valid()).replace('"seconds_spent": 0.0', f'"seconds_spent": {literal}')
    assert literal in text
    refused(tmp_path, text, "finite")


def test_huge_integers_deep_nesting_and_big_files_are_refused_before_parsing(tmp_path):
    text = json.dumps(valid())
    refused(tmp_path, text.replace('"threads": 1', '"threads": ' + "9" * 5000), "5,000 digits")
    deep = "[" * 100_000 + "]" * 100_000
    refused(tmp_path, text.replace('"versions": {"torch": "x"}', f'"versions": {deep}'),
            f"nest 100,001 deep; at most {MAX_NESTING}")
    refused(tmp_path, " " * (MAX_BYTES + 1), f"at most {MAX_BYTES // 2**20} MiB")
    refused(tmp_path, '{"format": "mbcost-latency", "version": "' + "v" * 10_000 + '"}', "version 'vvvv")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**40, 10**40) | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["threads", "runtime", "coef", "correction", "versions", "fit", "networks", "l2_bytes",
                            "clock", "format", "version"]),
       value=JSON_VALUES)
def test_any_tampered_field_loads_or_gives_one_line(tmp_path, key, value):
    data = valid()
    data[key] = value
    path = write(tmp_path, json.dumps(data, allow_nan=True))
    try:
        cal = load(path)
    except MbcostError as exc:
        assert "\n" not in str(exc)
    else:  # whatever loads predicts finite times
        from mbcost.attachments.latency_ops import Call

        for kind in cal.coef:
            assert 0 <= cal.call_seconds(Call(kind, 10**6, 10**4, 10**6, 10**3)) < 1e9


def test_printed_json_is_strict():
    assert strict_json({"a": [1.5, 2]}) == '{\n  "a": [\n    1.5,\n    2\n  ]\n}\n'
    with pytest.raises(MbcostError, match=r"a\[1\].b is not a finite number"):
        strict_json({"a": [1, {"b": float("inf")}]})
