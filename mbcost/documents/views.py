"""Documents for the commands: an analysis (or a layer comparison, or the zoo)
laid out as tables, with the conventions stated. No terminal, no files here."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

from mbcost.results.tables import Analysis
from mbcost.core.conventions import UNITS, alpha_number, counted_text, fmt_alpha
from mbcost.results.comparison import figure_alternatives, fvcore_alternative, judge_published
from mbcost.documents.render import Column, Document, Table, human, json_number
from mbcost.numbers import ratio, safe_float, scaled
from mbcost.results.published import device_latency_json


def settings_lines(analysis: Analysis, unit: str) -> list[str]:
    lines = [
        f"unit: {UNITS[unit]}",
        analysis.counted_text(),
        analysis.params_text(),
    ]
    rule = channel_rule_text(analysis)
    return lines + ([rule] if rule else [])


def evaluation_crop_lines(analysis) -> list[str]:
    """A zoo network's table at another input than its published weights' evaluation
    crop (EfficientNet-B2: its spec's 260 px, the paper's; weights at 288): a line
    saying so, since compare, pick and plot draw it at the crop."""
    from mbcost.results.published import evaluation_crop

    if not isinstance(analysis, Analysis) or analysis.alpha != 1:
        return []
    crop = evaluation_crop(analysis.model)
    if crop is None or crop == analysis.resolution:
        return []
    return [f"the published weights are evaluated at {crop} px, not {analysis.resolution}"
            f" (compare, pick and plot use {crop}; --res {crop} here)"]


def params_text(total, convention: str) -> str:
    """The params total and what it adds up: '1.32 M params = weights 1,319,648
    (not counted: biases 1,000; batch-norm 10,944)'."""
    parts = [("weights", total.weights), ("biases", total.biases), ("batch-norm", total.norm)]
    counted = {"weights": 1, "weights+biases": 2}.get(convention, 3)
    text = f"{human(total.params)} params = " + " + ".join(f"{n} {v:,}" for n, v in parts[:counted])
    left = [f"{n} {v:,}" for n, v in parts[counted:]]
    return text + (f" (not counted: {'; '.join(left)})" if left else "")


def channel_rule_text(analysis) -> str:
    """How channel counts round under alpha, where that is not plain int(alpha·c)."""
    if not isinstance(analysis, Analysis):  # a built model's table: its channels are its own
        return ""
    network = analysis.network
    divisor, min_depth = network.divisor(analysis.config), network.min_depth(analysis.config)
    if divisor == 1 and not min_depth:
        return ""
    whose = "the spec's 'width' rule" if (analysis.config.divisor, analysis.config.min_depth) == (None, None) \
        else "--divisor/--min-depth"
    parts = [f"nearest multiple of {divisor}, never below 90% of alpha·c" if divisor > 1 else "int(alpha·c)"]
    if min_depth:
        parts.append(f"at least {min_depth}")
    return f"channels under alpha: {', '.join(parts)} ({whose})"


def cost_document(analysis: Analysis, *, unit: str = "mult-adds", by_type_only: bool = False,
                  **attachments) -> Document:
    """The per-layer table (``mbcost table``) and the breakdown by layer type, with
    the attachments given (by their view's name; None or False: not asked for),
    each shown as its declaration in :data:`ATTACHMENT_VIEWS` says: ``memory`` (a
    :class:`~mbcost.attachments.memory.MemoryReport`, ``--memory``), ``check`` (a
    :class:`~mbcost.attachments.check.CounterCheck`, ``--check``), ``latency`` (a
    :class:`~mbcost.attachments.latency.LatencyPrediction`, ``--latency``),
    ``formula`` (``--formula``)."""
    views = {view.name for view in ATTACHMENT_VIEWS}
    unknown = sorted(set(attachments) - views)
    if unknown:
        raise TypeError(f"no view declared for attachments {unknown}")
    attached = {name: a for name, a in attachments.items() if a is not None and a is not False}
    flops = unit == "flops"
    scale = 2 if flops else 1
    amount = "FLOPs" if flops else "Mult-Adds"
    heading = analysis.settings_text
    t = analysis.total
    settings = settings_lines(analysis, unit) + evaluation_crop_lines(analysis)
    summary = [
        f"Total: {human(t.flops if flops else t.mult_adds)} {amount} · {params_text(t, analysis.config.params)}"
        f" · {t.activations:,} output activations"
    ]
    data = analysis.to_dict(unit)
    tables = []
    if not by_type_only:
        def fixed(header, value, footer="", priority=0, numeric=False):
            return LayerColumn(header, None, lambda _, i, r: value(r), priority=priority, min_width=0,
                               numeric=numeric, footer=lambda *_: footer)

        total = t.flops if flops else t.mult_adds
        through_amount = [fixed("Layer", lambda r: r.name, "Total"),
                          fixed("Type / Stride", lambda r: r.type_stride, priority=1),
                          fixed("Filter Shape", lambda r: r.filter),
                          fixed("Input Size", lambda r: r.input_text, priority=-1),
                          fixed("Output Size", lambda r: r.output_text),
                          fixed(amount, lambda r: r.flops if flops else r.mult_adds, total, 3, True)]
        after_amount = [fixed("Params", lambda r: r.params, t.params, 3, True),
                        fixed("%", analysis.pct, 100.0, 1, True)]
        declared = [(c, attached[view.name]) for view in ATTACHMENT_VIEWS if view.name in attached
                    for c in view.columns(attached[view.name])]
        order = ([(c, None) for c in through_amount] + [d for d in declared if d[0].after == "amount"]
                 + [(c, None) for c in after_amount] + [d for d in declared if d[0].after != "amount"])
        shown = [(c, a) for c, a in order if c.header is not None]
        # every cell is a name, a shape, a number or a formula: none folds, so a row is one line
        columns = [Column(c.header, c.numeric, priority=c.priority, min_width=c.min_width, whole=True)
                   for c, _ in shown]
        footer = [c.footer(a, scale) for c, a in shown]
        rows = [[c.cell(a, i, r) if c.cell else c.show(c.value(a, i, r), scale) for c, a in shown]
                for i, r in enumerate(analysis.layers)]
        tidy = analysis.records()
        fields = [(c, a) for c, a in order if a is not None and c.key]
        not_asked = {c.key for view in ATTACHMENT_VIEWS if view.name not in attached for c in view.columns(None)}
        for i, (record, r) in enumerate(zip(tidy, analysis.layers)):
            if flops:
                record["flops"] = r.flops
            for key in not_asked - {c.key for c, _ in fields}:
                record.pop(key, None)  # an attachment not asked for: none of its fields (a table's formula)
            for c, a in fields:
                record[c.key] = c.value(a, i, r)
        tables.append(Table("Per layer", columns, rows, footer, tidy=tidy))
    shares = analysis.by_type()
    type_tidy = shares.records()
    if flops:
        for record, s_ in zip(type_tidy, shares):
            record["flops"] = 2 * s_.mult_adds
    tables.append(Table(
        "By layer type",
        [Column("Type"), Column(amount, True), Column(f"% {amount}", True), Column("Params", True),
         Column("% Params", True)],
        [[s.type, 2 * s.mult_adds if flops else s.mult_adds, s.mult_adds_pct, s.params, s.params_pct]
         for s in shares],
        tidy=type_tidy,
    ))
    parts = DocumentParts(settings, summary, tables, data)
    for view in ATTACHMENT_VIEWS:
        if view.name in attached and view.notes is not None:
            view.notes(attached[view.name], analysis, parts)
    return Document(heading, settings, tables, data, summary)


