"""``mbcost report --out DIR``: the figures and the reproduced tables in one folder.

DIR gets ``README.md`` (Markdown: the paper's tables rebuilt, the comparisons
with VGG16, GoogLeNet and the small models, and each figure with the numbers
behind it) and every figure of :mod:`mbcost.figures.plots` as SVG and PNG, linked
relatively. Each file is written whole or not at all; two runs give the same
bytes (no dates, no machine details, the figures' own determinism). The steps
show as a rich progress bar when the stream is a terminal, one plain line each
otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable

from mbcost.errors import MbcostError

#: (file stem, kind, section title, what it shows), in report order.
FIGURES = (
    ("tradeoff", "tradeoff", "Accuracy against cost (the paper's Figures 4 and 5)",
     "ImageNet top-1 of the 16 released MobileNet v1 checkpoints against the Mult-Adds and parameters "
     "mbcost computes for them (log scales), with the Pareto frontier of the checkpoints and the other "
     "networks of the zoo at their published top-1."),
    ("scaling", "scaling", "Scaling with the width multiplier α and the resolution",
     "MobileNet v1's Mult-Adds and parameters against α (at 224×224) and against the input resolution "
     "(at α = 1), beside the ideal α² and ρ² laws scaled to the full network."),
    ("breakdown", "breakdown", "Where the cost is: by layer type (the paper's Table 2)",
     "Share of Mult-Adds and of parameters by layer type for MobileNet 1.0-224, with the percentages the "
     "paper prints."),
    ("layers", "layers", "Layer by layer",
     "Mult-Adds and parameters of every layer of MobileNet 1.0-224, in network order, coloured by type."),
    ("family", "family", "The family: the paper's descendants",
     "ImageNet top-1 of every published configuration of MobileNet v1, MobileNetV2, MobileNetV3, EfficientNet "
     "B0-B7, MnasNet, ShuffleNetV2, ResNet (and torchvision's AlexNet and GoogLeNet) against the Mult-Adds and "
     "weights mbcost computes for them, with one Pareto frontier across all families."),
    ("roofline", "roofline_sweep", "The roofline across hardware",
     "Each network's roofline cost, the sum over its layers of max(MACs, RP × bytes) at 1 byte per element, "
     "as the hardware's ridge point RP = PeakMACs / PeakMemBW grows from 0 (compute alone: the Mult-Adds) to "
     "500 MACs per byte (MobileNetV4, Qin et al. 2024, \"Hardware-independent Pareto efficiency\"); right: the "
     "same divided by the Mult-Adds."),
)
#: The networks of the ridge-point sweep: the lineage and EfficientNet (the paper's sweep).
ROOFLINE_MODELS = ("mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
                   "mobilenet_v4_conv_small", "mobilenet_v4_conv_medium", "mobilenet_v4_hybrid_medium",
                   "efficientnet_b0")
#: Budgets of the family table: the best published top-1 within each.
BUDGETS = (50 * 10**6, 100 * 10**6, 300 * 10**6, 600 * 10**6, 1000 * 10**6, 5000 * 10**6)
#: The comparisons of the paper's Tables 8 and 9 (models missing from the zoo are left out).
COMPARISONS = (
    ("Comparison with popular models (the paper's Table 8)", ("mobilenet", "vgg16", "googlenet")),
    ("Comparison with small models (the paper's Table 9)", ("mobilenet:alpha=0.5,res=160", "squeezenet", "alexnet")),
)


@dataclass
class ReportResult:
    folder: Path
    files: list[Path] = field(default_factory=list)


def _demote(markdown: str) -> str:
    """Headings one level down, to nest a rendered document under a section."""
    return "\n".join("#" + line if line.startswith("#") and line.lstrip("#").startswith(" ") else line
                     for line in markdown.splitlines()) + "\n"


def _md_table(headers: list[str], rows: list[list], numeric: list[bool]) -> list[str]:
    from mbcost.documents.render import cell

    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    out += ["| " + " | ".join(cell(v).replace("|", "\\|") for v in row) + " |" for row in rows]
    return out


def _m(value: int, digits: int = 2) -> str:
    return f"{value / 1e6:,.{digits}f}"


# -- sections ---------------------------------------------------------------------------

def _tradeoff_text(data) -> list[str]:
    on = {what: {id(p) for p in data.frontier(what)} for what in ("madds", "params")}
    rows = []
    for p in data.checkpoints + data.references:
        rows.append([p.label, f"{float(p.alpha):g}", p.resolution, f"{p.top1:.1f}",
                     "" if p.top5 is None else f"{p.top5:.1f}", _m(p.mult_adds), f"{p.published_mult_adds_millions:g}",
                     _m(p.params, 3), f"{p.published_params_millions:g}",
                     "" if p.reference else ("yes" if id(p) in on["madds"] else "no"),
                     "" if p.reference else ("yes" if id(p) in on["params"] else "no")])
    lines = _md_table(["Network", "α", "Resolution", "Top-1 %", "Top-5 %", "M Mult-Adds (computed)",
                       "M Mult-Adds (published)", "M Params (computed)", "M Params (published)",
                       "Pareto (Mult-Adds)", "Pareto (params)"], rows,
                      [False, True, True, True, True, True, True, True, True, False, False])
    notes = ["", "Top-1 and top-5 of the checkpoints: " + data.checkpoints[0].source
             + " (tables/published/checkpoints.csv); of the other networks: "
             + ("; ".join(sorted({f"{p.label}: {p.source}" for p in data.references})) or "none") + "."]
    if data.skipped:
        notes += ["", "Not shown: " + "; ".join(data.skipped) + "."]
    notes += ["", "Pareto: on the frontier of the 16 checkpoints (no other checkpoint is at least as accurate "
                 "for no more cost). Published columns: the cost printed beside the accuracy, for reference; "
                 "the figure plots the computed cost."]
    return lines + notes


def _scaling_text(model: str = "mobilenet_v1") -> list[str]:
    from mbcost.results.analysis import analyze
    from mbcost.core.conventions import PAPER_ALPHAS, PAPER_RESOLUTIONS

    one = analyze(model)
    rows = []
    for a in PAPER_ALPHAS:
        an = analyze(model, alpha=a)
        rows.append([f"{float(a):g}", _m(an.total.mult_adds), f"{an.total.mult_adds / one.total.mult_adds:.4f}",
                     _m(an.total.params, 3), f"{an.total.params / one.total.params:.4f}", f"{float(a * a):.4f}"])
    lines = [f"Width multiplier (input {one.resolution}×{one.resolution}):", ""]
    lines += _md_table(["α", "M Mult-Adds", "÷ α = 1", "M Params", "÷ α = 1", "α²"], rows,
                       [True] * 6)
    rows = []
    for r in PAPER_RESOLUTIONS:
        an = analyze(model, resolution=r)
        rho = Fraction(r, one.resolution)
        rows.append([r, f"{float(rho):.4f}", _m(an.total.mult_adds),
                     f"{an.total.mult_adds / one.total.mult_adds:.4f}", f"{float(rho * rho):.4f}"])
    lines += ["", "Resolution (α = 1; parameters do not depend on it):", ""]
    lines += _md_table(["Resolution", "ρ", "M Mult-Adds", "÷ full", "ρ²"], rows, [True] * 5)
    lines += ["", "Parameters fall more slowly than α²: the classifier's weights scale with α, not α²."]
    return lines


def _paper_text() -> list[str]:
    try:
        from mbcost.results.paper import paper_tables
    except ImportError as exc:
        if getattr(exc, "name", None) != "mbcost.results.paper":
            raise
        return ["_Not available in this installation: `mbcost.results.paper` (the rebuilt paper tables) is missing. "
                "Run `mbcost report` again once it is there._"]
    from mbcost.documents.render import render_text
    from mbcost.documents.views_paper import paper_document

    return [_demote(render_text(paper_document(paper_tables()), "markdown")).rstrip("\n")]


def _family_text() -> list[str]:
    """The family: the best published configuration within each budget, and every
    point with its computed cost (``mbcost pick --all``)."""
    from mbcost.results.family import family_points, paper_figures, pareto

    points = family_points()
    out = ["The best published ImageNet top-1 within a Mult-Adds budget, across every family "
           "(`mbcost pick --all --max-madds 300M`; costs computed, conv + fc Mult-Adds and weights):", ""]
    rows = []
    for budget in BUDGETS:
        fits = [p for p in points if p.mult_adds <= budget]
        if fits:
            best = max(fits, key=lambda p: (p.top1, -p.mult_adds))
            rows.append([f"{budget // 10**6:,} M", f"{best.family} {best.label}", f"{best.top1:.2f}",
                         _m(best.mult_adds), _m(best.params)])
    out += _md_table(["Budget", "Best", "Top-1 %", "M Mult-Adds", "M weights"], rows,
                     [False, False, True, True, True])
    out += ["", "The papers' own figures (tables/published/family_papers.csv) against the zoo networks, judged as "
            "`mbcost paper` judges the MobileNet paper's: ok when the computed figure rounds to the printed one, "
            "else the readings that fit the whole column (batch norm counted, every operation counted, every "
            "parameter counted), else 'no explanation found'. Known causes not computed here: ResNet's paper "
            "counts v1 (stride on the first 1x1 conv), cheaper than torchvision's v1.5; MobileNetV3's final paper "
            "text revises Small and the 0.75 models, which torchvision's builders do not follow.", ""]
    out += _md_table(["Paper row", "Zoo network", "Mult-Adds printed", "computed", "check", "M params printed",
                      "computed", "check"],
                     [[f"{f.family} {f.label}", f.model or "-", f"{f.printed_mult_adds} {f.unit}",
                       "" if f.computed_mult_adds is None else f"{f.computed_mult_adds:,.3f}", f.mult_adds_check,
                       f.printed_params, "" if f.computed_params is None else f"{f.computed_params:,.3f}",
                       f.params_check] for f in paper_figures()],
                     [False, False, True, True, False, True, True, False])
    front = {(p.model, p.label) for p in pareto(points)}
    out += ["", f"Every point ({len(points)}; * on the Pareto frontier of accuracy against Mult-Adds):", ""]
    out += _md_table(["Family", "Configuration", "Input", "Top-1 %", "M Mult-Adds", "M weights", "Source"],
                     [[p.family, p.label + (" *" if (p.model, p.label) in front else ""), str(p.resolution),
                       f"{p.top1:.2f}", _m(p.mult_adds), _m(p.params), p.source] for p in points],
                     [False, False, True, True, True, True, False])
    return out


def _roofline_text() -> list[str]:
    """The sweep's numbers: each network's roofline cost at RP 0, 100 and 500, and
    how much of it is spent waiting for memory."""
    from mbcost.attachments.roofline import roofline

    ridges = (0, 25, 100, 500)
    result = roofline(list(ROOFLINE_MODELS), list(ridges))
    rows = []
    for i, label in enumerate(result.labels):
        total = result.analyses[i].total.mult_adds
        bytes_moved = sum(r.bytes for r in result.rows[i])
        rows.append([label, _m(total), _m(bytes_moved), f"{total / bytes_moved:.1f}"]
                    + [f"{_m(round(result.cost(i, r)))} ({float(result.cost(i, r)) / total:.1f}×)" for r in ridges[1:]])
    s, l = result.labels.index("mobilenet_v4_conv_small"), result.labels.index("mobilenet_v3_large")
    return [
        "`mbcost roofline`: a layer's time on a chip is max(MACs / PeakMACs, bytes / PeakMemBW); times PeakMACs, "
        "a network's cost is Σ max(MACs, RP × bytes), which depends on the chip only through its ridge point RP. "
        "Bytes: weights, biases, input and output at 1 byte per element (int8); batch norm folded. "
        "See docs/roofline.md for the model and a worked layer.",
        "",
        *_md_table(["Network", "M Mult-Adds", "M bytes", "MACs/byte"] + [f"M at RP {r}" for r in ridges[1:]],
                   rows, [False, True, True, True] + [True] * (len(ridges) - 1)),
        "",
        "MobileNetV4-Conv-S against MobileNetV3-Large, of about the same published top-1 (73.8% for timm's "
        "Conv-S weights, 74.0% for torchvision's V3-Large): its roofline cost is "
        + ", ".join(f"{float(result.cost(l, r) / result.cost(s, r)):.2f}× lower at RP {r}" for r in ridges)
        + f": the gap widens as the chip's ridge point rises, towards the ratio of the bytes they move "
        f"({sum(r.bytes for r in result.rows[l]) / sum(r.bytes for r in result.rows[s]):.2f}×).",
        "",
        *_device_latency_text(),
    ]


def _device_latency_text() -> list[str]:
    """What the MobileNetV4 paper measured on its devices: the table ``compare``
    shows (:func:`~mbcost.documents.views.published_latency_table`), for the five
    networks at the resolutions the paper measured them, with its source."""
    from mbcost.documents.views import published_latency_table
    from mbcost.results.published import every_device_latency

    networks = every_device_latency()
    table = published_latency_table([(f"{model} ({res})", measured) for model, res, measured in networks])
    return [f"#### {table.title}", "",
            f"Which chip a network is fast on is what the roofline argues; the MobileNetV4 paper measured its "
            f"{len(networks)} networks on {len(table.columns) - 1} devices (the resolution in brackets). They time "
            "the paper's models, whose printed counts the released code (and so the zoo) does not always match"
            ": see `mbcost compare` for each published figure beside the computed one.", "",
            *_md_table([c.header for c in table.columns], table.rows, [c.numeric for c in table.columns]),
            *[line for note in table.notes for line in ("", note)]]


def _comparison_text(models: tuple[str, ...]) -> list[str]:
    from mbcost.results.comparison import compare, parse_model_arg
    from mbcost.documents.render import render_text
    from mbcost.documents.views import compare_document
    from mbcost.results.zoo import canonical_name

    present, missing = [], []
    for arg in models:
        name = parse_model_arg(arg)[0]
        try:
            canonical_name(name)
        except MbcostError:
            missing.append(name)
            continue
        present.append(arg)
    if len(present) < 2:
        return [f"_Not available: the zoo lacks {', '.join(missing)}._"]
    lines = [f"`mbcost compare {' '.join(present)}`", ""]
    lines.append(_demote(render_text(compare_document(compare(present)), "markdown")).rstrip("\n"))
    if missing:
        lines += ["", f"Left out (no spec in the zoo): {', '.join(missing)}."]
    return lines


# -- the report -------------------------------------------------------------------------

def _prepare(folder: Path) -> None:
    """The report's folder must be a folder or not exist yet (its parent is
    created); the report is built beside it and published whole at the end."""
    if os.path.lexists(folder) and not folder.is_dir():
        raise MbcostError(f"cannot write the report to {folder}: it is a file, not a folder")
    parent = folder.parent if str(folder.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise MbcostError(f"cannot write the report to {folder}: {parent} is not a folder") from None
    except OSError as exc:
        raise MbcostError(f"cannot write the report to {folder}: {exc.strerror or exc}") from None


#: The report's record of what it wrote (name -> SHA-256 of the bytes), in its
#: folder: a later report replaces only files listed there and unchanged since.
MANIFEST = ".mbcost-report.json"


def report_files(png: bool) -> list[str]:
    """Every file a report writes into its folder, in order."""
    names = [f"{stem}.{ext}" for stem, *_ in FIGURES for ext in (("svg", "png") if png else ("svg",))]
    return names + ["README.md", MANIFEST]


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(folder: Path) -> dict[str, str]:
    """The files an earlier report wrote in ``folder`` ({} when none did)."""
    path = folder / MANIFEST
    if not os.path.lexists(path):
        return {}
    problem = f"cannot write the report to {folder}: {path} is not the manifest an earlier report wrote"
    if path.is_symlink() or not path.is_file() or path.stat().st_size > 2**20:
        raise MbcostError(problem)
    try:
        files = json.loads(path.read_text(encoding="utf-8")).get("files")
    except (ValueError, UnicodeDecodeError, AttributeError, OSError):
        raise MbcostError(problem) from None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise MbcostError(problem)
    return files


def check_targets(folder: Path, names: list[str]) -> dict[str, str]:
    """Before anything is written: every file the report will write into
    ``folder`` is new, or one an earlier report wrote there (its manifest) and
    nobody changed since. Refused otherwise, naming the entry in the way.
    Returns the earlier manifest."""
    if not os.path.lexists(folder):
        return {}
    earlier = _manifest(folder)
    for name in names:
        path = folder / name
        if name == MANIFEST or not os.path.lexists(path):
            continue
        if path.is_symlink() or not path.is_file():
            what = "a folder" if path.is_dir() and not path.is_symlink() else \
                "a link" if path.is_symlink() else "not a regular file"
            raise MbcostError(f"cannot write the report to {folder}: {path} is {what}, where the report writes its"
                              f" {name}; move it or choose another folder")
        if name not in earlier:
            raise MbcostError(f"cannot write the report to {folder}: it would replace {path}, which no earlier report"
                              f" wrote; move it or choose another folder")
        if _digest(path) != earlier[name]:
            raise MbcostError(f"cannot write the report to {folder}: {path} was changed since a report wrote it;"
                              f" move it or choose another folder")
    return earlier


def report(out: str | Path, *, png: bool = True,
           progress: Callable[[int, int, str], None] | None = None) -> ReportResult:
    """Write the report into ``out`` (created if need be), whole or not at all:
    every file is made in a staging folder beside it (``.NAME.mbcost-tmp-PID-*``)
    and moved in only when all are done; on failure the staging folder is removed.
    ``progress(done, total, label)`` is called before each step and once at the end."""
    from mbcost import __version__
    from mbcost.documents.output import publish_folder, staging_folder, write_atomic
    from mbcost.figures.plot_data import tradeoff_data
    from mbcost.figures.plot_style import render, require_matplotlib
    from mbcost.figures.plots import figure, tradeoff_figure

    require_matplotlib("mbcost report")
    if not str(out).strip():
        raise MbcostError("--out is empty: give the report's folder")
    folder = Path(out)
    _prepare(folder)
    names = report_files(png)
    check_targets(folder, names)
    staging = staging_folder(folder)
    result = ReportResult(folder)
    sections: dict[str, list[str]] = {}
    tradeoff = {}

    written: dict[str, str] = {}

    def write(name: str, data) -> None:
        import hashlib

        write_atomic(staging / name, data)
        written[name] = hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()
        result.files.append(folder / name)

    def draw(stem: str, kind: str) -> Callable[[], None]:
        def step() -> None:
            if kind == "tradeoff":
                tradeoff["data"] = tradeoff_data()
                fig = tradeoff_figure("both", tradeoff["data"])
            elif kind == "family":
                from mbcost.figures.plot_family import family_tradeoff_figure

                fig = family_tradeoff_figure()
            elif kind == "roofline_sweep":
                from mbcost.attachments.roofline import roofline
                from mbcost.figures.plot_roofline import roofline_figure

                fig = roofline_figure(roofline(list(ROOFLINE_MODELS)))
            else:
                fig = figure(kind)
            write(f"{stem}.svg", render(fig, "svg"))
            if png:
                write(f"{stem}.png", render(fig, "png"))
        return step

    steps: list[tuple[str, Callable[[], None]]] = [(f"figure: {stem}", draw(stem, kind))
                                                  for stem, kind, _, _ in FIGURES]
    steps.append(("the paper's tables", lambda: sections.__setitem__("paper", _paper_text())))
    for i, (title, models) in enumerate(COMPARISONS):
        steps.append((f"comparison: {', '.join(models)}",
                      lambda i=i, models=models: sections.__setitem__(f"compare{i}", _comparison_text(models))))
    steps.append(("scaling numbers", lambda: sections.__setitem__("scaling", _scaling_text())))
    steps.append(("the family", lambda: sections.__setitem__("family", _family_text())))
    steps.append(("the roofline", lambda: sections.__setitem__("roofline", _roofline_text())))
    steps.append(("README.md", lambda: write("README.md", _readme(__version__, sections, tradeoff["data"], png,
                                                                         _again(folder, png)))))
    total = len(steps)
    try:
        for done, (label, step) in enumerate(steps):
            if progress:
                progress(done, total, label)
            step()
        earlier = check_targets(folder, names)  # again: the folder may have changed while the report was drawn
        kept = {n: d for n, d in earlier.items() if n not in written and (folder / n).is_file()}
        write_atomic(staging / MANIFEST, json.dumps({"files": dict(sorted({**kept, **written}.items()))},
                                                    indent=2, allow_nan=False) + "\n")
        result.files.append(folder / MANIFEST)
        publish_folder(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    if progress:
        progress(total, total, "done")
    return result


def _again(folder: Path, png: bool) -> str:
    """The command that writes this report again, to the folder it was written to."""
    import shlex

    return f"mbcost report --out {shlex.quote(folder.as_posix())}" + ("" if png else " --no-png")


def _readme(version: str, sections: dict[str, list[str]], data, png: bool,
            again: str = "mbcost report --out docs/report") -> str:
    out = [
        "# MobileNet's costs, reproduced",
        "",
        f"Generated by `mbcost report` (mbcost {version}) from the layer specs in `tables/` and the published "
        f"figures in `tables/published/`. Do not edit by hand: run `{again}` again.",
        "",
        "Conventions throughout: Mult-Adds count convolutions and fully connected layers (the paper's "
        "convention); parameters are weights only (no biases, no batch-norm scale and shift). "
        "M = millions.",
        "",
        "Contents: the paper's tables rebuilt · the comparisons of Tables 8 and 9 · figures: "
        + " · ".join(title for _, _, title, _ in FIGURES) + ".",
        "",
        "## The paper's tables, rebuilt",
        "",
        "`mbcost paper`: each published figure beside the computed one.",
        "",
        *sections["paper"],
        "",
    ]
    for i, (title, _) in enumerate(COMPARISONS):
        out += [f"## {title}", "", *sections[f"compare{i}"], ""]
    out += ["## Figures", ""]
    for stem, kind, title, what in FIGURES:
        out += [f"### {title}", "", what, "", f"![{title}]({stem}.svg)", ""]
        links = [f"[SVG]({stem}.svg)"] + ([f"[PNG]({stem}.png)"] if png else [])
        command = "tradeoff --all" if kind == "family" else kind
        shell = (f"mbcost roofline {' '.join(ROOFLINE_MODELS)} -o {stem}.svg" if kind == "roofline_sweep"
                 else f"mbcost plot {command} --out {stem}.svg")
        out += [" · ".join(links) + f" · `{shell}`", ""]
        if kind == "tradeoff":
            out += _tradeoff_text(data) + [""]
        elif kind == "family":
            out += sections["family"] + [""]
        elif kind == "scaling":
            out += sections["scaling"] + [""]
        elif kind == "roofline_sweep":
            out += sections["roofline"] + [""]
    return "\n".join(out).rstrip("\n") + "\n"


# -- progress on a terminal, plain lines elsewhere --------------------------------------

def run_report(out: str | Path, *, png: bool = True, stream=None) -> ReportResult:
    """:func:`report` with its steps shown on ``stream`` (standard output by
    default): a rich progress bar on a terminal, one line a step otherwise."""
    stream = stream or sys.stdout
    if not stream.isatty():
        def plain(done: int, total: int, label: str) -> None:
            if done < total:
                stream.write(f"[{done + 1}/{total}] {label}\n")
                stream.flush()

        result = report(out, png=png, progress=plain)
        stream.write(_wrote(result))
        return result
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=stream)
    with Progress(TextColumn("report: {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("starting", total=None)

        def fancy(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        result = report(out, png=png, progress=fancy)
    stream.write(_wrote(result))
    return result


def _wrote(result: ReportResult) -> str:
    n = len(result.files)
    return f"wrote {n} file{'s' if n != 1 else ''} to {result.folder}\n"
