"""Cost over a grid of widths and resolutions (``mbcost sweep``).

:func:`sweep` gives the exact Mult-Adds and parameters of a network at every
(alpha, resolution) of a grid, with the published ImageNet accuracy joined where
a configuration is one of the released MobileNet v1 checkpoints.

Vectorized, and exact. Every costed :class:`~mbcost.kinds.base.Part` of a
layer has ``mult_adds == term × positions``, where the term is set by channel
counts (so by alpha) and ``positions`` (output pixels) by the spatial sizes (so by
the resolution). Spatial sizes never depend on channel counts, and channel counts
depend on the resolution only through ``flatten`` (H·W·C channels). So, once
that is checked, the network is evaluated once per distinct alpha (at one
resolution) for the terms ``A[alpha, part]`` and once per distinct resolution (at
one alpha) for the positions ``P[res, part]``; then ``Mult-Adds = A @ P.T``, in
int64 (or Python integers when a bound on the sums says int64 could overflow).
Parameters depend on the channels only: one value per alpha. Where the check
fails (a ``flatten`` whose input size changes with the resolution, as in VGG-16),
every configuration is evaluated on its own: slower, equally exact.

numpy is imported here, inside the functions, only: ``mbcost table`` never loads it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

from mbcost.core.conventions import COUNT_NAMES, PAPER_ALPHAS, PAPER_RESOLUTIONS, alpha_number, fmt_alpha, params_total
from mbcost.errors import MbcostError
from mbcost.numbers import MAX_REAL_CHARS, MAX_SCALE, NumberError, real, shown
from mbcost.results.frames import Framed
from mbcost.core.network import Config, Network

#: The paper's grid (widths of Table 5 x resolutions of Table 6: the 16 released checkpoints).
#: Most values one axis of a grid may have, and most configurations in a grid.
MAX_AXIS = 100_000
#: The largest grid: 1,000,000 configurations take about 0.85 GB and 15 s through
#: the CLI to CSV here (benchmarks/RESULTS.md); a larger one is refused before any
#: work, rather than growing past the machine's memory.
MAX_CONFIGS = 1_000_000
INT64_MAX = 2**63 - 1

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$", re.ASCII)


# -- grids ---------------------------------------------------------------------

def _number(text: str, what: str, where: str) -> Fraction:
    if len(text) > MAX_REAL_CHARS or not _NUMBER.match(text):
        raise MbcostError(f"{what} must be a number, got {shown(text)}{where}")
    try:
        return real(text, what, high=MAX_SCALE)
    except NumberError as exc:
        raise MbcostError(f"{exc}{where}") from None


def parse_grid(text, what: str = "alpha") -> list:
    """Values of one axis from ``LIST`` (``1,0.75,0.5``), ``RANGE``
    (``start:stop:step``, stop included when it lands on the grid) or a mix
    (``0.25:0.5:0.05,1``). Exact decimal arithmetic: ``0.25:1:0.05`` is exactly 16
    values. ``what`` is ``alpha`` (positive numbers, as Fractions) or
    ``resolution`` (positive whole numbers, as ints). Distinct values, largest
    first. Also accepts a list or tuple of values."""
    if what not in ("alpha", "resolution", "depth multiplier"):
        raise ValueError(what)
    items = list(text) if isinstance(text, (list, tuple)) else str(text).split(",")
    values: list[Fraction] = []
    for item in items:
        if isinstance(item, Fraction) or (isinstance(item, (int, float)) and not isinstance(item, bool)):
            try:
                exact = real(item, what, high=MAX_SCALE)  # a Fraction as it is; a float finite
            except NumberError as exc:
                raise MbcostError(str(exc)) from None
            values.append(_check_value(exact, what, ""))
            continue
        item = str(item).strip()
        if not item:
            continue
        if ":" in item:
            values += _range(item, what)
        else:
            values.append(_check_value(_number(item, what, ""), what, ""))
    if not values:
        raise MbcostError(f"the {what} grid is empty: give a list (e.g. {_example(what, False)}) "
                          f"or a range (e.g. {_example(what, True)})")
    if len(values) > MAX_AXIS:
        raise MbcostError(f"the {what} grid has {len(values):,} values (at most {MAX_AXIS:,})")
    distinct = sorted(set(values), reverse=True)
    return [int(v) for v in distinct] if what == "resolution" else distinct


def _example(what: str, is_range: bool) -> str:
    if what != "resolution":
        return ("0.25:1:0.05" if is_range else "1,0.75,0.5") if what == "alpha" else ("1:2:0.1" if is_range else
                                                                                      "1,1.1,1.2")
    return "128:224:16" if is_range else "224,192,160"


def _check_value(value: Fraction, what: str, where: str) -> Fraction:
    if value <= 0:
        raise MbcostError(f"{what} must be positive, got {_show(value)}{where}")
    if what == "resolution" and value.denominator != 1:
        raise MbcostError(f"resolution must be a whole number of pixels, got {_show(value)}{where}")
    return value


def _range(item: str, what: str) -> list[Fraction]:
    parts = [p.strip() for p in item.split(":")]
    if len(parts) != 3 or not all(parts):
        raise MbcostError(f"bad {what} range '{item}': write start:stop:step (e.g. {_example(what, True)})")
    where = f" (in range '{item}')"
    start, stop, step = (_number(p, what, where) for p in parts)
    if step <= 0:
        raise MbcostError(f"the step of {what} range '{item}' must be positive, got {_show(step)}")
    _check_value(start, what, where)
    if what == "resolution" and step.denominator != 1:
        raise MbcostError(f"the step of resolution range '{item}' must be a whole number, got {_show(step)}")
    if stop < start:
        raise MbcostError(f"{what} range '{item}' is empty: its start is above its stop")
    count = math.floor((stop - start) / step) + 1
    if count > MAX_AXIS:
        raise MbcostError(f"{what} range '{item}' has {count:,} values (at most {MAX_AXIS:,})")
    return [start + k * step for k in range(count)]


def _show(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


# -- results ----------------------------------------------------------------------

class SweepRow(NamedTuple):
    """One configuration: exact counts, and the published accuracy if it is a
    released checkpoint (None otherwise)."""

    alpha: Fraction
    resolution: int
    mult_adds: int
    params: int
    top1: float | None = None
    top5: float | None = None

    @property
    def published(self) -> bool:
        return self.top1 is not None

    @property
    def flops(self) -> int:
        return 2 * self.mult_adds


@dataclass(repr=False)
class SweepResult(Framed):
    """Mult-Adds and parameters over ``alphas`` × ``resolutions`` (both largest
    first). ``mult_adds[i, j]`` and ``params[i, j]`` are numpy arrays (int64, or
    object holding Python ints if int64 could overflow) at ``alphas[i]``,
    ``resolutions[j]``. ``method`` is ``vectorized`` or ``per-config`` (then
    ``reason`` says why). On the vectorized path ``terms`` (alphas × parts) and
    ``positions`` (resolutions × parts) are the two factors and ``part_rows``
    maps each part column to its layer row."""

    model: str
    network: Network
    config: Config  # the conventions (alpha and resolution of the first configuration)
    alphas: list[Fraction]
    resolutions: list[int]
    mult_adds: object
    params: object
    method: str
    reason: str = ""
    terms: object = None
    positions: object = None
    part_rows: list[int] = field(default_factory=list)
    published: dict = field(default_factory=dict)  # (alpha, res) -> checkpoint row
    published_note: str = ""  # which rows carry published accuracy, in words
    calibration: object = None  # a latency Calibration (with_latency), else None
    latency_ms: dict = field(default_factory=dict)  # (alpha, resolution) -> predicted ms

    def with_latency(self, calibration, progress=None) -> SweepResult:
        """This sweep with each configuration's predicted latency (``sweep
        --latency``): one evaluation per configuration, as ``table --latency``
        totals it. A new result; this one is left as it is."""
        from dataclasses import replace

        from mbcost.attachments.latency import check_predictable, network_ms

        check_predictable(len(self))
        done = 0
        latency_ms = {}
        for alpha in self.alphas:
            for res in self.resolutions:
                config = replace(self.config, alpha=alpha, resolution=(res, res))
                latency_ms[(alpha, res)] = network_ms(self.network, config, calibration)
                done += 1
                if progress:
                    progress(done, len(self), f"{_show(alpha)} x {res}")
        return replace(self, calibration=calibration, latency_ms=latency_ms)

    def records(self) -> list[dict]:
        """One row per configuration (alpha descending, then resolution)."""
        latency = self.calibration is not None
        return [{"alpha": float(r.alpha), "resolution": r.resolution, "mult_adds": r.mult_adds, "params": r.params,
                 **({"latency_ms": self.latency_ms[(r.alpha, r.resolution)]} if latency else {}),
                 "top1_published": r.top1, "top5_published": r.top5} for r in self.rows]

    def describe(self) -> str:
        return f"{self.model} sweep, {len(self.alphas)} alphas x {len(self.resolutions)} resolutions"

    def __len__(self) -> int:
        return len(self.alphas) * len(self.resolutions)

    @property
    def rows(self) -> list[SweepRow]:
        """One row per configuration, alpha descending then resolution descending."""
        cached = self.__dict__.get("_rows")
        if cached is None:
            madds, params = self.mult_adds.tolist(), self.params.tolist()
            a_index = {a: i for i, a in enumerate(self.alphas)}
            r_index = {r: j for j, r in enumerate(self.resolutions)}
            pub = {(a_index[a], r_index[r]): (row["top1"], row["top5"]) for (a, r), row in self.published.items()}
            cached = []
            for i, alpha in enumerate(self.alphas):
                m_row, p_row = madds[i], params[i]
                cached += [SweepRow(alpha, res, m_row[j], p_row[j], *pub.get((i, j), (None, None)))
                           for j, res in enumerate(self.resolutions)]
            self.__dict__["_rows"] = cached
        return cached

    def at(self, alpha, resolution: int) -> SweepRow:
        """The row of one configuration of the grid (KeyError if it is not in it)."""
        alpha = Fraction(str(alpha)) if not isinstance(alpha, Fraction) else alpha
        i, j = self.alphas.index(alpha), self.resolutions.index(int(resolution))
        return self.rows[i * len(self.resolutions) + j]

    def layer_mult_adds(self, i: int, j: int) -> list[int]:
        """Per-layer Mult-Adds at ``alphas[i]``, ``resolutions[j]`` from the factors
        (vectorized path only): the sum over each row's parts of term × positions."""
        if self.terms is None:
            raise ValueError("per-layer factors exist on the vectorized path only")
        out = [0] * len(self.network.nominal)  # one per layer row, as evaluate() lists them
        for k, row in enumerate(self.part_rows):
            out[row] += int(self.terms[i, k]) * int(self.positions[j, k])
        return out

    @property
    def counted(self) -> list[str]:
        return [c for c in COUNT_NAMES if c in self.config.count]

    def to_dict(self, unit: str = "mult-adds") -> dict:
        flops = unit == "flops"

        return {
            "model": self.model,
            "unit": unit,
            "counted": self.counted,
            "params_convention": self.config.params,
            "min_depth": self.network.min_depth(self.config),
            "divisor": self.network.divisor(self.config),
            "classes": self.config.classes,
            "method": self.method,
            "alphas": [alpha_number(a) for a in self.alphas],
            "resolutions": list(self.resolutions),
            "published_note": self.published_note,
            **({"latency_from": self.calibration.source} if self.calibration is not None else {}),
            "rows": [
                {"alpha": alpha_number(r.alpha), "resolution": r.resolution, "mult_adds": r.mult_adds,
                 **({"flops": r.flops} if flops else {}), "params": r.params,
                 **({"latency_ms": self.latency_ms[(r.alpha, r.resolution)]} if self.calibration is not None else {}),
                 "published": r.published, "top1": r.top1, "top5": r.top5}
                for r in self.rows
            ],
        }


