"""Predicted latency: a per-kind model fitted to one machine's micro-benchmarks.

Pure Python (no torch, no numpy): :mod:`mbcost.adapters.calibrate` measures,
this module fits, stores, validates the file and predicts.

**Features of a row** (:func:`row_features`), from the spec's own analysis:

* ``mult_adds``: the row's convolution and fully connected Mult-Adds;
* ``other``: its other work, one per element of batch norm, pooling windows
  and activations (the counting groups bn, pool, act);
* ``bytes``: what it must move at least once at fp32: its parameters, its
  inputs and its output (:mod:`mbcost.attachments.memory`).

**Kinds** (:func:`kind_of`): ``pw`` (1×1 convolutions), ``conv`` (standard k×k),
``dw`` (depthwise), ``group``, ``fc``, ``pool`` (windows), ``gpool`` (global),
``se``, ``other`` (batch norm, activations, additions, concatenations, reshapes).

**Two forms per kind**, both fitted by least squares on relative error (times
span four orders of magnitude), coefficients constrained to be >= 0:

* ``linear``: t = c0 + c1·mult_adds + c2·other + c3·bytes;
* ``roofline``: t = c0 + max(c1·mult_adds, c3·bytes) + c2·other (compute- or
  memory-bound, whichever is slower).

The form with the smaller error on the kind's held-out shapes is kept, and the
file says which, with that error.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass, field
from itertools import combinations

from mbcost.errors import MbcostError, input_file
from mbcost.numbers import shown

FORMAT = "mbcost-latency"
VERSION = 1
FEATURES = ("mult_adds", "other", "bytes")
KINDS = ("pw", "conv", "dw", "group", "fc", "pool", "gpool", "se", "other")
FORMS = ("linear", "roofline")
RUNTIMES = ("torch", "onnxruntime")


#: The latency kind of each layer kind (by the registry's kind id, never by display text); the
#: convolutions are split by grouping and kernel (kind_of); a kind not listed is ``other``.
LATENCY_KIND = {"fc": "fc", "se": "se", "avgpool": "pool", "maxpool": "pool", "gap": "pool", "gmp": "pool",
                "adaptive_avgpool": "pool", "adaptive_maxpool": "pool"}
CONV_KINDS = ("conv", "dw", "pw")


def kind_of(kind: str, grouping: str = "conv", kernel: tuple[int, int] | None = None,
            global_pool: bool = False) -> str:
    """A row's latency kind from its layer kind id (``LayerRow.kind``): a
    convolution by its grouping (``dw``, ``group``; one group: ``pw`` when 1×1,
    else ``conv``); a pool to 1 x 1 (``global_pool``) is ``gpool``. A kind this
    model was not fitted for (a transposed convolution, say) is ``other``, never
    a look-alike."""
    if kind in CONV_KINDS:
        if grouping != "conv":
            return grouping
        return "pw" if kernel == (1, 1) else "conv"
    latency_kind = LATENCY_KIND.get(kind, "other")
    return "gpool" if latency_kind == "pool" and global_pool else latency_kind


@dataclass(frozen=True)
class Sample:
    """One measured shape: its kind, features and median time (seconds)."""

    kind: str
    features: tuple[int, int, int]
    seconds: float
    label: str = ""
    batch: int = 1  # images per call (the features are the batch's)


# -- fitting ---------------------------------------------------------------------------------------------------

def _solve(rows: list[list[float]], target: list[float]) -> list[float] | None:
    """Least squares by the normal equations (Gaussian elimination with partial
    pivoting); None when singular."""
    n = len(rows[0])
    a = [[sum(r[i] * r[j] for r in rows) for j in range(n)] + [sum(r[i] * t for r, t in zip(rows, target))]
         for i in range(n)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-300:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(n):
            if r != col and a[r][col]:
                f = a[r][col] / a[col][col]
                a[r] = [x - f * y for x, y in zip(a[r], a[col])]
    return [a[i][n] / a[i][i] for i in range(n)]


def nnls_relative(xs: list[tuple[float, ...]], ts: list[float]) -> list[float]:
    """Coefficients c >= 0 minimising Σ ((c·x - t) / t)²: every subset of the
    columns solved by least squares, the best feasible one kept (exact for the
    few columns used here)."""
    n = len(xs[0])
    best, best_err = [0.0] * n, math.inf
    for size in range(1, n + 1):
        for cols in combinations(range(n), size):
            scale = [max(max(abs(x[c]) for x in xs), 1e-300) for c in cols]
            rows = [[x[c] / s / t for c, s in zip(cols, scale)] for x, t in zip(xs, ts)]
            sol = _solve(rows, [1.0] * len(ts))
            if sol is None or any(v < 0 for v in sol):
                continue
            coef = [0.0] * n
            for c, s, v in zip(cols, scale, sol):
                coef[c] = v / s
            err = sum(((sum(cf * xv for cf, xv in zip(coef, x)) - t) / t) ** 2 for x, t in zip(xs, ts))
            if err < best_err:
                best, best_err = coef, err
    return best


@dataclass
class KindModel:
    """One kind's fitted model: form, coefficients (c0 seconds; c1, c2, c3 per
    unit of mult_adds, other, bytes), the shapes it saw and its held-out error."""

    form: str
    coef: tuple[float, float, float, float]
    train: int
    heldout: int
    heldout_median_error: float | None
    heldout_worst_error: float | None
    other_form_error: float | None = None

    def predict(self, features) -> float:
        c0, c1, c2, c3 = self.coef
        m, o, b = features
        if self.form == "roofline":
            return c0 + max(c1 * m, c3 * b) + c2 * o
        return c0 + c1 * m + c2 * o + c3 * b

    def to_dict(self) -> dict:
        return {"form": self.form, "coef": list(self.coef), "train": self.train, "heldout": self.heldout,
                "heldout_median_error": self.heldout_median_error, "heldout_worst_error": self.heldout_worst_error,
                "other_form_heldout_median_error": self.other_form_error}


def _fit_form(form: str, samples: list[Sample]) -> tuple[float, float, float, float]:
    ts = [s.seconds for s in samples]
    if form == "linear":
        xs = [(1.0, *map(float, s.features)) for s in samples]
        return tuple(nnls_relative(xs, ts))  # type: ignore[return-value]
    # roofline: t = c0 + c1·max(m, r·b) + c2·o with r = c3 / c1. For a given r the model is linear; the best r
    # is searched among the samples' own ratios m / b (where a sample changes bound) and between them.
    ratios = sorted({s.features[0] / s.features[2] for s in samples if s.features[2] > 0 and s.features[0] > 0})
    candidates = set(ratios)
    candidates.update(math.sqrt(a * b) for a, b in zip(ratios, ratios[1:]))
    if ratios:
        candidates.update((ratios[0] / 10, ratios[-1] * 10))
    def at(r: float):
        xs = [(1.0, float(max(s.features[0], r * s.features[2])), float(s.features[1])) for s in samples]
        c0, c1, c2 = nnls_relative(xs, ts)
        err = sum(((c0 + c1 * x[1] + c2 * x[2] - t) / t) ** 2 for x, t in zip(xs, ts))
        return err, (c0, c1, c2, c1 * r)

    grid = sorted(candidates)
    if not grid:
        return _fit_form("linear", samples)
    scored = [at(r)[0] for r in grid]
    k = min(range(len(grid)), key=scored.__getitem__)
    lo, hi = math.log(grid[max(k - 1, 0)]), math.log(grid[min(k + 1, len(grid) - 1)])
    for _ in range(60):  # golden-section search on log r between the best point's neighbours
        a, b = lo + (hi - lo) * 0.382, lo + (hi - lo) * 0.618
        if at(math.exp(a))[0] <= at(math.exp(b))[0]:
            hi = b
        else:
            lo = a
    best = min((at(grid[k]), at(math.exp((lo + hi) / 2))), key=lambda e: e[0])
    return best[1]


def _errors(model: KindModel, samples: list[Sample]) -> list[float]:
    return [abs(model.predict(s.features) - s.seconds) / s.seconds for s in samples]


def split(samples: list[Sample], every: int = 4) -> tuple[list[Sample], list[Sample]]:
    """(training, held-out): every ``every``-th shape of a kind is held out."""
    train, held = [], []
    for i, s in enumerate(samples):
        (held if i % every == every - 1 else train).append(s)
    return train, held


def fit(samples: list[Sample], every: int = 4) -> dict[str, KindModel]:
    """A model per kind, fitted on the training shapes; the form with the smaller
    median held-out error is kept."""
    models = {}
    for kind in KINDS:
        mine = [s for s in samples if s.kind == kind]
        if len(mine) < 3:
            continue
        train, held = split(mine, every)
        held = held or train
        candidates = []
        for form in FORMS:
            m = KindModel(form, _fit_form(form, train), len(train), len(held), None, None)
            errs = sorted(_errors(m, held))
            m.heldout_median_error, m.heldout_worst_error = statistics.median(errs), errs[-1]
            candidates.append(m)
        candidates.sort(key=lambda m: m.heldout_median_error)
        best = candidates[0]
        best.other_form_error = candidates[1].heldout_median_error
        models[kind] = best
    return models


# -- the file ------------------------------------------------------------------------------------------------------

@dataclass
class Calibration:
    """A machine's latency models (what ``mbcost calibrate`` writes)."""

    machine: str
    runtime: str
    threads: int
    versions: dict
    models: dict[str, KindModel]
    bandwidth_bytes_per_s: float | None = None
    call_overhead_s: float | None = None
    #: the peak MAC rate (a large 1x1 convolution): with the bandwidth, this machine's
    #: ridge point for the roofline (mbcost.attachments.roofline); None in older files
    peak_macs_per_s: float | None = None
    created: str = ""
    seconds_spent: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    source: str = ""
    #: the in-network correction: {"scale", "per_row_s", "per_byte_s", "networks", "median_error", ...}
    #: (see :func:`fit_network`)
    network: dict = field(default_factory=dict)
    #: how the batch-1 models predict what was timed at a larger batch and never fitted:
    #: {"layers": {"count", "median_error", "worst_error", "mean_signed_error"}, "networks": {...}}
    #: (:func:`errors_summary` of each)
    batch_check: dict = field(default_factory=dict)

    @property
    def ridge_point(self) -> float | None:
        """PeakMACs / PeakMemBW in MACs per byte, where both were measured."""
        if self.peak_macs_per_s and self.bandwidth_bytes_per_s:
            return self.peak_macs_per_s / self.bandwidth_bytes_per_s
        return None

    def network_time(self, rows: list[float], moved: list[int] | None = None) -> float:
        """A network's predicted seconds from its rows' isolated predictions (and
        the bytes each row moves)."""
        return sum(self.in_network(rows, moved))

    def in_network(self, rows: list[float], moved: list[int] | None = None) -> list[float]:
        """Each row's share of the network's time: scale · isolated + per-row time
        + per-byte time · the bytes it moves (its weights and inputs, warm in the
        caches when a layer is timed alone, are not in a network)."""
        scale = float(self.network.get("scale", 1.0))
        per_row = float(self.network.get("per_row_s", 0.0))
        per_byte = float(self.network.get("per_byte_s", 0.0))
        moved = moved if moved is not None else [0] * len(rows)
        return [scale * t + per_row + per_byte * b for t, b in zip(rows, moved)]

    def predict_row(self, kind: str, features) -> float:
        model = self.models.get(kind) or self.models.get("other")
        if model is None:
            raise MbcostError(f"{self.source or 'the calibration'} has no model for {kind} layers")
        try:
            seconds = model.predict(features)
        except OverflowError:  # a count past a float (10^308)
            seconds = math.inf
        if not math.isfinite(seconds):
            raise MbcostError(f"a {kind} row of this network is too large to predict a time for (its counts pass"
                              " what a float holds)")
        return max(0.0, seconds)

    def to_dict(self) -> dict:
        errs = [m.heldout_median_error for m in self.models.values() if m.heldout_median_error is not None]
        return {
            "format": FORMAT, "version": VERSION, "machine": self.machine, "runtime": self.runtime,
            "threads": self.threads, "versions": self.versions, "created": self.created,
            "seconds_spent": round(self.seconds_spent, 3),
            "bandwidth_bytes_per_s": self.bandwidth_bytes_per_s, "call_overhead_s": self.call_overhead_s,
            "peak_macs_per_s": self.peak_macs_per_s, "ridge_point_macs_per_byte": self.ridge_point,
            "features": list(FEATURES), "forms": {"linear": "c0 + c1*mult_adds + c2*other + c3*bytes",
                                                  "roofline": "c0 + max(c1*mult_adds, c3*bytes) + c2*other"},
            "models": {k: m.to_dict() for k, m in self.models.items()},
            "network": self.network,
            "batch_check": self.batch_check,
            "heldout_median_error_worst_kind": max(errs) if errs else None,
            "samples": [{"kind": s.kind, "label": s.label, "batch": s.batch, "features": list(s.features),
                         "seconds": s.seconds} for s in self.samples],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, allow_nan=False) + "\n"


