"""The ``mbcost`` command: a thin shell over the library.

Each command parses its options, calls one library function and emits a
document. User errors (:class:`MbcostError`, bad options) print one line to
standard error and exit 2. The symbolic commands import neither torch, fvcore,
matplotlib nor pandas; ``check``, ``table --check`` and ``table --torch`` import
torch and fvcore inside their own code paths (and exit 1 when counts differ).
"""

from __future__ import annotations

import sys
from typing import Optional

import typer

from mbcost.core.conventions import unit_key
from mbcost import options as ranges  # every option's range (issue 22)
from mbcost.errors import EXIT_USER_ERROR, MbcostError

app = typer.Typer(
    name="mbcost",
    help="What a convolutional network costs, layer by layer: Mult-Adds, parameters, activations.",
    add_completion=True,  # --install-completion / --show-completion, as typer provides
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from mbcost import __version__

        typer.echo(f"mbcost {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", help="Print mbcost's version and exit.", is_eager=True,
                                       callback=_print_version)) -> None:
    """What a convolutional network costs, layer by layer: Mult-Adds, parameters, activations."""


# -- shared options ---------------------------------------------------------
ALPHA = typer.Option(1.0, "--alpha", "-a", help="Width multiplier (any positive number; 1, 0.75, 0.5, 0.25 in the paper).")
RES = typer.Option(None, "--res", "-r", help="Input resolution in pixels (224, 192, 160, 128 in the paper).")
RHO = typer.Option(None, "--rho", help="Resolution multiplier: a fraction of the spec's input size.")
MIN_DEPTH = typer.Option(None, "--min-depth", help="Smallest channel count after alpha (0: none; default: the spec's 'width' rule, else 0).")
DIVISOR = typer.Option(None, "--divisor", help="Round channels after alpha to a multiple of this (1: int(alpha*c); default: the spec's 'width' rule, else 1).")
DEPTH = typer.Option(1.0, "--depth-mult", "-d", help="Depth multiplier: every 'stage N' of the spec gets ceil(D*N) blocks (EfficientNet's rule; specs with stages: efficientnet_b0, resnet*, mnasnet1_0, shufflenet_v2_*).")
CLASSES = typer.Option(None, "--classes", help="Number of classes: overrides the classifier's outputs (e.g. 120).")
COUNT = typer.Option("conv,fc", "--count", help="Operations whose Mult-Adds count: conv,fc (the paper) plus bn,pool,act.")
PARAMS = typer.Option(None, "--params", help="Parameters totalled: weights, weights+biases, all (default: weights for a spec, the paper's convention; all for --torch, as every peer reports a user's model).")
FLOPS = typer.Option(False, "--flops", help="Show FLOPs (2 x Mult-Adds) instead of Mult-Adds.")
FORMAT = typer.Option(None, "--format", "-f", help="rich, csv, json, markdown or latex (default: from --output's extension, else rich).")
GRID_HELP = "a LIST (1,0.75,0.5) or a RANGE start:stop:step ({example}; stop included when on the grid), or both comma-separated"
#: The network of the paper, what 'mbcost table' shows when no model is named.
DEFAULT_MODEL = "mobilenet_v1"
OUTPUT = typer.Option(None, "--output", "-o", help="Write to this file (whole or not at all) instead of the terminal; a .csv file gets its conventions in NAME.csv-metadata.json beside it.")
COMMENTS = typer.Option(False, "--comments", help="CSV: the heading and conventions as leading '#' lines (pandas: read_csv(..., comment='#')).")