@dataclass
class DocumentParts:
    """What an attachment adds to a document besides its columns."""

    settings: list[str]
    summary: list[str]
    tables: list
    data: dict


@dataclass(frozen=True)
class LayerColumn:
    """An optional column of the per-layer table, declared once.

    ``header``: its heading (None: a field of the tidy records only); ``key``: its
    field in the tidy records (None: shown only); ``value(attachment, i, row)``:
    row ``i``'s plain value; ``show(value, scale)``: the cell (``scale``: 2 for
    FLOPs); ``footer(attachment, scale)``: the total row's cell. ``priority``: on
    a terminal too narrow for the table, lower priorities are left out first (the
    column an option exists for has the highest, 4); ``min_width``: the fewest
    characters it is readable in; ``after``: ``"amount"`` puts it right after the
    Mult-Adds column, else it goes at the end, in declaration order; ``cell(attachment,
    i, row)``, where given: the shown cell instead of ``show(value, scale)`` (a
    formula in named factors, the tidy records keeping the formula in numbers)."""

    header: str | None
    key: str | None
    value: Callable
    priority: int = 0
    min_width: int = 6
    numeric: bool = True
    show: Callable = staticmethod(lambda value, scale: value)
    footer: Callable = staticmethod(lambda attachment, scale: "")
    after: str = ""
    cell: Callable | None = None


@dataclass(frozen=True)
class AttachmentView:
    """How one attachment of a table shows in :func:`cost_document`: its columns
    (``columns(attachment)``, which may read it: memory's heading names the dtype)
    and ``notes(attachment, analysis, parts)``: its settings and summary lines, JSON
    data and extra tables. A new optional column is its attachment function and
    one of these in :data:`ATTACHMENT_VIEWS`."""

    name: str
    columns: Callable
    notes: Callable | None = None


def _memory_columns(m) -> list[LayerColumn]:
    dtype = m.dtype if m is not None else ""
    by = (lambda field: lambda m, i, r: getattr(m.layers[i], field))
    return [LayerColumn(f"In kB ({dtype})", "in_bytes", by("input_bytes"), priority=1, min_width=8,
                        show=lambda v, s: kb(v)),
            LayerColumn("Out kB", "out_bytes", by("output_bytes"), priority=1, min_width=8, show=lambda v, s: kb(v)),
            LayerColumn("Alive kB", "alive_bytes", by("alive_bytes"), priority=4, min_width=8,
                        show=lambda v, s: kb(v)),
            LayerColumn(None, "weight_bytes", by("weight_bytes")),
            LayerColumn("MAC/B", "mult_adds_per_byte", by("intensity"), priority=2, min_width=6)]


def _memory_notes(memory, analysis, parts: DocumentParts) -> None:
    parts.settings.append(MEMORY_NOTE + f"; dtype {memory.dtype}; model size: all parameters (weights, biases, "
                          "batch-norm scale/shift, not folded) × bytes of the dtype")
    mem_data = memory.to_dict()
    for layer, m in zip(parts.data.get("layers", []), mem_data.pop("layers")):
        layer.update({k: v for k, v in m.items() if k != "name"})
    parts.data["memory"] = mem_data
    parts.summary.append(memory_summary(memory))


def _check_notes(check, analysis, parts: DocumentParts) -> None:
    parts.settings.append(FVCORE_NOTE)
    for layer in parts.data.get("layers", []):
        layer["fvcore_mult_adds"] = check.counts.get(layer["name"])
    parts.data["check"] = {"counter": check.counter, "agrees": not check.differing,
                           "differing_layers": list(check.differing)}
    parts.summary.append(check.summary(analysis))


def _named_factor_notes(analysis, parts: DocumentParts) -> None:
    """``table --formula``: under the per-layer table, what the named factors of its
    formulas (attention rows) stand for, then their values, one line for each set of
    rows with the same values (the tidy records keep every formula in numbers)."""
    named = [r for r in analysis.layers if r.named_formula is not None]
    table = parts.tables[0]
    if not named or table.title != "Per layer":
        return
    meanings, remarks, rows_of = {}, {}, {}
    for r in named:
        meanings.update({s: m for s, _, _, m in r.named_formula.symbols})
        remarks.update(dict.fromkeys(r.named_formula.remarks))
        values = ", ".join(f"{s} = {v:,}" + (f" ({how})" if how else "") for s, v, how, _ in r.named_formula.symbols)
        rows_of.setdefault(values, []).append(r.name)
    table.notes.append("Formulas in named factors (attention rows): "
                       + "; ".join([f"{s}: {m}" for s, m in meanings.items()] + list(remarks)) + ".")
    table.notes += [f"{values}: {', '.join(names)}" for values, names in rows_of.items()]


def roofline_columns(a) -> list:
    """``table --roofline RP``'s per-layer columns: bytes moved, arithmetic
    intensity and whether the row is compute- or memory-bound at RP (rows the
    roofline does not cost: blank, "fused")."""
    def row(a, r):
        return a.by_name.get(r.name)

    def intensity(a, i, r):
        x = row(a, r)
        return None if x is None or x.intensity is None else float(x.intensity)

    from mbcost.attachments.roofline import number

    rp = "" if a is None else number(a.ridge)
    return [LayerColumn("Bytes", "roofline_bytes", lambda a, i, r: getattr(row(a, r), "bytes", None), priority=1,
                        min_width=8, show=lambda v, s: "" if v is None else v,
                        footer=lambda a, s: sum(x.bytes for x in a.rows)),
            LayerColumn("MAC/B", "roofline_mult_adds_per_byte", intensity, priority=2, min_width=6,
                        show=lambda v, s: "" if v is None else round(v, 2)),
            LayerColumn(f"Bound @{rp}", "bound", lambda a, i, r: "fused" if row(a, r) is None else
                        row(a, r).bound(a.ridge), priority=4, min_width=7, numeric=False)]