# -- the sweep ----------------------------------------------------------------------

def sweep(model="mobilenet_v1", alphas=PAPER_ALPHAS, resolutions=PAPER_RESOLUTIONS, *, min_depth=None, divisor=None,
          classes=None, count=("conv", "fc"), params="weights", method="auto") -> SweepResult:
    """Exact Mult-Adds and parameters of ``model`` (zoo name, spec path or
    :class:`Network`) at every (alpha, resolution) of the grid. ``alphas`` and
    ``resolutions``: lists, or strings as :func:`parse_grid` reads them. The
    conventions are :func:`mbcost.analyze`'s. ``method``: ``auto`` (vectorized
    where exact, else per configuration), ``vectorized`` (an error where it is not
    exact) or ``per-config``. Example: ``sweep("mobilenet_v1", "0.25:1:0.05", "128:224:32")``."""
    from mbcost.results.zoo import load_network

    if method not in ("auto", "vectorized", "per-config"):
        raise MbcostError(f"unknown sweep method '{method}': choose from auto, vectorized, per-config")
    network = model if isinstance(model, Network) else load_network(model)
    alphas = parse_grid(alphas, "alpha")
    resolutions = parse_grid(resolutions, "resolution")
    if len(alphas) * len(resolutions) > MAX_CONFIGS:
        raise MbcostError(f"the grid has {len(alphas) * len(resolutions):,} configurations "
                          f"(at most {MAX_CONFIGS:,}): use a coarser step or a narrower range")

    def config(alpha, res) -> Config:
        return Config.make(alpha=alpha, resolution=res, min_depth=min_depth, divisor=divisor, classes=classes,
                           count=count, params=params)

    # The cheapest configuration, and the likeliest to make no network (a width that
    # leaves no channels, a map that vanishes), first: an impossible grid fails at once.
    _evaluate(network, config(alphas[-1], resolutions[-1]))
    base = config(alphas[0], resolutions[0])
    result = None
    reason = ""
    if method != "per-config":
        result, reason = _vectorized(network, alphas, resolutions, config)
        if result is None and method == "vectorized":
            raise MbcostError(f"cannot vectorize {network.name}: {reason}")
    if result is None:
        result = _per_config(network, alphas, resolutions, config)
    madds, prm, extra = result
    out = SweepResult(network.name, network, base, alphas, resolutions, madds, prm,
                      "vectorized" if extra else "per-config", reason, **(extra or {}))
    out.published, out.published_note = _published(network, alphas, resolutions, base)
    return out


