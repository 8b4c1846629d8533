"""Predicted latency: a linear model per call kind, fitted to one machine's
timings of whole networks (pure Python: no torch, no numpy).

:mod:`mbcost.adapters.calibrate` measures and fits (:mod:`mbcost.attachments.latency_fit`);
this module stores, validates and explains the file, and predicts.

**What is predicted.** A network is the calls its forward pass makes
(:mod:`mbcost.attachments.latency_ops`: a spec's rows decomposed from their
shapes, a torch model's calls recorded from a trace), each of one call kind
(``pw``, ``dw``, ``bn``, ``act``, ``eltwise``, ``view``, ``module``...). A
call's time is linear in a few of its features (:data:`~mbcost.attachments.latency_ops.KIND_FEATURES`):
one coefficient per call (the kind's per-call overhead), per Mult-Add, per
element, per byte moved, per channel plane, per byte past the L2 cache. A row's
time is the sum of its calls'; a network's is ``scale`` times the sum of its
rows plus ``per_pass_s`` (the network's own call), the in-network correction.

**How it is fitted.** Synthetic networks (none of them a zoo network) are run
whole and each row is timed *inside* the pass (a timestamp after every row), so
the coefficients are what a call costs in a network: caches warm or cold as they
are there, per-call overhead included. Non-negative least squares over every
row of every network at once, each row's error weighted by its network's time
(a row is fitted for what it does to its network's total), on 4 of every 5
networks; the 5th are held out and the file says how the model did on them.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass, field

from mbcost.attachments.latency_ops import CALL_KINDS, KIND_FEATURES, Call
from mbcost.errors import MbcostError, input_file
from mbcost.numbers import shown

FORMAT = "mbcost-latency"
VERSION = 2

#: each feature's unit, for --explain
UNITS = {"calls": "call", "mult_adds": "MAC", "elements": "element", "bytes": "B", "planes": "plane",
         "spill": "B past L2"}


def seconds_text(seconds: float) -> str:
    """``72.5 µs``, ``17 ns``, ``5.39 ps``: three significant digits in the unit that keeps 1 to 999."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9), ("ps", 1e-12)):
        if seconds >= scale or unit == "ps":
            return f"{seconds / scale:.3g} {unit}"
    return "0 s"  # pragma: no cover
#: what each call kind is, for --explain
KIND_TEXT = {"pw": "1x1 convolution", "conv": "k x k convolution", "dw": "depthwise convolution",
             "group": "grouped convolution", "fc": "fully connected (linear)", "matmul": "matrix product",
             "bn": "batch norm", "norm": "layer or group norm", "act": "ReLU / ReLU6 / clamp",
             "act_math": "h-swish, h-sigmoid, SiLU, sigmoid, GELU, softmax", "eltwise": "add, multiply",
             "pool": "pooling windows", "gpool": "global pooling", "copy": "concatenation, padding, copying reshape",
             "view": "view or reshape (no data moved)", "module": "an nn.Module call (Python)",
             "other": "any other torch function"}