@app.command()
def table(
    model: Optional[str] = typer.Argument(None, help="A built-in model (see 'mbcost models') or a spec file (default: mobilenet_v1)."),
    alpha: float = ALPHA,
    res: Optional[int] = RES,
    rho: Optional[float] = RHO,
    depth_mult: float = DEPTH,
    min_depth: int = MIN_DEPTH,
    divisor: int = DIVISOR,
    classes: Optional[int] = CLASSES,
    count: str = COUNT,
    params: Optional[str] = PARAMS,
    flops: bool = FLOPS,
    by_type: bool = typer.Option(False, "--by-type", help="Only the breakdown by layer type (the paper's Table 2)."),
    formula: bool = typer.Option(False, "--formula", help="Add each layer's formula with the numbers substituted."),
    fmt: Optional[str] = FORMAT,
    output: Optional[str] = OUTPUT,
    comments: bool = COMMENTS,
    check_: bool = typer.Option(False, "--check", help="Add fvcore's count of each layer (needs mbcost[torch]); exit 1 if any differs."),
    torch_model: Optional[str] = typer.Option(None, "--torch", help="Any PyTorch model instead of a spec: pkg.module:factory (needs mbcost[torch])."),
    input_shape: Optional[str] = typer.Option(None, "--input", help="Input shape for --torch: N x C x H x W (default 1x3x224x224)."),
    max_depth: Optional[int] = typer.Option(None, "--max-depth", help="--torch, ONNX: roll rows up the module hierarchy to N dotted levels (as fvcore and torchinfo); totals and the breakdown unchanged."),
    all_rows: bool = typer.Option(False, "--all-rows", help="--torch, ONNX: every module's row (by default a model of more than 50 rows is rolled up to the depth that shows at most 50, zero-cost rows left out; CSV and JSON always have every row)."),
    memory_: bool = typer.Option(False, "--memory", help="Add input/output/alive-at-this-step kB and Mult-Adds per byte per layer, the peak activation memory and the model size."),
    dtype: str = typer.Option("fp32", "--dtype", help="Element type for --memory: fp32, fp16 or int8."),
    latency: Optional[str] = typer.Option(None, "--latency", help="Add each layer's predicted time from this calibration file (mbcost calibrate)."),
    batch: int = typer.Option(1, "--batch", "-b", help="--latency: the predicted time of a forward pass of this many images (counts stay per image)."),
    roofline_rp: Optional[float] = typer.Option(None, "--roofline", help="Add each layer's bytes moved (int8), MACs per byte and compute/memory bound at this ridge point, MACs per byte (mbcost roofline)."),
) -> int:
    """A network's cost per layer: Mult-Adds, params, shapes.

    Per-layer Mult-Adds, parameters and shapes of a network, with totals and the by-type breakdown."""
    from mbcost.documents.output import emit
    from mbcost.documents.render import choose_format
    from mbcost.attachments import TABLE_OPTIONS, check_applies
    from mbcost.documents.views import cost_document, model_cost_document
    from mbcost.sources import accepted, refuse, source_of
    from mbcost.sources.torch_factory import read_target

    fmt = choose_format(fmt, output)
    if dtype != "fp32" and not memory_:
        raise MbcostError("--dtype goes with --memory")
    if batch != 1 and latency is None:
        raise MbcostError("--batch goes with --latency (the predicted time of a batch; the counts are per image)")
    ranges.batch(batch), read_target(torch_model)
    source, arg = source_of(model, torch_model)
    settings = accepted(source, dict(alpha=alpha, resolution=res, rho=rho, depth_mult=depth_mult, min_depth=min_depth,
                                     divisor=divisor, classes=classes, input_size=input_shape), flags=True)
    asked = {"--check": (None,) if check_ else None, "--memory": (dtype,) if memory_ else None,
             "--latency": (latency, batch) if latency is not None else None, "--formula": (None,) if formula else None,
             "--roofline": (_ridge(roofline_rp),) if roofline_rp is not None else None}
    options = [(o, asked[o.flag]) for o in TABLE_OPTIONS if asked[o.flag]]
    for option, _ in options:
        check_applies(option, source)
    for flag, given in (("--max-depth", max_depth is not None), ("--all-rows", all_rows)):
        if given and source.name == "spec":
            refuse([flag], source, ["torch models", "ONNX files"], "a spec's rows are its own layers")
    if max_depth is not None and all_rows:
        raise MbcostError("--max-depth and --all-rows: give one (--all-rows shows every row, --max-depth N rolls "
                          "rows up to depth N)")
    with _Status(f"building {arg} and counting it" if source.name != "spec" else ""):
        table = source.table(arg or DEFAULT_MODEL, count=count, params=params, **settings)
    if max_depth is not None:
        table = table.rolled(max_depth)
    elif source.name != "spec" and not (all_rows or by_type) and fmt not in ("csv", "json"):
        table = table.screenful()  # a screen of rows for people; every row for machines
    slow = [o.flag for o, _ in options if o.flag in ("--check", "--memory") and (o.flag == "--check" or source.name != "spec")]
    with _Status(f"{' and '.join(slow)}: building in PyTorch" if slow else ""):
        attached = {o.name: o.attach(table, *values) for o, values in options}
    doc = (cost_document(table, unit=unit_key(flops), by_type_only=by_type, **attached) if source.name == "spec"
           else model_cost_document(table, unit=unit_key(flops), by_type_only=by_type, **attached))
    emit(doc, fmt, output, comments)
    if "check" in attached and attached["check"].differing:
        sys.stderr.write(f"mbcost: check failed: {attached['check'].summary(table)}\n")
        return 1
    return 0


@app.command()
def layer(
    k: int = typer.Option(3, "--k", help="D_K: kernel side."),
    m: int = typer.Option(..., "--m", help="M: input channels."),
    n: int = typer.Option(..., "--n", help="N: output channels."),
    df: int = typer.Option(..., "--df", help="D_F: output feature-map side."),
    alpha: float = ALPHA,
    rho: float = typer.Option(1.0, "--rho", help="Resolution multiplier applied to D_F."),
    flops: bool = FLOPS,
    fmt: Optional[str] = FORMAT,
    output: Optional[str] = OUTPUT,
    comments: bool = COMMENTS,
) -> None:
    """One layer: standard vs depthwise separable convolution.

    Both costs of one layer, their ratio and 1/N + 1/D_K² (the paper's Table 7)."""
    from mbcost.documents.output import emit
    from mbcost.documents.render import choose_format
    from mbcost.results.separable import compare_layer
    from mbcost.documents.views import layer_document

    fmt = choose_format(fmt, output)
    emit(layer_document(compare_layer(k, m, n, df, alpha=alpha, rho=rho), unit_key(flops)), fmt, output, comments)