class SweepInvariantError(RuntimeError):
    """A layer kind broke the sweep's factorization contract (Part.positions):
    a programming error, never a user's."""


class GridError(MbcostError):
    """An evaluation error with the configuration it happened at."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self._detail = detail

    def detail(self) -> str:
        return self._detail


def _evaluate(network: Network, cfg: Config):
    try:
        return network.evaluate(cfg)
    except MbcostError as exc:
        raise GridError(f"{exc} (at alpha {fmt_alpha(cfg.alpha)}, resolution {cfg.resolution[0]})",
                        exc.detail()) from None


def _costed(inst, count) -> tuple[list[int], list[int], int, int, int]:
    """One instance's parts split as term × positions, and its parameters."""
    terms, positions = [], []
    weights = biases = norm = 0
    for part in inst.parts(count):
        term, rest = divmod(part.mult_adds, part.positions)
        # the factorization every costed part promises (layers/base.py, Part)
        if rest or part.positions <= 0:
            raise SweepInvariantError(f"layer {inst.layer.name}: its {part.category} cost {part.mult_adds:,} is not"
                                      f" a whole multiple of its {part.positions:,} positions")
        terms.append(term)
        positions.append(part.positions)
        weights += part.weights
        biases += part.biases
        norm += part.norm
    return terms, positions, weights, biases, norm


