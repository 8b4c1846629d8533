"""The MobileNet paper's cost tables rebuilt from the shipped specs (``mbcost paper``).

Each row puts the published figure (tables/published, as printed) beside the
computed one and their difference. A figure is "ok" when the computed value
rounds to it at its printed precision. Otherwise the tool looks for a reading
that explains it, and applies every reading to the whole table, not row by row:

* another convention (FLOPs = 2 × Mult-Adds, the convolutions alone, weights +
  biases, the 1000-class network's figure, ...): "matches ..." when it rounds to
  the printed figure; every convention that does is named;
* a figure whose trailing zeros may not be significant (15300, 720, 60): read to
  its last non-zero digit, the same way for every such figure;
* a print error (two digits swapped), or a round figure quoted from the network's
  own paper (tables/published/source_figures.csv);
* another rounding rule (truncation, rounding up): offered only when that rule
  fits every row of the table; when it fits this row but not others, the verdict
  says so and names a row it does not fit;
* a reading that fits the numbers but is not a real convention is worded as
  arithmetic only.

When nothing fits, the verdict says "no explanation found".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from mbcost.results.analysis import Analysis, analyze
from mbcost.errors import MbcostError
from mbcost.results.published import load_published
from mbcost.results.frames import Framed
from mbcost.results.zoo import model_names

TABLES = ("2", "3", "4", "5", "6", "7", "8", "9", "10", "13", "checkpoints")
_TITLES = {
    "2": "Table 2: resources per layer type, MobileNet 1.0-224",
    "3": "Table 3: depthwise separable vs full convolutions",
    "4": "Table 4: thin vs shallow",
    "5": "Table 5: width multiplier",
    "6": "Table 6: resolution",
    "7": "Table 7: one layer, D_K=3, M=512, N=512, D_F=14",
    "8": "Table 8: MobileNet vs popular models",
    "9": "Table 9: smaller MobileNet vs popular models",
    "10": "Table 10: Stanford Dogs (120 classes)",
    "13": "Table 13: COCO detection",
    "checkpoints": "Released checkpoints (TF-Slim, 2018-02-22): published MACs and parameters",
}

#: Rounding rules, the paper's own first.
NEAREST, TRUNCATED, ROUNDED_UP = "rounded to nearest", "truncated", "rounded up"


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _exact(value) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(Decimal(str(value)))


def significant_digits(text: str) -> int | None:
    """Significant digits of a printed figure, or None when its trailing zeros make
    that ambiguous ("720": 2 or 3)."""
    digits = text.lstrip("-").replace(".", "").lstrip("0")
    if "." not in text and digits.endswith("0"):
        return None
    return len(digits) or 1


def printed_unit(text: str, sig: int | None = None) -> Fraction:
    """The unit of the printed figure's last digit: 0.01 for "1.32", 1 for "569".
    A whole number ending in zeros is read to ``sig`` significant digits (the
    precision of its table's other figures), never finer than its last printed
    digit nor coarser than its last non-zero one: "720" at 2 digits is 72 tens;
    "290" at 3 digits is 290 units."""
    if "." in text:
        return Fraction(1, 10 ** _decimals(text))
    digits = text.lstrip("-").lstrip("0")
    zeros = len(digits) - len(digits.rstrip("0")) if digits else 0
    if not zeros or sig is None:
        return Fraction(1)
    return Fraction(10 ** min(zeros, max(0, len(digits) - sig)))


def _round(value: Fraction, unit: Fraction, rule: str) -> Fraction:
    q = value / unit
    if rule == NEAREST:
        n = math.floor(q + Fraction(1, 2))
    elif rule == TRUNCATED:
        n = math.floor(q)
    else:
        n = math.ceil(q)
    return n * unit


def gives(printed: str, value, rule: str = NEAREST, sig: int | None = None) -> bool:
    """Whether ``value`` becomes the printed figure under ``rule`` at the figure's
    precision (``sig``: see :func:`printed_unit`). A value exactly half-way
    counts as rounding to nearest either way."""
    target, value, unit = _exact(printed), _exact(value), printed_unit(printed, sig)
    if rule == NEAREST and abs(value - target) * 2 == unit:
        return True
    return _round(value, unit, rule) == target


def within_rounding(printed: str, value, sig: int | None = None) -> bool:
    """True when ``value`` rounds to the printed figure at its printed precision."""
    return gives(printed, value, NEAREST, sig)


def _swapped(printed: str, value) -> bool:
    text = f"{float(value):.{_decimals(printed)}f}"
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    for a, b in zip(digits, digits[1:]):
        chars = list(text)
        chars[a], chars[b] = chars[b], chars[a]
        if "".join(chars) == printed and chars != list(text):
            return True
    return False


#: The paper's own networks: it counts them one way throughout (conv + fc
#: Mult-Adds, weights, rounded to nearest), as Tables 5 and 6 show
#: (tests/test_published_and_paper.py checks that premise).
OWN_NETWORKS = frozenset({"mobilenet_v1", "conv_mobilenet", "shallow_mobilenet"})
_NOT_OWN_WAY = ("the paper gives its own networks' figures in Tables 5 and 6 as conv + fc Mult-Adds and"
                " weights, rounded to nearest")

#: Kinds of reading: the paper's convention; another counting convention; a
#: figure reused from another table; one that fits the numbers but is not a real
#: convention.
PAPER, CONVENTION, REUSED, ARITHMETIC = "paper", "convention", "reused", "arithmetic"


@dataclass(frozen=True)
class Reading:
    """A way to get the printed figure: the computed value under one reading."""

    name: str
    value: Fraction
    kind: str = CONVENTION


@dataclass
class Check:
    """One published figure against the computed one (the paper's convention).
    ``alternatives``: other readings; ``quoted``: the network's own paper's round
    figure for this quantity, if any; ``own``: a network of the paper itself;
    ``source``: rows with the same source must be read the same way. The verdict
    comes from :func:`judge`, which sees the whole table column."""

    printed: str
    exact: Fraction
    alternatives: list[Reading] = field(default_factory=list)
    quoted: tuple[Fraction, str] | None = None  # (value, "quoted phrase (source)")
    label: str = ""
    own: bool = False
    source: str = ""
    sig: int | None = None  # the precision its trailing zeros are read at (set by judge)
    verdict_text: str = ""

    def __post_init__(self) -> None:
        self.exact = _exact(self.exact)
        if self.own:
            self.source = "the paper"

    @property
    def computed(self) -> float:
        return float(self.exact)

    @property
    def published(self) -> float:
        return float(_exact(self.printed))

    @property
    def difference(self) -> float:
        return float(self.exact - _exact(self.printed))

    @property
    def ok(self) -> bool:
        return within_rounding(self.printed, self.exact, self.sig)

    def fits(self, rule: str = NEAREST) -> list[Reading]:
        """The readings (the paper's first) that give the printed figure under ``rule``."""
        readings = [Reading("the paper's convention", self.exact, PAPER)] + list(self.alternatives)
        return [r for r in readings if gives(self.printed, r.value, rule, self.sig)]

    def names(self, rule: str = NEAREST) -> set[str]:
        return {r.name for r in self.fits(rule)}

    def verdict(self) -> str:
        if not self.verdict_text:
            judge([self])
        return self.verdict_text


def _table_precision(checks: list[Check]) -> int | None:
    """The significant digits a column's unambiguous figures are printed to (the
    most common count; the smaller on a tie), or None when all are ambiguous."""
    counts: dict[int, int] = {}
    for c in checks:
        sig = significant_digits(c.printed)
        if sig is not None:
            counts[sig] = counts.get(sig, 0) + 1
    return min(counts, key=lambda k: (-counts[k], k)) if counts else None


def _where(o: Check) -> str:
    return f"{o.label or 'another row'}'s {o.printed} ({o.computed:.2f} computed)"


def _candidates(c: Check, checks: list[Check]) -> list[tuple[str, bool]]:
    """Every reading that gives the printed figure, as (words, consistent with the
    rest of the table)."""
    out: list[tuple[str, bool]] = []
    elsewhere: list[str] = []  # readings the paper never uses for its own networks
    peers = [o for o in checks if o is not c and o.source == c.source and o.fits()]
    for r in c.fits():
        if r.kind == ARITHMETIC:
            every = peers and all(r.name in o.names() for o in peers)
            out.append((f"arithmetically consistent{' (as every row from this source is)' if every else ''}"
                        f" with {r.name}", False))
        elif c.own and r.kind == CONVENTION:
            elsewhere.append(r.name)
        else:
            against = next((o for o in peers if r.name not in o.names()), None)
            if against is None:
                out.append((f"matches {r.name}", True))
            else:
                out.append((f"{r.name} would give it, but not {_where(against)}, from the same source", False))
    if _swapped(c.printed, c.exact):
        out.append((f"consistent with two digits swapped in print ({c.computed:.{_decimals(c.printed)}f} computed)",
                    True))
    if c.quoted is not None and gives(c.printed, c.quoted[0], NEAREST, c.sig):
        out.append((f"consistent with a round figure quoted from the network's own paper: {c.quoted[1]}", True))
    # Another rounding rule, of the computed figure: it must fit every row of the table.
    for rule in (TRUNCATED, ROUNDED_UP):
        if not gives(c.printed, c.exact, rule, c.sig):
            continue
        if c.own:
            elsewhere.append(f"a figure {rule}")
            continue
        against = next((o for o in checks if o is not c and not gives(o.printed, o.exact, rule, o.sig)), None)
        if against is None:
            out.append((f"consistent with figures {rule} (so is every row of this table)", True))
        else:
            out.append((f"{rule} would give it, but not {_where(against)} in the same table", False))
    if elsewhere:
        out.append((f"{' or '.join(elsewhere)} would give it, but {_NOT_OWN_WAY}", False))
    return out


def judge(checks: list[Check]) -> None:
    """Set the verdict of every figure of one table column. Trailing zeros are read
    at the column's precision; another convention explains a figure only if it also
    fits every other row from the same source, never one of the paper's own
    networks; another rounding rule only if it fits every row of the column."""
    sig = _table_precision(checks) or 1  # no unambiguous figure: read to the last non-zero digit
    for c in checks:
        c.sig = sig if significant_digits(c.printed) is None else None
    for c in checks:
        if c.ok:
            dropped = printed_unit(c.printed, c.sig) > 1 and "." not in c.printed
            c.verdict_text = "ok" + (f" (its trailing zeros read as not significant: the table's figures have"
                                     f" {c.sig} significant digits)" if dropped else "")
            continue
        found = _candidates(c, checks)
        good = [words for words, consistent in found if consistent]
        if len(good) == 1:
            c.verdict_text = good[0]
        elif good:
            c.verdict_text = "several readings fit: " + "; ".join(good)
        elif found:
            c.verdict_text = "no consistent reading: " + "; ".join(words for words, _ in found)
        else:
            c.verdict_text = "differs: no explanation found"


def _madds_check(printed: str, a: Analysis, extra: dict | None = None, quoted=None, label: str = "",
                 own: bool = False, source: str = "") -> Check:
    value = Fraction(a.total.mult_adds, 10**6)
    fc = Fraction(sum(r.mult_adds for r in a.layers if r.kind == "fc"), 10**6)
    alternatives = [Reading("FLOPs (2 × Mult-Adds)", 2 * value)]
    if fc:
        alternatives.append(Reading("the convolutions alone (fully connected layers not counted)", value - fc))
    alternatives += [Reading(name, v, REUSED) for name, v in (extra or {}).items()]
    return Check(printed, value, alternatives, quoted, label, own, source)


def _params_check(printed: str, a: Analysis, extra: dict | None = None, quoted=None, label: str = "",
                  own: bool = False, source: str = "", checkpoint: Analysis | None = None) -> Check:
    t = a.total
    alternatives = [Reading("weights + biases", Fraction(t.weights + t.biases, 10**6)),
                    Reading("all trainable parameters (weights, biases, batch-norm scale and shift)",
                            Fraction(t.weights + t.biases + t.norm, 10**6))]
    if checkpoint is not None:
        # What a TF-Slim checkpoint stores: weights with 1001-class logits and their
        # biases, and four values per batch-norm channel (gamma, beta, moving mean
        # and variance): the arg scope sets center=True, scale=True.
        c = checkpoint.total
        stored = c.weights + c.biases + 2 * c.norm
        alternatives.append(Reading("the TF-Slim checkpoint's variables (1001-class logits with biases; batch-norm"
                                    " gamma, beta, moving mean and variance)", Fraction(stored, 10**6)))
        alternatives.append(Reading(
            "weights + biases + 3 values per batch-norm channel (not what the checkpoints hold: they store 4,"
            f" {round(stored / 1e6, 2)} M)", Fraction(t.weights + t.biases + t.norm // 2 * 3, 10**6), ARITHMETIC))
    alternatives += [Reading(name, v, REUSED) for name, v in (extra or {}).items()]
    return Check(printed, Fraction(t.weights, 10**6), alternatives, quoted, label, own, source)


def _quoted(model: str, quantity: str):
    for r in load_published("source_figures"):
        if r["model"] == model and r["quantity"] == quantity:
            return _exact(r["_text"]["value_millions"]), f"{r['figure']} ({r['source']})"
    return None


@dataclass
class Row:
    label: str
    top1: float | None
    madds: Check | None
    params: Check | None
    note: str = ""


@dataclass(repr=False)
class PaperTable(Framed):
    """One rebuilt table as data: its column headers, its rows as the paper prints
    them (the computed figures rounded to its precision, each verdict in words),
    its notes, and one tidy record per published figure (``records()``). How it is
    shown (narrow terminals, verdicts as numbered notes) is
    ``documents.views_paper``'s."""

    title: str
    headers: list[str]
    numeric: list[bool]
    rows: list[list]
    tidy: list[dict]
    notes: list[str] = field(default_factory=list)
    #: False where the table has published figures only (Table 13).
    computed: bool = True

    def records(self) -> list[dict]:
        return self.tidy

    def describe(self) -> str:
        return self.title


def _cost_rows(rows: list[dict], classes: int = 1000) -> list[Row]:
    known = set(model_names())
    out = []
    for r in rows:
        text = r["_text"]
        if r["model"] not in known:
            out.append(Row(r["label"], r["top1"], None, None, f"no spec for {r['model']} in the zoo"))
            continue
        alpha = r["alpha"] if r["alpha"] is not None else 1
        a = analyze(r["model"], alpha=alpha, resolution=r["resolution"], classes=classes if classes != 1000 else None)
        extra_m, extra_p = {}, {}
        if classes != 1000:  # a figure reused from the ImageNet (1000-class) network?
            full = analyze(r["model"], alpha=alpha, resolution=r["resolution"])
            name = "the 1000-class (ImageNet) network's figure"
            extra_m = {name: Fraction(full.total.mult_adds, 10**6)}
            extra_p = {name: Fraction(full.total.weights, 10**6)}
        own = r["model"] in OWN_NETWORKS
        out.append(Row(r["label"], r["top1"],
                       _madds_check(text["mult_adds_millions"], a, extra_m,
                                    _quoted(r["model"], "mult_adds_millions"), r["label"], own, r["model"]),
                       _params_check(text["params_millions"], a, extra_p,
                                     _quoted(r["model"], "params_millions"), r["label"], own, r["model"])))
    return out


def _number(printed: str):
    """A printed figure as a number: '569' -> 569, '4.2' -> 4.2."""
    text = printed.strip()
    return int(text) if text.lstrip("-").isdigit() else float(text)


def _tidy(label: str, quantity: str, c: Check | None, **extra) -> dict:
    """One published figure against the computed one, for CSV and to_frame()."""
    return {"row": label, **extra, "quantity": quantity, "published": _number(c.printed) if c else None,
            "computed": c.computed if c else None, "delta": c.difference if c else None,
            "check": c.verdict() if c else ""}


def _cost_table(title: str, rows: list[Row], unit: str = "M") -> PaperTable:
    for column in ("madds", "params"):
        judge([getattr(r, column) for r in rows if getattr(r, column) is not None])
    headers = ["Model", "Top-1 % (pub.)", f"{unit} Mult-Adds pub.", f"{unit} Mult-Adds computed",
               f"Δ {unit} Mult-Adds", "Mult-Adds check", "M Params pub.", "M Params computed", "Δ M Params",
               "Params check"]
    numeric = [False, True, False, True, True, False, False, True, True, False]
    body = []
    for r in rows:
        m, p = r.madds, r.params
        body.append([r.label, r.top1,
                     m.printed if m else "", round(m.computed, 2) if m else None,
                     round(m.difference, 2) if m else None, m.verdict() if m else r.note,
                     p.printed if p else "", round(p.computed, 3) if p else None,
                     round(p.difference, 3) if p else None, p.verdict() if p else ""])
    tidy = [_tidy(r.label, q, c, top1_published=r.top1) | ({"check": r.note} if c is None else {})
            for r in rows for q, c in ((f"mult_adds_{_UNIT_WORDS[unit]}", r.madds), ("params_millions", r.params))]
    return PaperTable(title, headers, numeric, body, tidy)


_UNIT_WORDS = {"M": "millions", "B": "billions"}


def _imagenet(table: int) -> list[dict]:
    return [r for r in load_published("imagenet_models") if r["table"] == table]


def _table2() -> PaperTable:
    shares = {s.type: s for s in analyze("mobilenet_v1").by_type()}
    rows = []
    for r in load_published("table2_by_type"):
        s = shares.get(r["type"])
        rows.append((r["type"], [Check(r["_text"][key], getattr(s, key) if s else 0.0, label=r["type"], own=True)
                                 for key in ("mult_adds_pct", "params_pct")]))
    for column in (0, 1):
        judge([checks[column] for _, checks in rows])
    body = [[name] + [v for c in checks for v in (c.printed, round(c.computed, 2), round(c.difference, 2), c.verdict())]
            for name, checks in rows]
    headers = ["Type", "% Mult-Adds pub.", "% Mult-Adds computed", "Δ % Mult-Adds", "Mult-Adds check",
               "% Params pub.", "% Params computed", "Δ % Params", "Params check"]
    numeric = [False, False, True, True, False, False, True, True, False]
    tidy = [_tidy(name, q, c) for name, checks in rows for q, c in zip(("mult_adds_pct", "params_pct"), checks)]
    return PaperTable(_TITLES["2"], headers, numeric, body, tidy,
                      notes=["Shares of conv + fc Mult-Adds and of weights (the paper's conventions)."])


def _table7() -> PaperTable:
    from mbcost.results.separable import compare_layer

    settings = {"Convolution": ("standard", {}), "Depthwise separable conv": ("separable", {}),
                "α = 0.75": ("separable", {"alpha": 0.75}), "ρ = 0.714": ("separable", {"alpha": 0.75, "rho": 0.714})}
    rows = []
    for r in load_published("table7_layer"):
        which, kw = settings[r["modification"]]
        a = getattr(compare_layer(3, 512, 512, 14, **kw), which)
        label = r["modification"]
        rows.append(Row(label, None, _madds_check(r["_text"]["mult_adds_millions"], a, label=label, own=True),
                        _params_check(r["_text"]["params_millions"], a, label=label, own=True)))
    return _cost_table(_TITLES["7"], rows)


def _table10() -> PaperTable:
    rows = _cost_rows([dict(r, table=10) for r in load_published("table10_dogs")], classes=120)
    return _cost_table(_TITLES["10"], rows)


def _table13() -> PaperTable:
    headers = ["Framework", "Resolution", "Backbone", "mAP % (pub.)", "B Mult-Adds pub.", "M Params pub."]
    numeric = [False, True, False, True, False, False]
    body = [[r["framework"], r["resolution"], r["backbone"], r["map"], r["_text"]["mult_adds_billions"],
             r["_text"]["params_millions"]] for r in load_published("table13_coco")]
    tidy = [{"row": f"{r['framework']} {r['resolution']} {r['backbone']}", "map_published": r["map"],
             "quantity": q, "published": _number(r["_text"][q]), "computed": None, "delta": None,
             "check": "not computed: no detection-head specs in the zoo"}
            for r in load_published("table13_coco") for q in ("mult_adds_billions", "params_millions")]
    return PaperTable(_TITLES["13"], headers, numeric, body, tidy,
                      notes=["Published figures only: not computed, as the zoo has no detection-head specs."],
                      computed=False)


def _checkpoints() -> PaperTable:
    rows = []
    for r in load_published("checkpoints"):
        a = analyze("mobilenet_v1", alpha=r["alpha"], resolution=r["resolution"])
        stored = analyze("mobilenet_v1", alpha=r["alpha"], resolution=r["resolution"], classes=1001, params="all")
        label = f"MobileNet_v1_{r['_text']['alpha']}_{r['resolution']}"
        rows.append(Row(label, r["top1"], _madds_check(r["_text"]["mult_adds_millions"], a, label=label,
                                                       source="TF-Slim"),
                        _params_check(r["_text"]["params_millions"], a, label=label, source="TF-Slim",
                                      checkpoint=stored)))
    return _cost_table(_TITLES["checkpoints"], rows)


def paper_tables(table: str | int | None = None) -> list[PaperTable]:
    """The rebuilt tables: all of them, or the one named (2..10, 13, checkpoints)."""
    wanted = [str(table).lower()] if table is not None else list(TABLES)
    unknown = [t for t in wanted if t not in TABLES]
    if unknown:
        raise MbcostError(f"no cost table '{unknown[0]}' to rebuild: choose from {', '.join(TABLES)}"
                          " (Table 1 is the architecture: see 'mbcost table')")
    builders = {"2": _table2, "7": _table7, "10": _table10, "13": _table13, "checkpoints": _checkpoints}
    out = []
    for t in wanted:
        if t in builders:
            out.append(builders[t]())
        else:
            out.append(_cost_table(_TITLES[t], _cost_rows(_imagenet(int(t)))))
    return out