@dataclass
class Calibration:
    """A machine's latency model (what ``mbcost calibrate`` writes)."""

    machine: str
    runtime: str
    threads: int
    versions: dict
    #: seconds per unit of each feature, per call kind (only the kinds the fit saw)
    coef: dict[str, dict[str, float]]
    l2_bytes: int = 1 << 20
    clock: str = "cpu"
    #: {"scale", "per_pass_s"}: network = scale * sum(rows) + per_pass_s
    correction: dict = field(default_factory=lambda: {"scale": 1.0, "per_pass_s": 0.0})
    #: how the fit did: {"networks", "rows", "fitted": {...}, "heldout": {...}, "by_kind": {...}}
    fit: dict = field(default_factory=dict)
    #: every network the fit used or held out: {"name", "batch", "mult_adds", "measured_ms", "spread", "role"}
    networks: list = field(default_factory=list)
    #: the configurations calibrate --validate times (none of them fitted)
    validation: list = field(default_factory=list)
    bandwidth_bytes_per_s: float | None = None
    #: the peak MAC rate (a large 1x1 convolution): with the bandwidth, this machine's
    #: ridge point for the roofline (mbcost.attachments.roofline); None in older files
    peak_macs_per_s: float | None = None
    created: str = ""
    seconds_spent: float = 0.0
    source: str = ""

    @property
    def ridge_point(self) -> float | None:
        """PeakMACs / PeakMemBW in MACs per byte, where both were measured."""
        if self.peak_macs_per_s and self.bandwidth_bytes_per_s:
            return self.peak_macs_per_s / self.bandwidth_bytes_per_s
        return None

    def call_seconds(self, call: Call) -> float:
        """One call's predicted seconds (alone: before the in-network correction)."""
        model = self.coef.get(call.kind)
        if model is None:
            raise MbcostError(f"{self.source or 'the calibration'} has no model for {call.kind} calls "
                              f"({KIND_TEXT.get(call.kind, call.kind)}): the networks it was fitted on had none, "
                              "so their time cannot be predicted (calibrate again with a newer mbcost)")
        values = call.features(self.l2_bytes)
        try:
            seconds = sum(c * values[f] for f, c in model.items())
        except OverflowError:
            seconds = math.inf
        if not math.isfinite(seconds):
            raise MbcostError(f"a {call.kind} call of this network is too large to predict a time for (its counts"
                              " pass what a float holds)")
        return seconds

    def row_seconds(self, calls: list[Call]) -> float:
        """A row's predicted seconds in a network (the correction's scale applied)."""
        return float(self.correction.get("scale", 1.0)) * sum(self.call_seconds(c) for c in calls)

    @property
    def per_pass_s(self) -> float:
        return float(self.correction.get("per_pass_s", 0.0))

    def to_dict(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION, "machine": self.machine, "runtime": self.runtime,
            "threads": self.threads, "versions": self.versions, "created": self.created,
            "seconds_spent": round(self.seconds_spent, 3), "clock": self.clock, "l2_bytes": self.l2_bytes,
            "bandwidth_bytes_per_s": self.bandwidth_bytes_per_s, "peak_macs_per_s": self.peak_macs_per_s,
            "ridge_point_macs_per_byte": self.ridge_point,
            "model": "call = sum over its kind's features of coef * feature; row = scale * sum(calls); "
                     "network = sum(rows) + per_pass_s",
            "coef": self.coef, "correction": self.correction, "fit": self.fit,
            "networks": self.networks, "validation": self.validation,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=False, allow_nan=False) + "\n"


def load_calibration(path: str, runtime: str | None = None, threads: int | None = None) -> Calibration:
    """A calibration file, validated; refused when made for another runtime or
    thread count than the one asked for."""
    data = read_calibration_json(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise MbcostError(f"{path}: not an mbcost calibration file (made by 'mbcost calibrate')")
    if data.get("version") != VERSION:
        raise MbcostError(f"{path}: calibration format version {shown(data.get('version'))}; this mbcost reads"
                          f" version {VERSION} (calibrate again)")
    check_schema(data, path)
    run, nthreads = data["runtime"], data["threads"]
    if runtime is not None and runtime != run:
        raise MbcostError(f"{path} was calibrated with {run}, not {runtime}: calibrate with --runtime {runtime}")
    if threads is not None and threads != nthreads:
        raise MbcostError(f"{path} was calibrated with {nthreads} thread(s), not {threads}: calibrate with "
                          f"--threads {threads}")
    coef = {kind: {f: float(v) for f, v in model.items()} for kind, model in data["coef"].items()}
    for kind, model in coef.items():
        if not set(model) <= set(KIND_FEATURES[kind]):
            extra = sorted(set(model) - set(KIND_FEATURES[kind]))
            raise MbcostError(f"{path}: the model for {kind} calls has features it does not take: {', '.join(extra)}")
    return Calibration(machine=str(data.get("machine", "")), runtime=run, threads=nthreads,
                       versions=dict(data.get("versions") or {}), coef=coef, l2_bytes=int(data["l2_bytes"]),
                       clock=str(data.get("clock", "wall")), correction=dict(data["correction"]),
                       fit=dict(data.get("fit") or {}), networks=list(data.get("networks") or []),
                       validation=list(data.get("validation") or []),
                       bandwidth_bytes_per_s=_positive(data.get("bandwidth_bytes_per_s"), "bandwidth_bytes_per_s", path),
                       peak_macs_per_s=_positive(data.get("peak_macs_per_s"), "peak_macs_per_s", path),
                       created=str(data.get("created", "")), seconds_spent=float(data.get("seconds_spent") or 0),
                       source=str(path))


def read_calibration_json(path: str):
    """The JSON of a calibration file: its size and nesting bounded before it is
    parsed, and every number finite (``Infinity``, ``NaN``, ``1e400`` and
    integers of more than 30 digits are refused while parsing)."""
    from mbcost.attachments.calibration_schema import MAX_BYTES, MAX_NESTING

    file = input_file(path, "calibration file")
    try:
        with file.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise MbcostError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise MbcostError(f"{path}: a calibration file is at most {MAX_BYTES // 2**20} MiB; this one is larger")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MbcostError(f"{path}: not a calibration file (not UTF-8 text)") from None
    depth = _nesting(text)
    if depth > MAX_NESTING:
        raise MbcostError(f"{path}: not a calibration file (arrays and objects nest {depth:,} deep; at most"
                          f" {MAX_NESTING})")
    try:
        return json.loads(text, parse_constant=_not_finite, parse_float=_finite, parse_int=_short_int)
    except json.JSONDecodeError as exc:
        raise MbcostError(f"{path}: not a calibration file (not JSON: {exc.msg} at line {exc.lineno})") from None
    except ValueError as exc:
        raise MbcostError(f"{path}: not a valid calibration file ({exc})") from None


_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # unrolled: one step per run of plain characters
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_OPENS = bytes.maketrans(b"[{]}", b"\x01\x01\x00\x00")


def _nesting(text: str) -> int:
    """How deeply arrays and objects nest in JSON ``text`` (strings skipped),
    without parsing (the parser's recursion is what is bounded): the brackets
    alone, as 1 (open) and 0 (close); after the i-th of them the depth is
    2 · (opens so far) - i. C-level iterators: 16 MiB in well under a second."""
    import itertools
    import operator

    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text)).encode("ascii").translate(_OPENS)
    if not brackets:
        return 0
    doubled = map(operator.mul, itertools.accumulate(brackets), itertools.repeat(2))
    return max(map(operator.sub, doubled, itertools.count(1)))