def _factor(network: Network, cfg: Config):
    """One evaluation costed in full: per part (all rows, in order) the channel
    term and the positions, the row of each part, the channels of each row, and
    the parameters."""

    terms, positions, rows, channels = [], [], [], []
    weights = biases = norm = 0
    for index, inst in enumerate(_evaluate(network, cfg)):
        t, p, w, b, n = _costed(inst, cfg.count)
        channels.append((inst.input.c, inst.output.c))
        terms += t
        positions += p
        rows += [index] * len(t)
        weights, biases, norm = weights + w, biases + b, norm + n
    return terms, positions, rows, channels, params_total(weights, biases, norm, cfg.params)


def _terms(network: Network, cfg: Config, memo: dict):
    """The channel terms (all parts, in order) and the parameters at one alpha.

    A layer's parts are costed once per distinct (layer, input channels, output
    channels) and kept in ``memo``: its terms and parameters are set by those alone
    (checked at the first alpha across every resolution of the grid), and building
    parts (formulas included) is most of an evaluation's time."""

    terms: list[int] = []
    weights = biases = norm = 0
    for index, inst in enumerate(_evaluate(network, cfg)):
        key = (index, inst.input.c, inst.output.c)
        costed = memo.get(key)
        if costed is None:
            costed = memo[key] = _costed(inst, cfg.count)
        terms += costed[0]
        weights, biases, norm = weights + costed[2], biases + costed[3], norm + costed[4]
    return terms, params_total(weights, biases, norm, cfg.params)