@app.command()
def compare(
    models: list[str] = typer.Argument(..., help="Models or spec files, each optionally NAME:alpha=A,res=R,rho=F,depth=D,classes=N (over the options, which apply to all)."),
    reference: Optional[str] = typer.Option(None, "--reference", help="The model ratios are taken against (default: the first)."),
    alpha: float = ALPHA,
    res: Optional[int] = RES,
    rho: Optional[float] = RHO,
    depth_mult: float = DEPTH,
    classes: Optional[int] = CLASSES,
    count: str = COUNT,
    params: Optional[str] = PARAMS,
    flops: bool = FLOPS,
    fmt: Optional[str] = FORMAT,
    output: Optional[str] = OUTPUT,
    comments: bool = COMMENTS,
    latency: Optional[str] = typer.Option(None, "--latency", help="A calibration file (mbcost calibrate): adds each spec's predicted latency."),
) -> None:
    """Networks side by side, with their published figures.

    Networks side by side: Mult-Adds, parameters, activations, ratios, breakdown, published figures."""
    from mbcost.results.comparison import compare as compare_models
    from mbcost.documents.output import emit
    from mbcost.documents.render import choose_format
    from mbcost.documents.views import compare_document

    fmt = choose_format(fmt, output)
    cal = None
    if latency is not None:
        from mbcost.attachments.latency import load_calibration

        cal = load_calibration(latency)
    result = compare_models(models, reference, latency=cal, alpha=alpha, resolution=res, rho=rho,
                            depth_mult=depth_mult, classes=classes, count=count, params=params)
    emit(compare_document(result, unit_key(flops)), fmt, output, comments)


@app.command()
def export(
    model: Optional[str] = typer.Argument(None, help="A built-in model, a spec file or an ONNX file (or --torch)."),
    output: str = typer.Option(..., "--output", "-o", help="The file to write: .spec or .onnx (the form follows the extension)."),
    torch_model: Optional[str] = typer.Option(None, "--torch", help="A PyTorch model instead: pkg.module:factory or file.py:factory (needs mbcost[torch,onnx])."),
    input_shape: Optional[str] = typer.Option(None, "--input", help="Input shape for --torch or an ONNX file: 1 x C x H x W (default 1x3x224x224 for --torch)."),
    alpha: float = ALPHA,
    res: Optional[int] = RES,
    rho: Optional[float] = RHO,
    depth_mult: float = DEPTH,
    min_depth: int = MIN_DEPTH,
    divisor: int = DIVISOR,
    classes: Optional[int] = CLASSES,
) -> None:
    """Write a model as a spec or as ONNX.

    Write a model in another form: a spec (from --torch, an ONNX file or a zoo model) or ONNX (from a spec at --alpha/--res, or --torch)."""
    from mbcost.graphs.export import export as export_model
    from mbcost.sources.torch_factory import read_target

    if model is not None and torch_model is not None:
        raise MbcostError("give a model or spec file, or --torch pkg.module:factory, not both")
    read_target(torch_model)
    with _Status(f"writing {output}"):
        message = export_model(output, model=model, torch_target=torch_model, input_shape=input_shape, alpha=alpha,
                               resolution=res, rho=rho, depth_mult=depth_mult, min_depth=min_depth,
                               divisor=divisor, classes=classes)
    print(message)