def roofline_notes(a, analysis, parts) -> None:
    """``table --roofline RP``'s settings line, summary line and JSON data."""
    from mbcost.attachments.roofline import FOLDED, number

    rp, rows, total = number(a.ridge), a.rows, a.total
    parts.settings.append(
        f"roofline at ridge point {rp} MACs per byte: bytes = (weights + biases + input + output) × "
        f"{a.bytes_per_element} byte per element; a row is compute-bound when MACs ≥ RP × bytes; "
        f"'fused': no Mult-Adds nor weights (or batch norm, LayerScale), not costed (docs/roofline.md; "
        f"folded kinds: {', '.join(sorted(FOLDED))})")
    parts.summary.append(f"Roofline cost at RP {rp}: {number(total):,} MACs = Σ max(MACs, RP × bytes) "
                         f"({float(total) / analysis.total.mult_adds:.2f}× the Mult-Adds); "
                         f"{sum(r.bound(a.ridge) == 'memory' for r in rows)} of {len(rows)} costed rows memory-bound")
    parts.data["roofline"] = {"ridge_point": rp, "bytes_per_element": a.bytes_per_element,
                              "roofline_macs": number(total), "bytes": sum(r.bytes for r in rows),
                              "layers": {r.name: {"bytes": r.bytes, "bound": r.bound(a.ridge)} for r in rows}}


ATTACHMENT_VIEWS = (
    AttachmentView("memory", _memory_columns, _memory_notes),
    AttachmentView("latency", lambda p: [
        LayerColumn("Pred. ms", "latency_ms", lambda p, i, r: 1e3 * p.seconds[i], priority=4, min_width=8,
                    footer=lambda p, s: p.total_ms)], lambda p, analysis, parts: _add_latency(analysis, p, parts)),
    AttachmentView("check", lambda c: [
        LayerColumn("fvcore", "fvcore_mult_adds", lambda c, i, r: c.counts[r.name], priority=4, min_width=10,
                    show=lambda v, s: s * v, footer=lambda c, s: s * sum(c.counts.values()), after="amount")],
        _check_notes),
    AttachmentView("formula", lambda a: [
        LayerColumn("Formula (Mult-Adds)", "formula", lambda a, i, r: r.formula, priority=4, min_width=20,
                    numeric=False, cell=lambda a, i, r: r.named_formula.text if r.named_formula else r.formula)],
        lambda a, analysis, parts: _named_factor_notes(analysis, parts)),
    AttachmentView("roofline", roofline_columns, roofline_notes),
)


def _add_latency(analysis, prediction, parts: DocumentParts) -> None:
    """``table --latency``: the prediction's source, per-layer and total
    ``latency_ms`` in the JSON, and a table of predicted time by layer type."""
    from mbcost.attachments.latency import batch_caveat, heldout_text

    cal, seconds, batch = prediction.calibration, prediction.seconds, prediction.batch
    settings, tables, data, summary = parts.settings, parts.tables, parts.data, parts.summary
    threads = f"{cal.threads} thread{'s' if cal.threads != 1 else ''}"
    held = heldout_text(cal)
    settings.append(f"latency: predicted from {cal.source} ({cal.machine} · {cal.runtime} · {threads} · batch {batch} · "
                    f"calibrated {cal.created}), not measured: each row's calls by the file's per-kind models"
                    + (f"; {held}" if held else "") + " (mbcost calibrate --validate checks zoo networks)")
    caveat = batch_caveat(cal, batch)
    if caveat:
        settings.append(caveat)
    for layer, s_ in zip(data.get("layers", []), seconds):
        layer["latency_ms"] = 1e3 * s_
    total = prediction.total_ms
    data.setdefault("total", {})["latency_ms"] = total
    data["latency_batch"] = batch
    data["latency_outside_rows_ms"] = 1e3 * prediction.outside_s
    by: dict[str, float] = {}
    for r, s_ in zip(analysis.layers, seconds):
        by[r.category] = by.get(r.category, 0.0) + s_
    outside = "(per pass, outside the rows)"
    if prediction.outside_s:
        by[outside] = prediction.outside_s
    order = sorted(by, key=lambda k: -by[k])
    whole = total / 1e3
    data["latency_by_type"] = [{"type": k, "latency_ms": 1e3 * by[k], "latency_pct": 100 * by[k] / whole
                                if whole else 0.0} for k in order]
    tables.append(Table("Predicted time by layer type",
                        [Column("Type"), Column("Pred. ms", True), Column("% Time", True)],
                        [[k, 1e3 * by[k], 100 * by[k] / whole if whole else 0.0] for k in order],
                        ["Total", total, 100.0]))
    per_image = f"; {total / batch:.2f} ms per image" if batch != 1 else ""
    summary.append(f"Predicted latency: {total:.2f} ms ({cal.runtime}, {threads}, batch {batch}, on {cal.machine})"
                   f"{per_image}")


def layer_document(cmp, unit: str = "mult-adds") -> Document:
    """``mbcost layer``: standard versus depthwise separable, one layer."""
    flops = unit == "flops"
    scale = 2 if flops else 1
    amount = "FLOPs" if flops else "Mult-Adds"
    std, sep = cmp.standard, cmp.separable
    rows = [["Standard conv", std.layers[0].filter, scale * std.total.mult_adds, std.total.params,
             std.layers[0].formula]]
    for r in sep.layers:
        rows.append([f"  {r.name}", r.filter, scale * r.mult_adds, r.params, r.formula])
    rows.append(["Depthwise separable", "", scale * sep.total.mult_adds, sep.total.params,
                 " + ".join(r.formula for r in sep.layers)])
    heading = (f"One layer: D_K={cmp.k}, M={cmp.m}, N={cmp.n}, D_F={cmp.df}"
               f" (alpha {float(cmp.alpha):g}, rho {float(cmp.rho):g})")
    ratio, bound = cmp.ratio, cmp.bound
    summary = [
        f"separable / standard Mult-Adds = {float(ratio):.4f} ({ratio.numerator}/{ratio.denominator}); "
        f"1/N + 1/D_K² = {float(bound):.4f}; parameters ratio {float(cmp.params_ratio):.4f}; "
        f"the separable layer costs {float(1 / ratio):.2f}× less"
    ]
    data = {
        "k": cmp.k, "m": cmp.m, "n": cmp.n, "df": cmp.df,
        "alpha": float(cmp.alpha), "rho": float(cmp.rho), "unit": unit,
        "counted": ["conv"],
        "standard": {"mult_adds": std.total.mult_adds, "params": std.total.params,
                     "formula": std.layers[0].formula},
        "depthwise": {"mult_adds": sep.layers[0].mult_adds, "params": sep.layers[0].params,
                      "formula": sep.layers[0].formula},
        "pointwise": {"mult_adds": sep.layers[1].mult_adds, "params": sep.layers[1].params,
                      "formula": sep.layers[1].formula},
        "separable": {"mult_adds": sep.total.mult_adds, "params": sep.total.params},
        "ratio": float(ratio),
        "ratio_exact": f"{ratio.numerator}/{ratio.denominator}",
        "bound": float(bound),
        "params_ratio": float(cmp.params_ratio),
    }
    if flops:
        for key in ("standard", "depthwise", "pointwise", "separable"):
            data[key]["flops"] = 2 * data[key]["mult_adds"]
    settings = [f"unit: {UNITS[unit]}", "params: weights only (no biases: batch norm follows)"]
    tidy = [{"layer": "standard", "filter": std.layers[0].filter, "mult_adds": std.total.mult_adds,
             "params": std.total.params, "formula": std.layers[0].formula}]
    tidy += [{"layer": r.name, "filter": r.filter, "mult_adds": r.mult_adds, "params": r.params,
              "formula": r.formula} for r in sep.layers]
    tidy.append({"layer": "separable", "filter": "", "mult_adds": sep.total.mult_adds, "params": sep.total.params,
                 "formula": rows[-1][-1]})
    if flops:
        for record in tidy:
            record["flops"] = 2 * record["mult_adds"]
    table = Table("", [Column("Layer"), Column("Filter Shape"), Column(amount, True), Column("Params", True),
                       Column("Formula (Mult-Adds)")], rows, tidy=tidy)
    return Document(heading, settings, [table], data, summary)