def _vectorized(network: Network, alphas, resolutions, config):
    """(mult_adds, params, factors) via A @ P.T, or (None, reason) where the
    factorization does not hold on this grid."""
    import numpy as np

    a_ref, r_ref = alphas[0], resolutions[0]
    # the resolution axis first, at the largest alpha: positions, and the check
    by_res = [_factor(network, config(a_ref, r)) for r in resolutions]
    ref = by_res[0]
    layout = ref[2]
    for r, f in zip(resolutions, by_res):
        if f[2] != layout:
            return None, f"its cost parts change with the resolution (between {r_ref} and {r} px)"
        if f[3] != ref[3] or f[0] != ref[0] or f[4] != ref[4]:
            row = next((i for i, (x, y) in enumerate(zip(f[3], ref[3])) if x != y), None)
            if row is not None:
                return None, (f"its channel counts change with the resolution from layer "
                              f"{network.nominal[row].layer.name} on (between {r_ref} and {r} px; 'flatten' does that)")
            return None, f"its per-channel costs change with the resolution (between {r_ref} and {r} px)"
    # the alpha axis, at the largest resolution: channel terms and parameters
    memo: dict = {}
    by_alpha = [_terms(network, config(a, r_ref), memo) for a in alphas]
    k = len(layout)
    terms = [t for t, _ in by_alpha]
    params = [p for _, p in by_alpha]
    if any(len(t) != k for t in terms) or terms[0] != ref[0] or params[0] != ref[4]:
        return None, "its cost parts change with the width"
    positions = [f[1] for f in by_res]
    # exactness: each sum of k products is at most the sum of (largest term x largest positions)
    bound = sum(a * p for a, p in zip(map(max, zip(*terms)), map(max, zip(*positions)))) if k else 0
    dtype = np.int64 if bound <= INT64_MAX and max(params) <= INT64_MAX else object
    A = np.array(terms, dtype=dtype).reshape(len(alphas), k)
    P = np.array(positions, dtype=dtype).reshape(len(resolutions), k)
    madds = A @ P.T
    prm = np.repeat(np.array(params, dtype=dtype).reshape(-1, 1), len(resolutions), axis=1)
    return (madds, prm, {"terms": A, "positions": P, "part_rows": layout}), ""