def _need(data: dict, key: str, kind, where: str):
    if key not in data or not isinstance(data[key], kind) or isinstance(data[key], bool) and kind is not bool:
        raise MbcostError(f"{where}: not a valid mbcost calibration file ('{key}' missing or of the wrong type)")
    return data[key]


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
    run = _need(data, "runtime", str, path)
    nthreads = _need(data, "threads", int, path)
    if run not in RUNTIMES:
        raise MbcostError(f"{path}: unknown runtime '{run}'")
    if runtime is not None and runtime != run:
        raise MbcostError(f"{path} was calibrated with {run}, not {runtime}: calibrate with --runtime {runtime}")
    if threads is not None and threads != nthreads:
        raise MbcostError(f"{path} was calibrated with {nthreads} thread(s), not {threads}: calibrate with "
                          f"--threads {threads}")
    models = {}
    for kind, m in _need(data, "models", dict, path).items():
        try:
            coef = tuple(float(c) for c in m["coef"])
            if kind not in KINDS or m["form"] not in FORMS or len(coef) != 4 or any(c < 0 or c != c for c in coef):
                raise ValueError
            models[kind] = KindModel(m["form"], coef, int(m["train"]), int(m["heldout"]),
                                     m.get("heldout_median_error"), m.get("heldout_worst_error"),
                                     m.get("other_form_heldout_median_error"))
        except (KeyError, TypeError, ValueError):
            raise MbcostError(f"{path}: the model for '{kind}' is not valid") from None
    if not models:
        raise MbcostError(f"{path}: the calibration has no models")
    return Calibration(machine=str(data.get("machine", "")), runtime=run, threads=nthreads,
                       versions=dict(data.get("versions") or {}), models=models,
                       bandwidth_bytes_per_s=data.get("bandwidth_bytes_per_s"),
                       call_overhead_s=data.get("call_overhead_s"), created=str(data.get("created", "")),
                       peak_macs_per_s=_positive(data.get("peak_macs_per_s"), "peak_macs_per_s", path),
                       seconds_spent=float(data.get("seconds_spent") or 0), source=str(path),
                       network=_network_part(data.get("network"), path),
                       batch_check=data["batch_check"] if isinstance(data.get("batch_check"), dict) else {})


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