def _not_finite(name: str):
    raise ValueError(f"{name} is not a number JSON allows; every number must be finite")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{shown(text)} is not a finite number")
    return value


def _short_int(text: str) -> int:
    if len(text.lstrip("-")) > 30:
        raise ValueError(f"a whole number of {len(text):,} digits (at most 30)")
    return int(text)


def check_schema(data, path: str) -> None:
    """``data`` against the calibration schema (jsonschema); one line naming the
    first place that does not fit."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    from mbcost.attachments.calibration_schema import SCHEMA

    error = best_match(Draft202012Validator(SCHEMA).iter_errors(data))
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        where = where if len(where) <= 100 else where[:100] + "…"
        message = error.message if len(error.message) <= 200 else error.message[:200] + "…"
        raise MbcostError(f"{path}: not a valid calibration file: {where or 'the top level'}: {message}")


def _positive(value, key: str, path) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise MbcostError(f"{path}: '{key}' must be a positive number")
    return float(value)



def errors_summary(pairs: list[tuple[float, float]]) -> dict:
    """{"count", "median_error", "worst_error", "mean_signed_error"} of (predicted, measured) pairs."""
    if not pairs:
        return {}
    signed = [(p - m) / m for p, m in pairs]
    errs = sorted(abs(e) for e in signed)
    return {"count": len(pairs), "median_error": statistics.median(errs), "worst_error": errs[-1],
            "mean_signed_error": statistics.fmean(signed)}


# -- prediction --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LatencyPrediction:
    """The one prediction type: a calibration's predicted seconds for every row of a
    table, in the network (the in-network correction applied), for a pass of
    ``batch`` images, and the network's own call (``outside_s``: its forward
    method, and any calls a torch model makes outside its rows). ``table
    --latency`` shows it per row, ``compare``, ``sweep`` and ``pick`` its total."""

    calibration: Calibration
    seconds: tuple[float, ...]
    batch: int = 1
    outside_s: float = 0.0

    @property
    def total_ms(self) -> float:
        return 1e3 * (sum(self.seconds) + self.outside_s)


def predict_calls(rows: list[list[Call]], calibration: Calibration, batch: int = 1,
                  outside: list[Call] = ()) -> LatencyPrediction:
    """The prediction of a network given as its rows' calls (and those outside every row)."""
    seconds = tuple(calibration.row_seconds(calls) for calls in rows)
    extra = calibration.row_seconds(list(outside)) if outside else 0.0
    return LatencyPrediction(calibration, seconds, batch, calibration.per_pass_s + extra)