def _per_config(network: Network, alphas, resolutions, config):
    import numpy as np


    madds, prm = [], []
    for a in alphas:
        m_row, p_row = [], []
        for r in resolutions:
            cfg = config(a, r)
            total_m = total_p = 0
            weights = biases = norm = 0
            for inst in _evaluate(network, cfg):
                for part in inst.parts(cfg.count):
                    total_m += part.mult_adds
                    weights += part.weights
                    biases += part.biases
                    norm += part.norm
            total_p = params_total(weights, biases, norm, cfg.params)
            m_row.append(total_m)
            p_row.append(total_p)
        madds.append(m_row)
        prm.append(p_row)
    big = max(max(max(r) for r in madds), max(max(r) for r in prm)) > INT64_MAX
    dtype = object if big else np.int64
    return np.array(madds, dtype=dtype), np.array(prm, dtype=dtype), None


# -- published accuracy ------------------------------------------------------------------

def is_builtin_mobilenet(network: Network) -> bool:
    """True for the shipped ``mobilenet_v1`` spec (by name or by its path)."""
    from mbcost.results.zoo import spec_paths

    path = spec_paths().get("mobilenet_v1")
    try:
        return path is not None and Path(network.tree.source).resolve() == path.resolve()
    except OSError:
        return False


def checkpoint_rows() -> dict:
    """The released MobileNet v1 checkpoints: (alpha as Fraction, res) -> row."""
    from mbcost.results.published import load_published

    return {(Fraction(str(r["alpha"])), r["resolution"]): r for r in load_published("checkpoints")}


def same_as_checkpoint(network: Network, alpha: Fraction, base: Config) -> bool:
    """Whether, at ``alpha``, the channel rounding and classes of ``base`` give the
    network the checkpoints were trained as (the default rounding, 1000 classes)."""
    if base.classes not in (None, 1000):
        return False
    if (network.min_depth(base), network.divisor(base)) == (0, 1):
        return True
    plain = Config.make(alpha=alpha)
    mine = Config.make(alpha=alpha, min_depth=base.min_depth, divisor=base.divisor, classes=base.classes)
    return [(i.input.c, i.output.c) for i in network.evaluate(plain)] == \
        [(i.input.c, i.output.c) for i in network.evaluate(mine)]


def _published(network: Network, alphas, resolutions, base: Config):
    """The checkpoint rows this grid contains, and a note that says which."""
    if not is_builtin_mobilenet(network):
        return {}, f"no published accuracy for {network.name} (known for the shipped mobilenet_v1 only)"
    rows = checkpoint_rows()
    source = "; ".join(sorted({row["source"] for row in rows.values()}))
    wanted = set(alphas)
    ok = {a: same_as_checkpoint(network, a, base) for a in {a for a, _ in rows if a in wanted}}
    res = set(resolutions)
    hits = {key: row for key, row in rows.items() if ok.get(key[0]) and key[1] in res}
    blocked = sorted((a for a, good in ok.items() if not good), reverse=True)
    if hits:
        by_alpha: dict = {}
        for a, r in sorted(hits, reverse=True):
            by_alpha.setdefault(a, []).append(str(r))
        where = "; ".join(f"alpha {fmt_alpha(a)} at {', '.join(rs)} px" for a, rs in by_alpha.items())
        note = (f"Top-1/Top-5 (pub.): ImageNet accuracy of the released checkpoints ({source}; "
                f"tables/published/checkpoints.csv) on the {len(hits)} published row{'s' if len(hits) != 1 else ''}: {where}; "
                "blank elsewhere (not a released checkpoint)")
    elif blocked:
        note = "Top-1/Top-5 (pub.): none joined"
    else:
        grid_a = ", ".join(fmt_alpha(a) for a in sorted({a for a, _ in rows}, reverse=True))
        grid_r = ", ".join(str(r) for r in sorted({r for _, r in rows}, reverse=True))
        note = (f"Top-1/Top-5 (pub.): no row of this grid is a released checkpoint (alpha {grid_a} at "
                f"{grid_r} px)")
    if blocked:
        note += (f"; not joined at alpha {', '.join(fmt_alpha(a) for a in blocked)}: with these channel "
                 "settings (min depth, divisor, classes) the network is not the released one")
    return hits, note


__all__ = ["sweep", "parse_grid", "SweepResult", "SweepRow", "PAPER_ALPHAS", "PAPER_RESOLUTIONS"]