def _network_part(value, path) -> dict:
    if value in (None, {}):
        return {}
    try:
        terms = [float(value["scale"]), float(value["per_row_s"]), float(value.get("per_byte_s", 0.0))]
        if any(t < 0 or t != t or t == math.inf for t in terms):
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise MbcostError(f"{path}: the in-network correction is not valid") from None
    return dict(value)


def errors_summary(pairs: list[tuple[float, float]]) -> dict:
    """{"count", "median_error", "worst_error", "mean_signed_error"} of (predicted, measured) pairs: how a
    model does on what it was not fitted on."""
    if not pairs:
        return {}
    signed = [(p - m) / m for p, m in pairs]
    errs = sorted(abs(e) for e in signed)
    return {"count": len(pairs), "median_error": statistics.median(errs), "worst_error": errs[-1],
            "mean_signed_error": statistics.fmean(signed)}


def fit_network(nets: list[tuple[float, int, int, float]]) -> dict:
    """The in-network correction from whole networks: (sum of the rows' isolated
    predictions, rows, bytes the rows move, measured seconds) each;
    t = scale · isolated + per_row · rows + per_byte · bytes, all >= 0, by least
    squares on relative error."""
    if not nets:
        return {}
    scale, per_row, per_byte = nnls_relative([(p, float(n), float(b)) for p, n, b, _ in nets],
                                             [m for *_, m in nets])
    errs = sorted(abs(scale * p + per_row * n + per_byte * b - m) / m for p, n, b, m in nets)
    return {"scale": scale, "per_row_s": per_row, "per_byte_s": per_byte, "networks": len(nets),
            "median_error": statistics.median(errs), "worst_error": errs[-1],
            "form": "scale * sum(isolated rows) + per_row_s * rows + per_byte_s * sum(bytes moved)"}


