"""Documents for the commands: an analysis (or a layer comparison, or the zoo)
laid out as tables, with the conventions stated. No terminal, no files here."""

from __future__ import annotations

from mbcost.analysis import UNITS, Analysis
from mbcost.render import Column, Document, Table


def _fmt_alpha(value: float) -> str:
    return f"{value:g}"


def settings_lines(analysis: Analysis, unit: str) -> list[str]:
    return [
        f"unit: {UNITS[unit]}",
        analysis.counted_text(),
        analysis.params_text(),
    ]


def cost_document(analysis: Analysis, *, unit: str = "mult-adds", formula: bool = False,
                  by_type_only: bool = False) -> Document:
    """The per-layer table (``mbcost table``) and the breakdown by layer type."""
    flops = unit == "flops"
    amount = "FLOPs" if flops else "Mult-Adds"
    heading = (f"{analysis.model} · alpha {_fmt_alpha(analysis.alpha)} · input {analysis.input}")
    tables = []
    if not by_type_only:
        columns = [Column("Layer"), Column("Type / Stride"), Column("Filter Shape"), Column("Input Size"),
                   Column("Output Size"), Column(amount, True), Column("Params", True), Column("%", True)]
        if formula:
            columns.append(Column("Formula (Mult-Adds)"))
        rows = []
        for r in analysis.layers:
            row = [r.name, r.type_stride, r.filter, str(r.input), str(r.output),
                   r.flops if flops else r.mult_adds, r.params, analysis.pct(r)]
            if formula:
                row.append(r.formula)
            rows.append(row)
        total = analysis.total
        footer = ["Total", "", "", "", "", total.flops if flops else total.mult_adds, total.params, 100.0]
        if formula:
            footer.append("")
        tables.append(Table("Per layer", columns, rows, footer))
    shares = analysis.by_type()
    tables.append(Table(
        "By layer type",
        [Column("Type"), Column(amount, True), Column(f"% {amount}", True), Column("Params", True),
         Column("% Params", True)],
        [[s.type, 2 * s.mult_adds if flops else s.mult_adds, s.mult_adds_pct, s.params, s.params_pct]
         for s in shares],
    ))
    t = analysis.total
    summary = [
        f"Total: {(t.flops if flops else t.mult_adds) / 1e6:,.2f} M {amount} · {t.params / 1e6:,.2f} M params "
        f"(weights {t.weights:,}; biases {t.biases:,}; norm {t.norm:,}) · {t.activations:,} output activations"
    ]
    return Document(heading, settings_lines(analysis, unit), tables, analysis.to_dict(unit), summary)


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
    table = Table("", [Column("Layer"), Column("Filter Shape"), Column(amount, True), Column("Params", True),
                       Column("Formula (Mult-Adds)")], rows)
    return Document(heading, settings, [table], data, summary)


def models_document(models: list[tuple[str, str]], aliases: dict[str, str]) -> Document:
    by_target: dict[str, list[str]] = {}
    for alias, target in sorted(aliases.items()):
        by_target.setdefault(target, []).append(alias)
    rows = [[name, ", ".join(by_target.get(name, [])), desc] for name, desc in models]
    data = {"models": [{"name": n, "aliases": by_target.get(n, []), "description": d} for n, d in models]}
    table = Table("", [Column("Model"), Column("Aliases"), Column("Description")], rows)
    return Document("Built-in models", ["any spec file path works wherever a model name does"], [table], data)


def _times(ratio) -> str:
    """A ratio for people: 27.20× above 1, 1/27.2 below."""
    value = float(ratio)
    if value == 0:
        return "0"
    return f"{value:.2f}×" if value >= 1 else f"1/{1 / value:.1f}"


def compare_document(cmp, unit: str = "mult-adds") -> Document:
    """``mbcost compare``: models side by side, ratios to the reference, published figures."""
    flops = unit == "flops"
    amount = "FLOPs" if flops else "Mult-Adds"
    scale = 2 if flops else 1
    ref = cmp.ref
    first = ref.analysis
    rows, models = [], []
    for e in cmp.entries:
        a, pub = e.analysis, e.published
        ma_ratio, p_ratio = cmp.ratio(e, "mult_adds"), cmp.ratio(e, "params")
        computed_m, params_m = scale * a.total.mult_adds / 1e6, a.total.params / 1e6
        pub_ma = scale * pub["mult_adds_millions"] if pub else None
        pub_p = pub["params_millions"] if pub else None
        rows.append([e.label, str(a.input), scale * a.total.mult_adds, a.total.params, a.total.activations,
                     _times(ma_ratio), _times(p_ratio),
                     pub["top1"] if pub else None,
                     pub_ma, round(computed_m - pub_ma, 2) if pub else None,
                     pub_p, round(params_m - pub_p, 2) if pub else None])
        models.append({
            "label": e.label, "model": a.model, "alpha": a.to_dict()["alpha"], "resolution": a.resolution,
            "input": a.input.as_list(), "classes": a.config.classes,
            "mult_adds": a.total.mult_adds, **({"flops": a.total.flops} if flops else {}),
            "params": a.total.params, "activations": a.total.activations,
            "mult_adds_ratio": float(ma_ratio), "params_ratio": float(p_ratio),
            "published": None if pub is None else {
                "top1": pub["top1"], "mult_adds_millions": pub["mult_adds_millions"],
                "params_millions": pub["params_millions"], "label": pub["label"], "source": pub["source"],
                "mult_adds_millions_diff": round(a.total.mult_adds / 1e6 - pub["mult_adds_millions"], 4),
                "params_millions_diff": round(a.total.params / 1e6 - pub["params_millions"], 4),
            },
            "by_type": [{"type": s.type, "mult_adds": s.mult_adds, "mult_adds_pct": round(s.mult_adds_pct, 4),
                         "params": s.params, "params_pct": round(s.params_pct, 4)} for s in a.by_type()],
        })
    main = Table("Models", [Column("Model"), Column("Input"), Column(amount, True), Column("Params", True),
                            Column("Activations", True), Column(f"{amount} vs ref", True),
                            Column("Params vs ref", True), Column("Top-1 % (pub.)", True),
                            Column(f"M {amount} (pub.)", True), Column("Δ M", True),
                            Column("M Params (pub.)", True), Column("Δ M", True)], rows,
                 notes=[f"ref = {ref.label}; 'vs ref' is this model / the reference (1/27.2: 27.2× fewer).",
                        "pub. = published (tables/published): " + "; ".join(sorted({
                            f"{e.label}: {e.published['source']}" for e in cmp.entries if e.published})) if any(
                            e.published for e in cmp.entries) else "no published figures for these settings.",
                        "Δ M = computed − published, in millions."])
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
    breakdown = Table("By layer type", columns, type_rows)
    data = {"reference": ref.label, "unit": unit, "counted": first.counted, "params_convention": first.config.params,
            "models": models}
    heading = "Comparison: " + ", ".join(e.label for e in cmp.entries)
    return Document(heading, settings_lines(first, unit), [main, breakdown], data)