def models_document(models: list[tuple[str, str]], aliases: dict[str, str]) -> Document:
    by_target: dict[str, list[str]] = {}
    for alias, target in sorted(aliases.items()):
        by_target.setdefault(target, []).append(alias)
    rows = [[name, ", ".join(by_target.get(name, [])), desc] for name, desc in models]
    data = {"models": [{"name": n, "aliases": by_target.get(n, []), "description": d} for n, d in models]}
    tidy = [{"model": n, "aliases": " ".join(by_target.get(n, [])), "description": d} for n, d in models]
    table = Table("", [Column("Model"), Column("Aliases"), Column("Description")], rows, tidy=tidy)
    return Document("Built-in models", ["any spec file path works wherever a model name does"], [table], data)


def _times(ratio) -> str:
    """A ratio for people: 27.20× above 1, 1/27.2 below."""
    if ratio == 0:
        return "0"
    if ratio >= 1:
        value = safe_float(ratio)
        return f"{value:.2f}×" if value != float("inf") else f"{_sci(ratio)}×"
    inverse = safe_float(1 / ratio)
    return f"1/{inverse:.1f}" if inverse != float("inf") else f"1/{_sci(1 / ratio)}"


def _sci(value: Fraction) -> str:
    """A ratio too large for a float, in decimal scientific notation."""
    from decimal import Context, Decimal

    return f"{Context(prec=6).divide(Decimal(value.numerator), Decimal(value.denominator)):.2e}"


def compare_document(cmp, unit: str = "mult-adds") -> Document:
    """``mbcost compare``: models side by side, ratios to the reference, published figures,
    and each spec's predicted time when compared with a calibration (``--latency``)."""
    flops = unit == "flops"
    amount = "FLOPs" if flops else "Mult-Adds"
    scale = 2 if flops else 1
    ref = cmp.ref
    first = ref.analysis
    rows, models, published_rows, published_tidy = [], [], [], []
    notes: dict[str, int] = {}

    def noted(figure) -> str:
        if figure.grade in ("ok", "not explained", ""):
            return figure.grade
        return f"{figure.grade} [{notes.setdefault(figure.words, len(notes) + 1)}]"

    for e in cmp.entries:
        a, pub = e.analysis, e.published
        ma_ratio, p_ratio = cmp.ratio(e, "mult_adds"), cmp.ratio(e, "params")
        rows.append([e.label, str(a.input), scale * a.total.mult_adds, a.total.params, a.total.activations,
                     _times(ma_ratio), _times(p_ratio)])
        figures = {}
        if pub:
            pub_params = _published_params(a, pub)
            figures = {"mult_adds": judge_published(pub, a.total.mult_adds, "mult_adds",
                                                    {**fvcore_alternative(pub, "mult_adds"),
                                                     **figure_alternatives(a, "mult_adds")}),
                       "params": judge_published(pub, pub_params, "params",
                                                 {} if pub.get("params_convention") == "all"
                                                 else figure_alternatives(a, "params"))}
            m, p = figures["mult_adds"], figures["params"]
            published_rows.append([e.label, pub.get("_text", {}).get("top1", pub["top1"]),
                                   m.printed, m.computed, round(m.delta_pct, 2), noted(m),
                                   p.printed, p.computed, round(p.delta_pct, 2), noted(p)])
            published_tidy.append({"label": e.label, "top1_published": pub["top1"],
                                   "mult_adds_published": m.printed, "mult_adds_computed": m.computed,
                                   "mult_adds_delta_pct": m.delta_pct, "mult_adds_check": m.words,
                                   "params_published": p.printed, "params_computed": p.computed,
                                   "params_delta_pct": p.delta_pct, "params_check": p.words,
                                   "source": pub["source"]})
        models.append({
            "label": e.label, "model": a.model, "alpha": alpha_number(a.config.alpha), "resolution": a.resolution,
            "input": a.input.as_list(), "classes": a.config.classes,
            "mult_adds": a.total.mult_adds, **({"flops": a.total.flops} if flops else {}),
            "params": a.total.params, "activations": a.total.activations,
            "mult_adds_ratio": json_number(ma_ratio), "params_ratio": json_number(p_ratio),
            "published": None if pub is None else {
                "top1": pub["top1"], "mult_adds_millions": pub["mult_adds_millions"],
                "params_millions": pub["params_millions"], "label": pub["label"], "source": pub["source"],
                "mult_adds_millions_diff": round(ratio(a.total.mult_adds, 10**6) - pub["mult_adds_millions"], 4),
                "params_millions_diff": round(ratio(_published_params(a, pub), 10**6) - pub["params_millions"], 4),
                "mult_adds_check": figures["mult_adds"].words, "params_check": figures["params"].words,
            },
            "published_latency": device_latency_json(e.published_latency),
            "by_type": [{"type": s.type, "mult_adds": s.mult_adds, "mult_adds_pct": round(s.mult_adds_pct, 4),
                         "params": s.params, "params_pct": round(s.params_pct, 4)} for s in a.by_type()],
        })
    columns = [Column("Model"), Column("Input"), Column(amount, True), Column("Params", True),
               Column("Activations", True)]
    tidy = _compare_records(cmp, flops)
    settings = settings_lines(first, unit)
    if cmp.calibration is not None:
        from mbcost.attachments.latency import describe

        columns.append(Column("Pred. ms", True))
        for e, row, model, record in zip(cmp.entries, rows, models, tidy):
            ms = e.latency.total_ms if e.latency is not None else None
            row.insert(5, ms)
            model["latency_ms"] = record["latency_ms"] = ms
        settings.append(describe(cmp.calibration) + "; none for a model that is not a spec")
    main = Table("Models", columns + [Column(f"{amount} vs ref", True), Column("Params vs ref", True)], rows,
                 notes=[f"ref = {ref.label}; 'vs ref' is this model / the reference (1/27.2: 27.2× fewer)."]
                 + [e.note for e in cmp.entries if e.note],
                 tidy=tidy)
    tables = [main]
    if published_rows:
        _align_decimals(published_rows, 1)
        by_source: dict[str, list[str]] = {}
        for e in cmp.entries:
            if e.published:
                source = e.published["source"]
                if source.startswith("torchvision "):
                    source = "torchvision's documentation of the IMAGENET1K_V1 weights (tables/published/torchvision.csv)"
                by_source.setdefault(source, []).append(e.label)
        sources = [f"{', '.join(labels)}: {source}" for source, labels in by_source.items()]
        tables.append(Table(
            "Published vs computed",
            [Column("Model"), Column("Top-1 % (pub.)", True, priority=3), Column("Mult-Adds pub.", True, priority=4),
             Column("Mult-Adds computed", True, priority=4), Column("Δ Mult-Adds %", True, priority=0),
             Column("Mult-Adds check", priority=9, whole=True), Column("Params pub.", True, priority=1),
             Column("Params computed", True, priority=1), Column("Δ Params %", True, priority=0),
             Column("Params check", priority=8, whole=True)],
            published_rows,
            notes=["Each published figure as printed, beside the computed count in its unit and convention "
                   f"({'Mult-Adds' if flops else amount}; parameters as the publisher counts them: torchvision and timm"
                   " every parameter, the paper weights); Δ % = (computed − published) / published. Checks:"
                   " ok (rounds to it), rounding (within one unit of its last digit), convention (another"
                   " counting convention rounds to it), not explained.",
                   "pub. = published (tables/published): " + "; ".join(sources)]
            + [f"[{n}] {words}" for words, n in notes.items()],
            tidy=published_tidy))
    measured = published_latency_table([(e.label, e.published_latency) for e in cmp.entries])
    if measured is not None:
        tables.append(measured)
    types: list[str] = []
    shares = []
    for e in cmp.entries:
        by = {s.type: s for s in e.analysis.by_type()}
        shares.append(by)
        types += [t for t in by if t not in types]
    columns = [Column("Type")]
    for e in cmp.entries:
        columns += [Column(f"{e.label} % {amount}", True), Column(f"{e.label} % Params", True)]
    type_rows = [[t] + [v for by in shares for v in ((by[t].mult_adds_pct, by[t].params_pct) if t in by else (None, None))]
                 for t in types]
    breakdown = Table("By layer type", columns, type_rows,
                      tidy=[{"type": t, "label": e.label, "mult_adds_pct": by[t].mult_adds_pct,
                             "params_pct": by[t].params_pct} for t in types
                            for e, by in zip(cmp.entries, shares) if t in by])
    data = {"reference": ref.label, "unit": unit, "counted": first.counted, "params_convention": first.config.params,
            "models": models}
    heading = "Comparison: " + ", ".join(e.label for e in cmp.entries)
    return Document(heading, settings, tables + [breakdown], data)