def predict_latency(table, calibration: Calibration, batch: int = 1) -> LatencyPrediction:
    """The :class:`LatencyPrediction` of a table (``table --latency``): a spec's rows
    decomposed into their calls; a torch model's calls recorded from a trace."""
    if getattr(table, "instances", None) is None:
        if getattr(table, "module", None) is None:
            raise MbcostError("latency is predicted for specs and torch models")
        from mbcost.adapters.latency_trace import torch_calls

        rows, outside = torch_calls(table, batch)
        return predict_calls(rows, calibration, batch, outside)
    from mbcost.attachments.latency_ops import network_calls

    return predict_calls(network_calls(table, batch), calibration, batch)


#: Most configurations one command predicts a latency for: each is one evaluation
#: of the network (1 to 3 ms for the zoo's), so this bounds the wait to about a minute.
MAX_PREDICTED = 20_000


def total_ms(analysis, calibration: Calibration, batch: int = 1) -> float:
    """A spec analysis's predicted milliseconds for a pass of ``batch`` images:
    the total ``table --latency`` shows."""
    return predict_latency(analysis, calibration, batch).total_ms


def network_ms(network, config, calibration: Calibration) -> float:
    """The predicted milliseconds of ``network`` (a spec's
    :class:`~mbcost.core.network.Network`) at ``config``."""
    from mbcost.results.tables import Analysis

    return total_ms(Analysis(network, config, network.evaluate(config)), calibration)


def check_predictable(configurations: int, what: str = "the grid") -> None:
    """Refuse, before any work, to predict more than :data:`MAX_PREDICTED` configurations."""
    if configurations > MAX_PREDICTED:
        raise MbcostError(f"--latency predicts each configuration on its own: {what} has {configurations:,} "
                          f"(at most {MAX_PREDICTED:,} with --latency): use a coarser step or a narrower range")


def batch_caveat(calibration: Calibration, batch: int) -> str:
    """For a prediction at a batch above 1: what the fit saw of batches."""
    if batch == 1:
        return ""
    seen = sorted({int(n.get("batch", 1)) for n in calibration.networks if isinstance(n, dict)})
    if batch in seen or (seen and seen[0] <= batch <= seen[-1]):
        return ""
    return (f"batch {batch}: the calibration's networks were timed at batches {', '.join(map(str, seen))}; "
            "a batch outside them is extrapolated")


def describe(calibration: Calibration, batch: int = 1) -> str:
    """Where a prediction comes from, for a document's settings."""
    threads = f"{calibration.threads} thread{'s' if calibration.threads != 1 else ''}"
    return (f"latency: predicted from {calibration.source or 'a calibration'} ({calibration.machine} · "
            f"{calibration.runtime} · {threads} · batch {batch}), not measured")


def heldout_text(calibration: Calibration) -> str:
    """How the file's model did on the networks it held out, in words."""
    held = (calibration.fit or {}).get("heldout") or {}
    if not held.get("count"):
        return ""
    return (f"on {held['count']} held-out synthetic networks: median |error| {100 * held['median_error']:.1f}%, "
            f"worst {100 * held['worst_error']:.1f}%")


def explain(calibration: Calibration) -> list[tuple[str, str, str]]:
    """(kind, what it is, its model in words) for every call kind of the file: ``calibrate --explain``."""
    out = []
    for kind in CALL_KINDS:
        model = calibration.coef.get(kind)
        if model is None:
            out.append((kind, KIND_TEXT[kind], "not fitted (the calibration's networks had none): refused"))
            continue
        terms = []
        alone = ((calibration.fit or {}).get("measured_call_overheads_s") or {}).get(kind)
        for feature in KIND_FEATURES[kind]:
            value = model.get(feature, 0.0)
            if value:
                measured = (f" ({seconds_text(alone)} alone)" if feature == "calls" and isinstance(alone, (int, float))
                            else "")
                terms.append(f"{seconds_text(value)}/{UNITS[feature]}{measured}")
        out.append((kind, KIND_TEXT[kind], " + ".join(terms) if terms else "0 (every coefficient fitted to 0)"))
    return out


def calls_features_total(calls: list[Call], l2_bytes: int) -> dict[str, float]:
    """Σ of each (kind, feature) over ``calls``: the fit's design row (``kind:feature`` keys)."""
    total: dict[str, float] = {}
    for call in calls:
        values = call.features(l2_bytes)
        for feature in KIND_FEATURES[call.kind]:
            key = f"{call.kind}:{feature}"
            total[key] = total.get(key, 0.0) + values[feature]
    return total
