"""The MobileNet paper's cost tables rebuilt from the shipped specs (``mbcost paper``).

Each row puts the published figure (tables/published, as printed) beside the
computed one and their difference. A row is flagged when the difference is
larger than the published rounding (half a unit of the last printed digit), and
the tool tries to establish why: the figure was truncated rather than rounded,
it matches FLOPs (2 × Mult-Adds), it matches another parameter convention, or
its digits are swapped. When none of these holds, it says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mbcost.analysis import Analysis, analyze
from mbcost.errors import MbcostError
from mbcost.published import load
from mbcost.render import Column, Document, Table
from mbcost.zoo import model_names

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


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def printed_unit(text: str) -> float:
    """The unit of the last printed digit: 0.01 for "1.32", 1 for "569". A whole
    number of four or more digits ending in zeros is read to its last non-zero
    digit ("15300" is 15.3 thousand: unit 100), as such figures are printed."""
    if "." in text:
        return 10.0 ** -_decimals(text)
    digits = text.lstrip("-")
    zeros = len(digits) - len(digits.rstrip("0")) if len(digits) >= 4 else 0
    return 10.0**zeros


def within_rounding(printed: str, value: float) -> bool:
    """True when ``value`` rounds to the printed figure (half a unit of its last digit)."""
    return abs(value - float(printed)) <= 0.5 * printed_unit(printed) + 1e-9


def _truncates_to(printed: str, value: float) -> bool:
    unit = printed_unit(printed)
    return math.isclose(math.floor(value / unit + 1e-9) * unit, float(printed))


def _rounds_up_to(printed: str, value: float) -> bool:
    unit = printed_unit(printed)
    return math.isclose(math.ceil(value / unit - 1e-9) * unit, float(printed))


def _swapped(printed: str, value: float) -> bool:
    text = f"{value:.{_decimals(printed)}f}"
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    for a, b in zip(digits, digits[1:]):
        chars = list(text)
        chars[a], chars[b] = chars[b], chars[a]
        if "".join(chars) == printed and chars != list(text):
            return True
    return False


@dataclass
class Check:
    """One published figure against the computed one."""

    printed: str
    computed: float
    explanation: str = ""
    alternatives: dict[str, float] = field(default_factory=dict)  # convention -> value, tried first
    fallbacks: dict[str, float] = field(default_factory=dict)  # tried after truncation

    @property
    def published(self) -> float:
        return float(self.printed)

    @property
    def difference(self) -> float:
        return self.computed - self.published

    @property
    def ok(self) -> bool:
        return within_rounding(self.printed, self.computed)

    def verdict(self) -> str:
        if self.ok:
            return "ok"
        return self.explain() or "differs: no explanation found"

    def explain(self) -> str:
        for name, value in self.alternatives.items():
            if within_rounding(self.printed, value):
                return f"matches {name}"
        if _truncates_to(self.printed, self.computed):
            return "consistent with truncating (not rounding) to the printed digits"
        for name, value in self.fallbacks.items():
            if within_rounding(self.printed, value):
                return f"matches {name}"
        if _swapped(self.printed, self.computed):
            return f"two digits swapped in print ({self.computed:.{_decimals(self.printed)}f} computed)"
        if _rounds_up_to(self.printed, self.computed):
            return "consistent with rounding up, not to the nearest"
        return ""


def _madds_check(printed: str, a: Analysis, extra: dict | None = None) -> Check:
    value = a.total.mult_adds / 1e6
    fc = sum(r.mult_adds for r in a.layers if r.category == "Fully Connected") / 1e6
    fallbacks = {"the convolutions alone (fully connected layers not counted)": value - fc} if fc else {}
    return Check(printed, value, alternatives={"FLOPs (2 × Mult-Adds)": 2 * value, **(extra or {})},
                 fallbacks=fallbacks)


def _params_check(printed: str, a: Analysis, extra: dict | None = None) -> Check:
    t = a.total
    slim = t.weights + t.biases + t.norm // 2 * 3  # beta, moving mean, moving variance per channel
    return Check(printed, t.weights / 1e6, alternatives={
        "weights + biases": (t.weights + t.biases) / 1e6,
        "TF-Slim checkpoint variables (weights, biases, batch-norm beta, moving mean and variance)": slim / 1e6,
        "all trainable parameters (weights, biases, batch-norm scale and shift)": (t.weights + t.biases + t.norm) / 1e6,
        **(extra or {}),
    })


@dataclass
class Row:
    label: str
    top1: float | None
    madds: Check | None
    params: Check | None
    note: str = ""


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
            extra_m, extra_p = {name: full.total.mult_adds / 1e6}, {name: full.total.weights / 1e6}
        out.append(Row(r["label"], r["top1"], _madds_check(text["mult_adds_millions"], a, extra_m),
                       _params_check(text["params_millions"], a, extra_p)))
    return out


def _cost_table(title: str, rows: list[Row], unit: str = "M") -> Table:
    columns = [Column("Model"), Column("Top-1 % (pub.)", True), Column(f"{unit} Mult-Adds pub."),
               Column(f"{unit} Mult-Adds computed", True), Column("Δ", True), Column("Mult-Adds check"),
               Column("M Params pub."), Column("M Params computed", True), Column("Δ", True), Column("Params check")]
    body = []
    for r in rows:
        m, p = r.madds, r.params
        body.append([r.label, r.top1,
                     m.printed if m else "", round(m.computed, 2) if m else None,
                     round(m.difference, 2) if m else None, m.verdict() if m else r.note,
                     p.printed if p else "", round(p.computed, 3) if p else None,
                     round(p.difference, 3) if p else None, p.verdict() if p else ""])
    return Table(title, columns, body)


def _imagenet(table: int) -> list[dict]:
    return [r for r in load("imagenet_models") if r["table"] == table]


def _table2() -> Table:
    shares = {s.type: s for s in analyze("mobilenet_v1").by_type()}
    body = []
    for r in load("table2_by_type"):
        s = shares.get(r["type"])
        checks = [Check(r["_text"]["mult_adds_pct"], s.mult_adds_pct if s else 0.0),
                  Check(r["_text"]["params_pct"], s.params_pct if s else 0.0)]
        body.append([r["type"]] + [v for c in checks for v in (c.printed, round(c.computed, 2),
                                                                round(c.difference, 2), c.verdict())])
    columns = [Column("Type"), Column("% Mult-Adds pub."), Column("% computed", True), Column("Δ", True),
               Column("check"), Column("% Params pub."), Column("% computed", True), Column("Δ", True),
               Column("check")]
    return Table(_TITLES["2"], columns, body,
                 notes=["Shares of conv + fc Mult-Adds and of weights (the paper's conventions)."])


def _table7() -> Table:
    from mbcost.separable import compare_layer

    settings = {"Convolution": ("standard", {}), "Depthwise separable conv": ("separable", {}),
                "α = 0.75": ("separable", {"alpha": 0.75}), "ρ = 0.714": ("separable", {"alpha": 0.75, "rho": 0.714})}
    rows = []
    for r in load("table7_layer"):
        which, kw = settings[r["modification"]]
        a = getattr(compare_layer(3, 512, 512, 14, **kw), which)
        rows.append(Row(r["modification"], None, _madds_check(r["_text"]["mult_adds_millions"], a),
                        _params_check(r["_text"]["params_millions"], a)))
    return _cost_table(_TITLES["7"], rows)


def _table10() -> Table:
    rows = []
    for r in load("table10_dogs"):
        rows += _cost_rows([dict(r, table=10)], classes=120)
    return _cost_table(_TITLES["10"], rows)


def _table13() -> Table:
    columns = [Column("Framework"), Column("Resolution", True), Column("Backbone"), Column("mAP % (pub.)", True),
               Column("B Mult-Adds pub."), Column("M Params pub."), Column("computed")]
    body = [[r["framework"], r["resolution"], r["backbone"], r["map"], r["_text"]["mult_adds_billions"],
             r["_text"]["params_millions"], "not computed: no detection-head specs in the zoo"]
            for r in load("table13_coco")]
    return Table(_TITLES["13"], columns, body)


def _checkpoints() -> Table:
    rows = []
    for r in load("checkpoints"):
        a = analyze("mobilenet_v1", alpha=r["alpha"], resolution=r["resolution"])
        rows.append(Row(f"MobileNet_v1_{r['_text']['alpha']}_{r['resolution']}", r["top1"],
                        _madds_check(r["_text"]["mult_adds_millions"], a),
                        _params_check(r["_text"]["params_millions"], a)))
    return _cost_table(_TITLES["checkpoints"], rows)


def paper_tables(table: str | int | None = None) -> list[Table]:
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


def paper_document(table: str | int | None = None) -> Document:
    tables = paper_tables(table)
    data = {"tables": [{"title": t.title, "columns": [c.header for c in t.columns], "rows": t.rows} for t in tables]}
    settings = ["computed: Mult-Adds of conv + fc (the paper's convention), parameters = weights;"
                " Δ = computed − published",
                "check: 'ok' when the computed figure rounds to the printed one (to its last digit; 15300 is"
                " read as 15.3 thousand); otherwise the first reason found, or 'no explanation found'"]
    return Document("MobileNet (Howard et al. 2017): published vs computed", settings, tables, data, csv_all=True)
