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