# -- prediction --------------------------------------------------------------------------------------------------

def row_features(analysis, batch: int = 1) -> list[tuple[str, tuple[int, int, int]]]:
    """(kind, features) of every row of a spec analysis, whatever it counts, for
    a forward pass of ``batch`` images (Mult-Adds, other work and activations
    scale with the batch; the weights are read once)."""
    from dataclasses import replace

    from mbcost.results.tables import Analysis
    from mbcost.attachments.memory import memory

    if not isinstance(analysis, Analysis):
        raise MbcostError("latency is predicted for specs (a built-in model or a spec file)")
    net, instances = analysis.network, analysis.instances
    main = Analysis(net, replace(analysis.config, count=frozenset({"conv", "fc"}), params="all"), instances)
    every = Analysis(net, replace(analysis.config, count=frozenset({"conv", "fc", "bn", "pool", "act"}),
                                  params="all"), instances)
    report = memory(main, "fp32", batch=batch, instances=instances)
    out = []
    for r, e, m, inst in zip(main.layers, every.layers, report.layers, instances):
        kind = kind_of(r.kind, getattr(inst, "grouping", "conv"), r.kernel,
                       r.output.h == r.output.w == 1 and r.input.h * r.input.w > 1)
        out.append((kind, (batch * r.mult_adds, batch * (e.mult_adds - r.mult_adds), m.moved_bytes)))
    return out