def published_latency_table(networks: list[tuple[str, dict | None]], notes: tuple[str, ...] = ()) -> Table | None:
    """The latencies the networks' paper measured (``networks``: label and
    :func:`~mbcost.results.published.device_latencies`, None for a network with
    none), one row per network that has any and one column per device any of
    them has (empty where the paper gives none); None where no network has any.
    On a narrow terminal the devices fewest of the networks were measured on are
    left out first. ``notes`` follow the table's own."""
    from mbcost.results.published import latency_devices

    devices = latency_devices([measured for _, measured in networks])
    if not devices:
        return None
    measured = [(label, m) for label, m in networks if m]
    rows = [[label] + [m["printed"].get(d) for d in devices] for label, m in measured]
    shared = {d: sum(d in m["ms"] for _, m in measured) for d in devices}
    columns = [Column("Model", whole=True)] + [Column(d, True, priority=shared[d]) for d in devices]
    by_source: dict[str, list[str]] = {}
    for label, m in measured:
        by_source.setdefault(m["source"], []).append(label)
    lines = ["The paper's own measurements on those devices (median latency, ms, as printed), for the paper's models "
             "at their published resolutions: not predicted or measured by mbcost. Empty: the paper gives no "
             "latency there ('-': not benchmarked, or 'Failed')."]
    lines += [f"source: {', '.join(labels)}: {source}" for source, labels in by_source.items()]
    others = [label for label, m in networks if not m]
    if others:
        lines.append(f"no published device latencies for: {', '.join(others)}")
    tidy = [{"label": label, "device": d, "latency_ms_published": m["ms"][d], "source": m["source"]}
            for label, m in measured for d in devices if d in m["ms"]]
    return Table("Published latency (ms), by device", columns, rows, notes=lines + list(notes), tidy=tidy)


def _align_decimals(rows: list[list], column: int) -> None:
    """Published figures as printed, their decimal points aligned in the column
    (60.2 above 77.692): padded on the right, never given digits they lack."""
    decimals = [len(str(r[column]).split(".")[1]) if "." in str(r[column]) else 0 for r in rows]
    most = max(decimals, default=0)
    for r, d in zip(rows, decimals):
        if r[column] is not None:
            pad = most - d + (1 if most and not d else 0)  # a whole number lacks the point too
            r[column] = f"{r[column]}{' ' * pad}"


def _published_params(a, pub) -> int:
    """The computed parameters in the convention the published figure counts."""
    if pub and pub.get("params_convention") == "all":
        return a.total.weights + a.total.biases + a.total.norm
    return a.total.params


def _compare_records(cmp, flops: bool) -> list[dict]:
    records = cmp.records()
    for record, e in zip(records, cmp.entries):
        if flops:
            record["flops"] = e.analysis.total.flops
        pub = e.published
        record["mult_adds_millions_delta"] = (
            ratio(e.analysis.total.mult_adds, 10**6) - pub["mult_adds_millions"] if pub else None)
        record["params_millions_delta"] = (ratio(_published_params(e.analysis, pub), 10**6) - pub["params_millions"]
                                           if pub else None)
    return records


# -- torch: mbcost check, table --check, table --torch --------------------------
# (the documents only; torch is imported by the adapters, never here)

FCM_NOTE = ("FlopCounterMode: torch.utils.flop_counter's FLOPs for convolutions and matrix products, halved to "
            "Mult-Adds; n/a where a row's count includes batch norm, pooling or activations, which it cannot count")
MODEL_CONVENTIONS = ("counted as fc: attention's Q·Kᵀ and A·V and other products of computed tensors (matmul, bmm, "
                     "einsum, scaled_dot_product_attention), recurrent layers' weight products per step; upsampling "
                     "as pooling (nearest 1, bilinear 4 per output, as fvcore); shared parameters once "
                     "(docs/spec-format.md)")


def model_conventions(analysis) -> str:
    """The conventions line of a built model's table; the ONNX route says how it
    counted the file's parameters (``shared_rule``: an exporter may write a shared tensor twice)."""
    rule = getattr(analysis, "shared_rule", None)
    return MODEL_CONVENTIONS if rule is None else MODEL_CONVENTIONS.replace("shared parameters once", rule)


def not_counted_lines(analysis) -> list[str]:
    """A built model's heading lines for what was not counted: operators not in the
    operator table (the total is then incomplete), operators counted as nothing, shared parameters."""
    lines = []
    if analysis.not_counted:
        ops = "; ".join(f"{op} ×{v['calls']} in {', '.join(v['rows'])}" for op, v in sorted(analysis.not_counted.items()))
        lines.append(f"TOTAL INCOMPLETE: operators mbcost's operator table does not have, counted as nothing: {ops}")
    if analysis.counted_as_nothing:
        ops = ", ".join(f"{op} ×{n}" for op, n in sorted(analysis.counted_as_nothing.items()))
        lines.append(f"ran and counted as nothing under this convention: {ops}")
    for module, (n, first) in analysis.shared.items():
        lines.append(f"{module}: {n:,} parameters shared with {first} (counted once, under {first})")
    return lines