@app.command()
def calibrate(
    output: Optional[str] = typer.Option(None, "--output", "-o", help="The calibration file to write (.json)."),
    validate_: Optional[str] = typer.Option(None, "--validate", help="Validate this calibration file on held-out zoo networks (and --torch models) instead."),
    explain_: Optional[str] = typer.Option(None, "--explain", help="Print each call kind's model of this calibration file, and the networks it was fitted on."),
    torch_models: Optional[list[str]] = typer.Option(None, "--torch", help="With --validate: also a torch model, pkg.module:factory or file.py:factory (repeatable; default: efficientnet_pytorch's B0 when installed)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="Threads (default 1 to calibrate; with --validate, the file's, and another is refused)."),
    budget: Optional[float] = typer.Option(None, "--budget", help="Seconds of timed calls in all (default 120 to calibrate, 60 to validate)."),
    runtime: Optional[str] = typer.Option(None, "--runtime", help="torch (default) or onnxruntime."),
    figure: Optional[str] = typer.Option(None, "--figure", help="With --validate: also draw predicted against measured (PNG, SVG or PDF)."),
    fmt: Optional[str] = FORMAT,
    report_output: Optional[str] = typer.Option(None, "--report", help="Write the table to this file too (the format follows the extension)."),
) -> None:
    """Fit a latency model on this machine, or check or explain one.

    Time synthetic networks on this machine and fit a model per call kind (--output), check a model on held-out zoo networks and torch models (--validate), or print its models (--explain)."""
    from mbcost.adapters import require_torch
    from mbcost.documents.output import emit, write_atomic
    from mbcost.documents.render import choose_format

    if sum(x is not None for x in (output, validate_, explain_)) != 1:
        raise MbcostError("give --output FILE (calibrate), --validate FILE (check a calibration) or --explain FILE "
                          "(print its models), one of them")
    if torch_models and validate_ is None:
        raise MbcostError("--torch goes with --validate (the torch models to validate the calibration on)")
    ranges.threads(threads), ranges.budget(budget)
    from mbcost.sources.torch_factory import read_target

    for target in torch_models or ():
        read_target(target)
    if explain_ is not None:
        from mbcost.attachments.latency import load_calibration
        from mbcost.documents.views_profile import explain_document

        emit(explain_document(load_calibration(explain_, threads=threads)), choose_format(fmt, report_output),
             report_output, False)
        return
    require_torch("mbcost calibrate")
    from mbcost.adapters import calibrate as cal_mod
    from mbcost.documents.views_profile import calibration_document, validation_document

    fmt = choose_format(fmt, report_output)
    if output is not None:
        if figure is not None:
            raise MbcostError("--figure goes with --validate")
        from mbcost.documents.output import check_output_path

        check_output_path(output)
        with _Progress() as progress:
            result = cal_mod.calibrate(runtime=runtime or "torch", threads=threads or 1,
                                       budget=budget if budget is not None else 120.0, progress=progress)
        write_atomic(output, result.to_json())
        emit(calibration_document(result, output), fmt, report_output, False)
        return
    from mbcost.attachments.latency import load_calibration

    cal = load_calibration(validate_, runtime=runtime, threads=threads)
    if figure is not None:
        from mbcost.documents.output import check_output_path

        check_output_path(figure)
    with _Progress() as progress:
        results, drift = cal_mod.validate(cal, budget=budget if budget is not None else 60.0, progress=progress,
                                          torch_models=list(torch_models or ()))
    if figure is not None:
        from mbcost.figures.profile_plots import validation_figure

        validation_figure(results, cal, figure)
    emit(validation_document(cal, results, drift), fmt, report_output, False)


@app.command()
def check(
    models_: Optional[list[str]] = typer.Argument(None, metavar="[MODEL_OR_SPEC]...", help="Built-in models or spec files (default: mobilenet_v1)."),
    all_: bool = typer.Option(False, "--all", help="Every built-in model at the paper's 16 configurations (alpha 1, 0.75, 0.5, 0.25 x resolution 224, 192, 160, 128); --alpha/--res narrow it."),
    alpha: Optional[str] = typer.Option(None, "--alpha", "-a", help="Width multipliers: " + GRID_HELP.format(example="0.25:1:0.25") + " (default 1)."),
    res: Optional[str] = typer.Option(None, "--res", "-r", help="Resolutions in pixels: " + GRID_HELP.format(example="128:224:32").replace("1,0.75,0.5", "224,192") + " (default: the spec's)."),
    depth_mult: float = DEPTH,
    min_depth: int = MIN_DEPTH,
    divisor: int = DIVISOR,
    classes: Optional[int] = CLASSES,
    count: str = COUNT,
    layers: Optional[bool] = typer.Option(None, "--layers/--no-layers", help="Per-layer tables (default: for a single configuration, and for any that differs)."),
    fmt: Optional[str] = FORMAT,
    output: Optional[str] = OUTPUT,
    comments: bool = COMMENTS,
) -> int:
    """Check the counts against fvcore and PyTorch, per layer.

    Cross-check every layer: symbolic count vs fvcore vs PyTorch's FlopCounterMode on a real torch build (needs mbcost[torch]); exit 1 on any difference."""
    from mbcost.attachments.check import parse_alphas, parse_resolutions
    from mbcost.core.conventions import PAPER_ALPHAS, PAPER_RESOLUTIONS
    from mbcost.attachments.check import check as run_check
    from mbcost.documents.output import emit
    from mbcost.documents.render import choose_format
    from mbcost.documents.views import check_document

    fmt = choose_format(fmt, output)
    alphas, resolutions = parse_alphas(alpha), parse_resolutions(res)
    if all_:
        if models_:
            raise MbcostError("give model names or --all, not both")
        from mbcost.results.zoo import model_names

        targets = model_names()
        alphas = alphas or list(PAPER_ALPHAS)
        resolutions = resolutions or list(PAPER_RESOLUTIONS)
    else:
        targets = models_ or [DEFAULT_MODEL]
    from mbcost.adapters import require_torch

    require_torch("mbcost check")
    from mbcost.sources import recognise

    targets = [_onnx_as_spec(t) if recognise(t).name == "onnx" else t for t in targets]
    with _Progress() as progress:
        result = run_check(targets, alphas, resolutions, count=count, min_depth=min_depth, divisor=divisor,
                           classes=classes, depth_mult=depth_mult, progress=progress, workers=None)
    emit(check_document(result, layers=layers), fmt, output, comments)
    if not result.ok:
        sys.stderr.write(f"mbcost: check failed: {result.failure_message()}\n")
        return 1
    return 0


def _onnx_as_spec(path: str):
    """``check model.onnx``: the file's graph count must equal, line by line, the
    spec written from it (an error otherwise); that spec is then checked against
    fvcore and FlopCounterMode like any other."""
    from mbcost.graphs.export import export_spec
    from mbcost.core.network import Network

    written = export_spec(path)
    sys.stderr.write(f"mbcost: {path}: the ONNX graph's count equals, line by line, the spec written from it "
                     f"({len(written.modules)} lines); checking that spec on a torch build\n")
    return Network.from_text(written.text, source=path)


class _Status:
    """A spinner with what is being done ('counting my_net.py:build with fvcore'),
    on standard error while it is a terminal; nothing in a pipe, CSV or JSON."""

    def __init__(self, message: str) -> None:
        self.message, self.status = message, None

    def __enter__(self):
        if self.message and sys.stderr.isatty():  # an empty message: nothing to wait for
            from rich.console import Console

            self.status = Console(stderr=True).status(self.message)
            self.status.start()
        return self

    def __exit__(self, *exc) -> bool:
        if self.status is not None:
            self.status.stop()
        return False


class _Progress:
    """A rich progress bar across networks, on standard error when it is a terminal."""

    def __enter__(self):
        self.bar = self.task = None
        if not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("checking {task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self.bar.start()
        return self.update

    def update(self, done: int, total: int, label: str) -> None:
        if self.task is None:
            self.task = self.bar.add_task(label, total=total)
        self.bar.update(self.task, completed=done, description=label)

    def __exit__(self, *exc) -> bool:
        if self.bar is not None:
            self.bar.stop()
        return False


@app.command()
def paper(
    table_: Optional[str] = typer.Option(None, "--table", "-t", help="One table: 2..10, 13 or checkpoints (default: all)."),
    fmt: Optional[str] = FORMAT,
    output: Optional[str] = OUTPUT,
    comments: bool = COMMENTS,
) -> None:
    """The paper's cost tables rebuilt: published vs computed.

    Each table of the paper rebuilt from the specs, every published figure beside the computed one, and each
    difference explained where a reading fits (numbered notes under the table)."""
    from mbcost.documents.output import emit
    from mbcost.documents.render import choose_format
    from mbcost.documents.views_paper import paper_document
    from mbcost.results.paper import paper_tables

    fmt = choose_format(fmt, output)
    emit(paper_document(paper_tables(table_)), fmt, output, comments)


@app.command()
def models(fmt: Optional[str] = FORMAT, output: Optional[str] = OUTPUT, comments: bool = COMMENTS) -> None:
    """List the built-in models."""
    from mbcost.documents.output import emit
    from mbcost.documents.render import choose_format
    from mbcost.documents.views import models_document
    from mbcost.results.zoo import ALIASES, describe_models

    fmt = choose_format(fmt, output)
    emit(models_document(describe_models(), ALIASES), fmt, output, comments)


@app.command()
def plot(
    kind: str = typer.Argument(..., help="tradeoff, scaling, breakdown or layers; roofline or timeshare (measured: needs torch)."),
    model: Optional[str] = typer.Argument(None, help="scaling, breakdown, layers: a built-in model or spec file (default: mobilenet_v1)."),
    out: Optional[str] = typer.Option(None, "--output", "--out", "-o", help="The figure file: .png, .svg or .pdf (default: KIND.png); written whole or not at all."),
    alpha: Optional[float] = typer.Option(None, "--alpha", "-a", help="Width multiplier (scaling: the width of the resolution sweep; default 1)."),
    res: Optional[int] = typer.Option(None, "--res", "-r", help="Input resolution (scaling: the resolution of the width sweep; default: the spec's)."),
    against: str = typer.Option("both", "--against", help="tradeoff: both (two panels), madds, params, latency (predicted: needs --latency FILE), or roofline (with --all and --ridge RP)."),
    latency: Optional[str] = typer.Option(None, "--latency", help="tradeoff --against latency: the calibration file (mbcost calibrate) that predicts each point's time."),
    dpi: Optional[int] = typer.Option(None, "--dpi", help="Pixels per inch of a PNG (default 100; 300 for print)."),
    size: Optional[str] = typer.Option(None, "--size", help="Figure size in inches, WxH (e.g. 8x5; default: the figure's own)."),
    all_: bool = typer.Option(False, "--all", help="tradeoff: every family of the zoo (MobileNet v1/V2/V3, EfficientNet, MnasNet, ShuffleNetV2, ResNet, ...) with one Pareto frontier."),
    threads: Optional[int] = typer.Option(None, "--threads", help="roofline, timeshare: CPU threads for torch while measuring (default: torch's own choice)."),
    budget: float = typer.Option(0.2, "--budget", help="roofline, timeshare: seconds of timed calls per layer (and end to end)."),
    in_context: bool = typer.Option(False, "--in-context", help="roofline, timeshare: time each layer inside whole forward passes instead of alone."),
    ridge: Optional[float] = typer.Option(None, "--ridge", help="tradeoff --all --against roofline: the ridge point, MACs per byte (mbcost roofline)."),
) -> None:
    """Draw a figure: accuracy vs cost, scaling, layers.

    A figure (needs matplotlib): accuracy vs cost, scaling with alpha and resolution, breakdown by type, cost per layer."""
    from mbcost.figures.plot_style import check_dpi, parse_size
    from mbcost.figures.plots import MEASURED_KINDS, check_kind, check_target, plot as draw

    ranges.drawn_alpha(alpha)
    measured = cal = None
    if latency is not None:
        from mbcost.attachments.latency import load_calibration

        cal = load_calibration(latency)
    if check_kind(kind) not in MEASURED_KINDS and (threads is not None or budget != 0.2 or in_context):
        raise MbcostError("--threads, --budget and --in-context go with the measured plots (roofline, timeshare)")
    if check_kind(kind) in MEASURED_KINDS:
        check_target(kind, out), check_dpi(dpi), parse_size(size)  # fail before measuring, not after
        from mbcost.figures.profile_plots import measured as measure

        with _Bar("timing") as progress:
            measured = measure(model or DEFAULT_MODEL, alpha, res, threads=threads, budget=budget,
                               method="in-context" if in_context else "isolated", progress=progress)
        problem = measured.inconsistency()
        if problem:
            sys.stderr.write(f"mbcost: warning: {problem}\n")
        model = alpha = res = None
    with _Status(f"drawing {out or kind}"):
        path = draw(kind, out, model=model, alpha=alpha, resolution=res, against=against, dpi=dpi, size=size,
                    profile=measured, family=all_, latency=cal, ridge=None if ridge is None else _ridge(ridge))
    sys.stdout.write(f"wrote {path}\n")


@app.command()
def report(
    out: str = typer.Option(..., "--output", "--out", "-o", help="The folder (created if need be): README.md and the figures; written whole or not at all."),
    png: bool = typer.Option(True, "--png/--no-png", help="PNG copies of the figures beside the SVGs."),
) -> None:
    """Every figure and table, as a Markdown report in a folder.

    Every figure and the paper's tables rebuilt, as a Markdown report in a folder (needs matplotlib)."""
    from mbcost.figures.report import run_report

    run_report(out, png=png)


def _usage_errors():
    try:
        from typer._click.exceptions import ClickException  # typer >= 0.24 vendors click
    except ImportError:
        from click.exceptions import ClickException
    try:
        from typer._click.exceptions import Abort
    except ImportError:
        from typer import Abort
    return ClickException, Abort


def _fail(message: str, detail: str = "") -> int:
    sys.stderr.write(f"mbcost: error: {message}\n")
    if detail:
        sys.stderr.write(detail + "\n")
    return EXIT_USER_ERROR


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    click_error, abort = _usage_errors()
    command = typer.main.get_command(app)
    if not (sys.argv[1:] if argv is None else argv):  # bare 'mbcost': the help, not an error
        with command.make_context("mbcost", ["--help"], resilient_parsing=True) as ctx:
            sys.stdout.write(command.get_help(ctx) + "\n")
        return 0
    try:
        result = command.main(args=argv, prog_name="mbcost", standalone_mode=False)
    except MbcostError as exc:
        return _fail(str(exc), exc.detail())
    except click_error as exc:
        ctx = getattr(exc, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        return _fail(" ".join(exc.format_message().split()) + where)
    except abort:
        return _fail("aborted")
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return result if isinstance(result, int) else 0


def run() -> None:  # console-script target
    sys.exit(main())


# -- grids: sweep and pick ----------------------------------------------------------
# (registered after main/run above; the app is complete once this module is imported)



@app.command()
def sweep(
    model: str = typer.Argument(DEFAULT_MODEL, help="A built-in model (see 'mbcost models') or a spec file."),
    alpha: str = typer.Option("1,0.75,0.5,0.25", "--alpha", "-a", help="Width multipliers: " + GRID_HELP.format(example="0.25:1:0.05") + "."),
    res: str = typer.Option("224,192,160,128", "--res", "-r", help="Resolutions in pixels: " + GRID_HELP.format(example="128:224:16").replace("1,0.75,0.5", "224,192") + "."),
    depth_mult: str = typer.Option("1", "--depth-mult", "-d", help="Depth multipliers, the third axis (specs with 'stage N'): " + GRID_HELP.format(example="1:2:0.1").replace("1,0.75,0.5", "1,1.1,1.2") + "."),
    min_depth: int = MIN_DEPTH,
    divisor: int = DIVISOR,
    classes: Optional[int] = CLASSES,
    count: str = COUNT,
    params: Optional[str] = PARAMS,
    flops: bool = FLOPS,
    fmt: Optional[str] = FORMAT,
    output: Optional[str] = OUTPUT,
    latency: Optional[str] = typer.Option(None, "--latency", help="A calibration file (mbcost calibrate): adds each configuration's predicted latency (Pred. ms)."),
    comments: bool = COMMENTS,
) -> None:
    """Exact Mult-Adds and params over a grid of widths and sizes.

    Exact Mult-Adds and parameters over a grid of widths and resolutions (default: the paper's 16), one row per configuration, with the published top-1/top-5 where a row is a released MobileNet checkpoint. Vectorized: one evaluation per alpha and per resolution."""
    from mbcost.documents.output import emit
    from mbcost.documents.render import choose_format
    from mbcost.results.sweep_grid import sweep as run_sweep
    from mbcost.documents.views import sweep_document

    fmt = choose_format(fmt, output)
    conventions = dict(min_depth=min_depth, divisor=divisor, classes=classes, count=count, params=params)
    cal = None
    if latency is not None:
        from mbcost.attachments.latency import check_predictable, load_calibration
        from mbcost.results.sweep_grid import parse_grid

        cal = load_calibration(latency)
        check_predictable(len(parse_grid(alpha, "alpha")) * len(parse_grid(res, "resolution"))
                          * len(parse_grid(depth_mult, "depth multiplier")))  # before any work
    from mbcost.results.sweep_grid import parse_grid

    if parse_grid(depth_mult, "depth multiplier") != [1]:  # '1', '1.0', '1.00': the plain sweep, one table
        from mbcost.results.depth_sweep import sweep_depths
        from mbcost.documents.views import depth_sweep_document

        result = sweep_depths(model, alpha, res, depth_mult, **conventions)
        if cal is not None:
            with _Bar("predicting") as progress:
                result = result.with_latency(cal, progress)
        emit(depth_sweep_document(result, unit_key(flops)), fmt, output, comments)
        return
    result = run_sweep(model, alpha, res, **conventions)
    if cal is not None:
        with _Bar("predicting") as progress:
            result = result.with_latency(cal, progress)
    emit(sweep_document(result, unit_key(flops)), fmt, output, comments)


@app.command()
def pick(
    model_arg: Optional[str] = typer.Argument(None, metavar="[MODEL_OR_SPEC]", help="A built-in model or a spec file (default: mobilenet_v1; accuracy is known for mobilenet_v1 only)."),
    max_madds: Optional[str] = typer.Option(None, "--max-madds", help="Mult-Adds budget: 150M, 1.5G, 800K or a whole number (K, M, G: 10^3, 10^6, 10^9)."),
    max_latency: Optional[str] = typer.Option(None, "--max-latency", help="Predicted latency budget: 5ms, 0.5s (needs --latency FILE)."),
    latency: Optional[str] = typer.Option(None, "--latency", help="A calibration file (mbcost calibrate): adds each configuration's predicted latency."),
    max_params: Optional[str] = typer.Option(None, "--max-params", help="Parameter budget (weights), same suffixes: 2M."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="The same as the MODEL argument (kept for scripts)."),
    alpha: Optional[str] = typer.Option(None, "--alpha", "-a", help="Widths to search: " + GRID_HELP.format(example="0.25:1:0.05") + " (default 0.25:1:0.05)."),
    res: Optional[str] = typer.Option(None, "--res", "-r", help="Resolutions to search, LIST or RANGE (default 128:224:16)."),
    top: int = typer.Option(20, "--top", help="Show the best N (0: all that fit)."),
    all_: bool = typer.Option(False, "--all", help="Every family of the zoo (MobileNet v1/V2/V3, EfficientNet, MnasNet, ShuffleNetV2, ResNet, ...): their published configurations, ranked by published top-1."),
    family: Optional[list[str]] = typer.Option(None, "--family", help="Like --all, for these families only (repeat: --family efficientnet --family mnasnet)."),
    ridge: Optional[float] = typer.Option(None, "--ridge", help="The budget (--max-madds) is on the roofline cost at this ridge point, MACs per byte (mbcost roofline), shown for each configuration."),
    fmt: Optional[str] = FORMAT,
    output: Optional[str] = OUTPUT,
    comments: bool = COMMENTS,
) -> None:
    """Configurations within a budget, best accuracy first.

    Configurations within a budget, best ImageNet accuracy first. With --all (or --family): every family's published configurations. Default search: alpha 0.25 to 1 step 0.05 x resolution 128 to 224 step 16 (112 configurations, the 16 published among them). Accuracy is the published one (16 released checkpoints) or interpolated, log-linear in Mult-Adds, between the nearest published resolutions (and then between the nearest published widths); outside alpha 0.25-1 or 128-224 px there is none (never extrapolated) and those rows rank last. Costs: conv+fc Mult-Adds, weights (the paper's convention). With --ridge RP the --max-madds budget is on each configuration's roofline cost at RP, sum over rows of max(MACs, RP x bytes) at int8 (mbcost roofline)."""
    from mbcost.documents.output import emit
    from mbcost.results.pick import parse_budget
    from mbcost.results.pick import pick as run_pick
    from mbcost.documents.render import choose_format
    from mbcost.documents.views import pick_document

    fmt = choose_format(fmt, output)
    if top < 0:
        raise MbcostError(f"--top must be 0 (all) or more, got {top}")
    if max_madds is None and max_latency is None:
        raise MbcostError("give a budget: --max-madds 150M, or --max-latency 5ms with --latency FILE")
    budget = None if max_madds is None else parse_budget(max_madds, "--max-madds")
    limit = None if max_params is None else parse_budget(max_params, "--max-params")
    cal = None
    if latency is not None:
        from mbcost.attachments.latency import load_calibration

        cal = load_calibration(latency)
    if model_arg is not None and model is not None and model_arg != model:
        raise MbcostError(f"two models given: '{model_arg}' and --model '{model}'")
    if all_ or family:
        if model_arg or model or alpha or res:
            raise MbcostError("--all/--family rank the families' published configurations: give no model, "
                              "--alpha or --res with them")
        from mbcost.results.family import pick_family
        from mbcost.documents.views import family_pick_document

        result = pick_family(budget, limit, family, max_latency=max_latency, latency=cal,
                             ridge=None if ridge is None else _ridge(ridge))
        emit(family_pick_document(result, top), fmt, output, comments)
        return
    result = run_pick(budget, limit, model=model_arg or model or DEFAULT_MODEL, alphas=alpha, resolutions=res,
                      max_latency=max_latency, latency=cal, ridge=None if ridge is None else _ridge(ridge))
    emit(pick_document(result, top), fmt, output, comments)


@app.command()
def roofline(
    models: list[str] = typer.Argument(..., help="Models or spec files, each optionally NAME:alpha=A,res=R."),
    ridge: str = typer.Option("0:500:25", "--ridge", help="Ridge points RP = PeakMACs / PeakMemBW in MACs per byte: START:STOP:STEP, a number, or numbers with commas (default 0:500:25, the paper's sweep)."),
    bytes_per_element: int = typer.Option(1, "--bytes-per-element", help="Bytes per weight and activation element (default 1: int8, as the paper's accelerators; 2: fp16; 4: fp32)."),
    hardware: Optional[str] = typer.Option(None, "--hardware", help="A chip as PEAK_MACS_PER_S,BYTES_PER_S (e.g. 4e12,30e9): each network's roofline time in ms at its ridge point."),
    machine: Optional[str] = typer.Option(None, "--machine", help="A calibration file (mbcost calibrate): this machine's measured ridge point, marked on the sweep, and its roofline ms."),
    alpha: float = ALPHA,
    res: Optional[int] = RES,
    count: str = COUNT,
    fmt: Optional[str] = FORMAT,
    output: Optional[str] = typer.Option(None, "--output", "-o", help="A figure (.png, .svg, .pdf: the sweep, needs matplotlib) or a file for the table (whole or not at all)."),
    comments: bool = COMMENTS,
) -> None:
    """Roofline cost of networks across chips' ridge points.

    Each network's roofline cost, sum over layers of max(MACs, RP x bytes), against the hardware's ridge point RP (MobileNetV4's model of latency across chips); at RP 0 it is the Mult-Adds total."""
    from mbcost.attachments.roofline import machine_hardware, roofline as run_roofline
    from mbcost.documents.output import emit
    from mbcost.documents.render import choose_format
    from mbcost.documents.views_roofline import roofline_document

    figure = output is not None and output.lower().endswith((".png", ".svg", ".pdf"))
    if figure and fmt is not None:
        raise MbcostError("--format applies to the table; a figure's format is its extension")
    mine = None
    if machine is not None:
        from mbcost.attachments.latency import load_calibration

        mine = machine_hardware(load_calibration(machine))
    result = run_roofline(models, ridge, bytes_per_element, hardware, mine, alpha=alpha, resolution=res,
                          count=count)
    if figure:
        from mbcost.documents.output import write_atomic
        from mbcost.figures.plot_roofline import roofline_figure
        from mbcost.figures.plot_style import output_format, render
        from mbcost.figures.plots import check_target

        path = check_target("roofline", output)
        write_atomic(path, render(roofline_figure(result), output_format(path)))
        sys.stdout.write(f"wrote {path}\n")
        return
    emit(roofline_document(result), choose_format(fmt, output), output, comments)


def _ridge(value: float):
    """A --ridge number as an exact ridge point (MACs per byte), refused when negative."""
    from mbcost.attachments.roofline import parse_ridges

    return parse_ridges(repr(value))[0]


# -- mbcost profile: measured latency and memory (torch imported inside only) ------------

@app.command()
def profile(
    model: str = typer.Argument(DEFAULT_MODEL, metavar="[MODEL_OR_SPEC]", help="A built-in model or a spec file."),
    alpha: float = ALPHA,
    res: Optional[int] = RES,
    count: str = COUNT,
    batch: int = typer.Option(1, "--batch", "-b", help="Images per forward pass."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for the runtime (default: its own choice; onnxruntime: intra-op threads)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    budget: float = typer.Option(0.2, "--budget", help="Seconds of timed calls per layer (and end to end); the repetitions follow from it."),
    min_reps: int = typer.Option(20, "--min-reps", help="Fewest timed calls per layer."),
    warmup: int = typer.Option(5, "--warmup", help="Untimed calls before timing each layer."),
    channels_last: bool = typer.Option(False, "--channels-last", help="Weights and activations in NHWC memory order (torch.channels_last) instead of torch's default NCHW."),
    in_context: bool = typer.Option(False, "--in-context", help="Time each layer inside whole forward passes instead of alone on its captured inputs (the layers' times then add up to a pass)."),
    runtime: str = typer.Option("torch", "--runtime", help="torch, or onnxruntime (the network exported to ONNX, run on the CPU with all graph optimizations, timed by onnxruntime's profiler, always in context; needs onnxruntime)."),
    fmt: Optional[str] = FORMAT,
    output: Optional[str] = OUTPUT,
    comments: bool = COMMENTS,
) -> int:
    """Measured time and memory per layer, on this machine.

    Measured latency per layer and by layer type beside the Mult-Adds share, activation and peak memory, model size (needs mbcost[torch])."""
    from mbcost.results.analysis import analyze
    from mbcost.documents.output import emit
    from mbcost.documents.render import choose_format
    from mbcost.documents.views_profile import profile_document

    fmt = choose_format(fmt, output)
    ranges.threads(threads), ranges.budget(budget, zero=True), ranges.repetitions(min_reps)
    ranges.warmup(warmup)
    ranges.batch(batch)
    analysis = analyze(model, alpha=alpha, resolution=res, count=count)
    from mbcost.adapters import require_torch

    require_torch("mbcost profile")
    runtime = runtime.strip().lower()
    if runtime not in ("torch", "onnxruntime"):
        raise MbcostError(f"unknown runtime '{runtime}': choose torch or onnxruntime")
    if runtime == "onnxruntime":
        from mbcost.adapters.profile_ort import check_options, profile_ort, require_onnxruntime

        check_options(device, channels_last)
        require_onnxruntime()
        with _Bar("timing") as progress:
            result = profile_ort(analysis, batch=batch, threads=threads, budget=budget, min_reps=min_reps,
                                 max_reps=ranges.MAX_REPS, warmup=warmup, progress=progress)
        emit(profile_document(result), fmt, output, comments)
        return 0
    from mbcost.adapters.profile import check_device, profile as run_profile

    check_device(device)
    with _Bar("timing") as progress:
        result = run_profile(analysis, batch=batch, threads=threads, device=device, budget=budget,
                             min_reps=min_reps, max_reps=ranges.MAX_REPS, warmup=warmup,
                             channels_last=channels_last, method="in-context" if in_context else "isolated",
                             progress=progress)
    emit(profile_document(result), fmt, output, comments)
    return 0


class _Bar(_Progress):
    """:class:`_Progress` with its own verb ('timing conv3')."""

    def __init__(self, verb: str) -> None:
        self.verb = verb

    def __enter__(self):
        self.bar = self.task = None
        if not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn(self.verb + " {task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self.bar.start()
        return self.update