def predict(analysis, calibration: Calibration, batch: int = 1) -> list[float]:
    """Predicted seconds of every row of ``analysis``, alone (isolated, as calibrated)."""
    return [calibration.predict_row(kind, f) for kind, f in row_features(analysis, batch)]


def predict_in_network(analysis, calibration: Calibration, batch: int = 1) -> list[float]:
    """Each row's predicted seconds inside the network (the in-network correction
    applied) for a pass of ``batch`` images: what ``table --latency`` shows; they
    add up to the network's."""
    features = row_features(analysis, batch)
    isolated = [calibration.predict_row(kind, f) for kind, f in features]
    return calibration.in_network(isolated, [f[2] for _, f in features])


@dataclass(frozen=True)
class LatencyPrediction:
    """The one prediction type: a calibration's predicted seconds for every row of a
    spec's table, in the network (the in-network correction applied), for a pass
    of ``batch`` images. ``table --latency`` shows it per row, ``compare``,
    ``sweep`` and ``pick`` its total."""

    calibration: Calibration
    seconds: tuple[float, ...]
    batch: int = 1

    @property
    def total_ms(self) -> float:
        return 1e3 * sum(self.seconds)


def predict_latency(analysis, calibration: Calibration, batch: int = 1) -> LatencyPrediction:
    """The :class:`LatencyPrediction` of a spec's table (``table --latency``)."""
    return LatencyPrediction(calibration, tuple(predict_in_network(analysis, calibration, batch)), batch)


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
    """For a prediction at a batch above 1: the models were fitted at batch 1, and
    what the file's check of timed batches says."""
    if batch == 1:
        return ""
    checks = calibration.batch_check or {}
    which = next((w for w in ("networks", "layers") if isinstance(checks.get(w), dict) and checks[w].get("count")),
                 None)
    seen = ""
    if which:
        c = checks[which]
        what = "synthetic networks" if which == "networks" else "one-layer shapes"
        mean = c.get("mean_signed_error", 0.0)
        seen = (f"; on the {c['count']} batched {what} timed to check this: median error "
                f"{100 * c['median_error']:.0f}%, worst {100 * c['worst_error']:.0f}%, on average "
                f"{100 * abs(mean):.0f}% {'low' if mean < 0 else 'high'}")
    return (f"batch {batch}: the models were fitted at batch 1 and scaled by the batch's work and bytes{seen}; "
            "calibrate --validate includes batches of 8 and 4")


def describe(calibration: Calibration, batch: int = 1) -> str:
    """Where a prediction comes from, for a document's settings."""
    threads = f"{calibration.threads} thread{'s' if calibration.threads != 1 else ''}"
    return (f"latency: predicted from {calibration.source or 'a calibration'} ({calibration.machine} · "
            f"{calibration.runtime} · {threads} · batch {batch}), not measured")