FVCORE_NOTE = ("fvcore: FlopCountAnalysis per module, handles set to this convention (batch norm 1 per element; "
               "pooling Kh·Kw per output, global H·W·C; activations 1 per element; groups not counted switched off)")


def _na(value):
    return "n/a" if value is None else value


def _check_records(n) -> list[dict]:
    """One row per layer of one checked configuration."""
    return [{"model": n.model, "alpha": alpha_number(n.alpha), "in_h": n.input.h, "in_w": n.input.w,
             "in_c": n.input.c, "layer": r.name, "type": r.type, "out_h": r.output.h, "out_w": r.output.w,
             "out_c": r.output.c, "symbolic_mult_adds": r.symbolic, "fvcore_mult_adds": r.fvcore,
             "flop_counter_mult_adds": r.flop_counter, "params": r.params.total,
             "torch_params": r.torch_params.total, "ok": r.ok, "verdict": r.verdict} for r in n.layers]


def check_document(result, *, layers: bool | None = None) -> Document:
    """``mbcost check``: per configuration, each layer's three Mult-Adds counts,
    parameters and verdict; a summary table across configurations."""
    nets = result.networks
    if layers is None:
        layers = len(nets) == 1
    devices = sorted({n.fvcore_device for n in nets})
    settings = [
        f"unit: {UNITS['mult-adds']} · " + counted_text(result.count),
        "symbolic: mbcost's formulas · torch build: one module per spec row, named after it, on the meta device",
        FVCORE_NOTE + (f"; traced on {', '.join(devices)}" + (" with zero weights" if "cpu" in devices else "")
                       if devices else ""),
        FCM_NOTE,
        "params: weights, biases and batch-norm scale/shift compared separately (shown: their sum); "
        "output shapes of the forward pass compared with the spec's",
    ]
    summary_table = Table(
        "Configurations",
        [Column("Model", whole=True), Column("Alpha", priority=3), Column("Input", priority=3),
         Column("Layers", True, priority=-1), Column("Symbolic", True, priority=2), Column("fvcore", True, priority=1),
         Column("FlopCounterMode", True, priority=1), Column("Params", True), Column("Params (torch)", True),
         Column("Verdict", priority=9)],  # the verdict is what check is for: it stays on screen longest
        [[n.model + (f" · depth {fmt_alpha(n.depth_mult)}" if n.depth_mult != 1 else ""), fmt_alpha(n.alpha),
          str(n.input), len(n.layers), n.symbolic, n.fvcore,
          _na(n.flop_counter), n.params.total, n.torch_params.total,
          "ok" if n.ok else f"DIFFERS at {n.first_mismatch.name}"] if not n.skipped else
         [n.model, fmt_alpha(n.alpha), str(n.input), 0, None, None, None, None, None,
          "not checked: no such network"] for n in nets],
    )
    layer_tables = []
    for n in nets:
        if not (layers or not n.ok):
            continue
        rows = [[r.name, r.type, str(r.output), r.symbolic, r.fvcore, _na(r.flop_counter), r.params.total,
                 r.torch_params.total, r.verdict] for r in n.layers]
        footer = ["Total", "", "", n.symbolic, n.fvcore, _na(n.flop_counter), n.params.total,
                  n.torch_params.total, "ok" if n.ok else f"{sum(not r.ok for r in n.layers)} differ"]
        tidy = _check_records(n)
        layer_tables.append(Table(
            n.label,
            [Column("Layer"), Column("Type", priority=-1), Column("Output", priority=-1),
             Column("Symbolic", True, priority=2), Column("fvcore", True, priority=1),
             Column("FlopCounterMode", True, priority=1), Column("Params", True), Column("Params (torch)", True),
             Column("Verdict", priority=9)],
            rows, footer, tidy=tidy,
        ))
    tables = layer_tables + [summary_table] if len(nets) == 1 else [summary_table] + layer_tables
    total_rows = sum(len(n.layers) for n in nets)
    skipped = [n for n in nets if n.skipped]
    checked = len(nets) - len(skipped)
    if result.ok:
        which = "The configuration agrees" if checked == 1 else f"All {checked} configurations agree"
        summary = [f"{which} on every layer ({total_rows} rows): symbolic = fvcore = FlopCounterMode "
                   "(where it applies); parameters and output shapes equal."]
    else:
        summary = ["MISMATCH: " + result.failure_message()]
    summary += [f"Not checked: {n.label}: {n.skipped}" for n in skipped]
    return Document("mbcost check: symbolic vs fvcore vs FlopCounterMode", settings, tables, result.to_dict(),
                    summary, csv_rows=[row for n in nets for row in _check_records(n)])


def _onnx_notes(analysis) -> list[str]:
    notes = [f"from {analysis.description}",
             "rows: the modules named in the graph's node scopes (a torch export), else one per operator; counted "
             "per ONNX operator by mbcost's own handles (docs/onnx.md)"]
    return notes + list(analysis.graph.notes)


def _torch_notes(analysis) -> list[str]:
    notes = ["rows: leaf modules in the order they finish, plus modules with counted operators of their own; counts "
             f"from fvcore (FlopCountAnalysis) per module, traced on {analysis.device}", FVCORE_NOTE]
    return notes + ([analysis.build_note] if analysis.build_note else [])


def _torch_notes_after(analysis) -> list[str]:
    notes = []
    if analysis.uncalled_params:
        notes.append(f"{analysis.uncalled_params:,} parameters belong to modules the forward pass did not call and "
                     "are not in the table")
    return notes


#: What a built model's table says about how it was counted, by its ``source``: (its name in the heading,
#: lines before the rolling note, lines after it). A source not listed gets its own name and no lines.
MODEL_NOTES = {"onnx": ("ONNX", _onnx_notes, lambda analysis: []),
               "torch": ("PyTorch", _torch_notes, _torch_notes_after)}


def model_cost_document(analysis, *, unit: str = "mult-adds", by_type_only: bool = False,
                        **attachments) -> Document:
    """``mbcost table --torch``, ``mbcost table model.onnx`` (any source's built
    model, a :class:`~mbcost.results.tables.ModelTable`, rolled up or not): the
    per-layer table and breakdown, with the model's own sizes and how its counter
    counted. A rolled-up table's rows are indented by module depth; on a narrow
    terminal a long module path is shortened in the middle (CSV and JSON keep it)."""
    doc = cost_document(analysis, unit=unit, by_type_only=by_type_only, **attachments)
    max_depth = analysis.rolled_depth
    if not by_type_only:
        layer, kind = doc.tables[0].columns[:2]
        layer.shorten, layer.min_width = True, 20
        kind.priority = 2  # a module's class says more than its share in %
        if max_depth is not None:
            for row in doc.tables[0].rows:
                row[0] = "  " * row[0].count(".") + row[0]
    if attachments.get("memory") is not None:
        doc.settings = [TORCH_MEMORY_NOTE + s[len(MEMORY_NOTE):] if s.startswith(MEMORY_NOTE) else s
                        for s in doc.settings]
    name, before, after = MODEL_NOTES.get(analysis.source, (analysis.source, lambda a: [], lambda a: []))
    doc.heading = f"{analysis.model} ({name}) · input {analysis.input_text}"
    doc.settings.append("sizes: the model's own layout, batch first (N×C×H×W for images)")
    doc.settings += before(analysis)
    if max_depth is not None:
        doc.settings.append(f"rows rolled up to module depth {max_depth}, indented by depth (a module's row sums "
                            "the rows below it; its stride is what its input and output sizes show); totals and "
                            "the breakdown by type are every row's" + (
                                "" if not analysis.hidden else
                                f"; {len(analysis.hidden)} rows at 0 Mult-Adds and 0 params not shown ("
                                + ", ".join(f"{k} ×{analysis.hidden.count(k)}" for k in dict.fromkeys(analysis.hidden))
                                + ")") + "; --all-rows shows every row")
    doc.settings += after(analysis)
    doc.settings.append(model_conventions(analysis))
    doc.settings.extend(not_counted_lines(analysis))
    if analysis.not_counted:  # next to the total too
        ops = ", ".join(f"{op} ×{v['calls']}" for op, v in sorted(analysis.not_counted.items()))
        doc.summary.append(f"TOTAL INCOMPLETE: not counted (not in the operator table): {ops}")
    return doc


# -- mbcost sweep, mbcost pick --------------------------------------------------------

def _grid_text(values: list) -> str:
    """``0.25 to 1 step 0.05 (16 values)`` for an arithmetic grid, else the list."""

    def show(v):
        return fmt_alpha(v) if not isinstance(v, int) else str(v)

    ordered = sorted(values)
    if len(ordered) > 4:
        steps = {b - a for a, b in zip(ordered, ordered[1:])}
        if len(steps) == 1:
            return f"{show(ordered[0])} to {show(ordered[-1])} step {show(steps.pop())} ({len(ordered)} values)"
    return ", ".join(show(v) for v in sorted(values, reverse=True))


def sweep_document(result, unit: str = "mult-adds") -> Document:
    """``mbcost sweep``: one row per (alpha, resolution), exact counts, published accuracy where known."""
    from mbcost.core.conventions import PARAM_CONVENTIONS

    flops = unit == "flops"
    amount = "FLOPs" if flops else "Mult-Adds"
    scale = 2 if flops else 1
    n_a, n_r = len(result.alphas), len(result.resolutions)
    if result.method == "vectorized":
        method = (f"method: vectorized, exact: {n_a} + {n_r} network evaluations, Mult-Adds = "
                  "A·Pᵀ (A: per-part channel terms by alpha, P: positions by resolution) in integers")
    else:
        method = f"method: one evaluation per configuration ({result.reason})" if result.reason else \
            "method: one evaluation per configuration"
    cfg = result.config
    settings = [f"unit: {UNITS[unit]}", counted_text(result.config.count),
                "params: " + PARAM_CONVENTIONS[cfg.params],
                f"alpha: {_grid_text(result.alphas)} · resolution: {_grid_text(result.resolutions)} px", method]
    min_depth, divisor = result.network.min_depth(cfg), result.network.divisor(cfg)
    if min_depth or divisor != 1 or cfg.classes is not None:
        settings.append(f"channels: min depth {min_depth}, divisor {divisor}"
                        + (f"; {cfg.classes} classes" if cfg.classes is not None else ""))
    rows = [[fmt_alpha(r.alpha), r.resolution, scale * r.mult_adds, r.params, r.top1, r.top5] for r in result.rows]
    columns = [Column("Alpha", True), Column("Resolution", True), Column(amount, True), Column("Params", True),
               Column("Top-1 % (pub.)", True), Column("Top-5 % (pub.)", True)]
    if result.calibration is not None:
        from mbcost.attachments.latency import describe

        settings.append(describe(result.calibration))
        columns.insert(4, Column("Pred. ms", True))
        for row, r in zip(rows, result.rows):
            row.insert(4, result.latency_ms[(r.alpha, r.resolution)])
    table = Table("Configurations (alpha descending, then resolution)", columns,
                  rows, notes=[result.published_note],
                  tidy=[dict(r, flops=2 * r["mult_adds"]) if flops else r for r in result.records()])
    heading = (f"{result.model} · sweep of {len(result):,} configuration{'s' if len(result) != 1 else ''} "
               f"({n_a} alpha{'s' if n_a != 1 else ''} × {n_r} resolution{'s' if n_r != 1 else ''})")
    return Document(heading, settings, [table], result.to_dict(unit))


def depth_sweep_document(result, unit: str = "mult-adds") -> Document:
    """``mbcost sweep --depth-mult LIST``: one row per (depth, alpha, resolution)."""
    docs = [(d, sweep_document(r, unit)) for d, r in result.sweeps]
    first = docs[0][1]
    depths = ", ".join(fmt_alpha(d) for d, _ in result.sweeps)
    rows = [[fmt_alpha(d)] + row for d, doc in docs for row in doc.tables[0].rows]
    table = Table("Configurations (depth, then alpha, then resolution, each descending)",
                  [Column("Depth", True)] + first.tables[0].columns, rows, notes=first.tables[0].notes,
                  tidy=[dict(r, **({"flops": 2 * r["mult_adds"]} if unit == "flops" else {})) for r in result.records()])
    sweep0 = result.sweeps[0][1]
    n_d, n_a, n_r = len(docs), len(sweep0.alphas), len(sweep0.resolutions)
    heading = (f"{result.model} · sweep of {n_d * n_a * n_r:,} configurations ({n_d} depth multipliers × {n_a} "
               f"alpha{'s' if n_a != 1 else ''} × {n_r} resolution{'s' if n_r != 1 else ''})")
    settings = first.settings + [f"depth multipliers: {depths}: every 'stage N' of the spec is ceil(D·N) blocks deep"]
    return Document(heading, settings, [table], result.to_dict(unit))


def pick_document(result, top: int | None = None) -> Document:
    """``mbcost pick``: the configurations within budget, best accuracy first."""
    from mbcost.results.pick import INTERPOLATION_RULE

    shown = result.fits if not top else result.fits[:top]
    parts = ([f"{result.max_mult_adds:,} {result.budget_unit()}"] if result.mult_adds_limited else []) + (
        [] if result.max_params is None else [f"{result.max_params:,} params"]) + (
        [] if result.max_latency_ms is None else [f"{result.max_latency_ms:g} ms predicted"])
    budget = " and ".join(parts)
    largest = "Mult-Adds" if result.ridge is None else "roofline cost"
    order = "best accuracy first" if result.source else f"largest {largest} first (no published accuracy)"
    heading = f"{result.model}: configurations within {budget}, {order}"
    settings = [
        "Mult-Adds counted for: conv, fc (paper convention) · params: weights only (paper convention)",
        f"searched: alpha {_grid_text(result.alphas)} × resolution {_grid_text(result.resolutions)} px "
        f"= {result.considered} configurations; {len(result.fits)} fit",
    ]

    def acc(value):
        return "-" if value is None else round(value, 2)

    def how(c):
        e = c.accuracy
        if e.kind == "published":
            return "published"
        if e.kind == "interpolated":
            return f"interpolated: {e.how}"
        return "- (see note)"

    rows = [[i, fmt_alpha(c.alpha), c.resolution, c.mult_adds, c.params, acc(c.accuracy.top1),
             acc(c.accuracy.top5), how(c)] for i, c in enumerate(shown, start=1)]
    cal = result.calibration
    if cal is not None:
        for row, c in zip(rows, shown):
            row.insert(5, c.latency_ms)
        from mbcost.attachments.latency import describe

        limit = "" if result.max_latency_ms is None else f"; budget {result.max_latency_ms:g} ms"
        settings.append(describe(cal) + limit)
    notes = []
    if result.source:
        notes.append(f"Accuracy: ImageNet top-1/top-5 of the released checkpoints ({result.source}); "
                     + INTERPOLATION_RULE + ".")
    missing = [c for c in result.fits if c.accuracy.top1 is None]
    if missing:
        reason = missing[0].accuracy.how
        notes.append(f"-: no accuracy for {len(missing)} configuration{'s' if len(missing) != 1 else ''} "
                     f"({reason}); ranked after those with one, largest {largest} first.")
    if len(shown) < len(result.fits):
        notes.append(f"Showing the best {len(shown)} of {len(result.fits)} that fit (--top 0 shows all).")
    columns = [Column("#", True), Column("Alpha", True), Column("Resolution", True), Column("Mult-Adds", True),
               Column("Params", True), Column("Top-1 %", True), Column("Top-5 %", True), Column("Accuracy")]
    if cal is not None:
        columns.insert(5, Column("Pred. ms", True))
    if result.ridge is not None:
        settings.append(roofline_setting(result.ridge))
        columns.insert(4, Column(f"Roofline @{float(result.ridge):g}", True))
        for row, c in zip(rows, shown):
            row.insert(4, round(c.roofline_macs))
    table = Table("", columns, rows, notes=notes, tidy=result.records()[:len(shown)])
    return Document(heading, settings, [table], result.to_dict(top))


def roofline_setting(ridge) -> str:
    """``pick --ridge``'s settings line: what the roofline cost is and that the budget is on it."""
    return (f"roofline cost at ridge point {float(ridge):g} MACs per byte: Σ over rows of max(MACs, RP × bytes), "
            "1 byte per element (int8); the budget applies to it (mbcost roofline)")


def family_pick_document(result, top: int | None = None) -> Document:
    """``mbcost pick --all``: every family's configurations within budget, best top-1 first."""
    shown = result.shown(top)
    heading = (f"The family ({', '.join(result.families)}): configurations within {result.budget_text()}, "
               "best top-1 first")
    settings = [
        "computed: Mult-Adds counted for: conv, fc (paper convention) · params: weights only (paper convention)",
        f"considered: {result.considered} configurations with a published top-1; {len(result.fits)} fit",
        "accuracy: published ImageNet top-1 (MobileNet v1/V2: TF-Slim checkpoints; MobileNetV4: timm's ImageNet-1K "
        "weights; the others: torchvision's IMAGENET1K_V1 weights at their evaluation crop); MobileNet v1 also "
        "interpolated inside its published grid (the rule of 'mbcost pick'); never carried outside a family's "
        "published points",
    ]
    rows = [[i, p.model, p.label, p.resolution, p.mult_adds, p.params, round(p.top1, 2),
             None if p.top5 is None else round(p.top5, 2), p.family, p.accuracy]
            for i, p in enumerate(shown, start=1)]
    notes = [f"Showing the best {len(shown)} of {len(result.fits)} that fit (--top 0 shows all)."] \
        if len(shown) < len(result.fits) else []
    columns = [Column("#", True), Column("Model", priority=4, whole=True), Column("Config", priority=2),
               Column("Resolution", True, priority=1), Column("Mult-Adds", True, priority=3),
               Column("Params", True, priority=2), Column("Top-1 %", True, priority=4),
               Column("Top-5 %", True, priority=-1), Column("Family", priority=-2), Column("Accuracy", priority=0)]
    if result.calibration is not None:
        from mbcost.attachments.latency import describe

        settings.append(describe(result.calibration) + (
            "" if result.max_latency_ms is None else f"; budget {result.max_latency_ms:g} ms"))
        columns.insert(6, Column("Pred. ms", True, priority=3))
        for row, p in zip(rows, shown):
            row.insert(6, p.latency_ms)
    if result.ridge is not None:  # pick --ridge: the roofline cost (mbcost.attachments.roofline)
        settings.append(roofline_setting(result.ridge))
        columns.insert(5, Column(f"Roofline @{float(result.ridge):g}", True, priority=3))
        for row, p in zip(rows, shown):
            row.insert(5, round(p.roofline_macs))
    table = Table("", columns, rows, notes=notes, tidy=result.records(top))
    measured = published_latency_table([(p.model, p.published_latency) for p in shown if p.published_latency])
    return Document(heading, settings, [table] + ([measured] if measured else []), result.to_dict(top))


# -- memory and measured latency: table --memory, mbcost profile ----------------
# (the documents only; the profile's torch code is in mbcost.adapters.profile)

MEMORY_NOTE = ("memory: rows are units (post ops fused or in place: one output per row); a tensor is alive from "
               "its producer until its last consumer has run, the network input and output included; "
               "kB = 1000 bytes; MAC/B = Mult-Adds per byte moved (parameters + inputs + output)")


TORCH_MEMORY_NOTE = ("memory: from the traced graph, every call that writes a new tensor is a step (in-place calls "
                     "and views write none); a tensor is alive from its producer until its last consumer has run, "
                     "the model's input and output included; a row's In/Out are the tensors it reads from and "
                     "leaves to other rows, Alive its largest step; kB = 1000 bytes; MAC/B = Mult-Adds per byte "
                     "moved")


def kb(n: int) -> float | str:
    """Bytes in kB for a table cell: a float, or for a count too large for one
    (past ~1e308 bytes) its exact decimal text."""
    return n / 1000 if abs(n) < 10**300 else scaled(n, 1000)


def memory_summary(report) -> str:
    """One line: the peak activation memory, where, and the model sizes."""
    from mbcost.attachments.memory import fmt_bytes

    peak = report.peak
    sizes = " · ".join(f"{d} {fmt_bytes(b)}" for d, b in report.model_sizes.items())
    batch = f", batch {report.batch}" if report.batch != 1 else ""
    return (f"Peak activation memory ({report.dtype}{batch}): {fmt_bytes(report.peak_bytes)} while {peak.name} "
            f"runs ({' + '.join(peak.alive)} alive); network input {fmt_bytes(report.input_bytes)}; "
            f"model size ({report.params:,} params): {sizes}")
