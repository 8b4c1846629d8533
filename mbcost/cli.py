"""The ``mbcost`` command: a thin shell over the library.

Each command parses its options, calls one library function and emits a
document. User errors (:class:`MbcostError`, bad options) print one line to
standard error and exit 2. The symbolic commands import neither torch, fvcore,
matplotlib nor pandas.
"""

from __future__ import annotations

import sys
from typing import Optional

import typer

from mbcost.errors import EXIT_USER_ERROR, MbcostError

app = typer.Typer(
    name="mbcost",
    help="What a convolutional network costs, layer by layer: Mult-Adds, parameters, activations.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# -- shared options ---------------------------------------------------------
ALPHA = typer.Option(1.0, "--alpha", "-a", help="Width multiplier (any positive number; 1, 0.75, 0.5, 0.25 in the paper).")
RES = typer.Option(None, "--res", "-r", help="Input resolution in pixels (224, 192, 160, 128 in the paper).")
RHO = typer.Option(None, "--rho", help="Resolution multiplier: a fraction of the spec's input size.")
MIN_DEPTH = typer.Option(0, "--min-depth", help="Smallest channel count after alpha (0: none).")
DIVISOR = typer.Option(1, "--divisor", help="Round channels after alpha to a multiple of this (1: int(alpha*c)).")
CLASSES = typer.Option(None, "--classes", help="Number of classes: overrides the classifier's outputs (e.g. 120).")
COUNT = typer.Option("conv,fc", "--count", help="Operations whose Mult-Adds count: conv,fc (the paper) plus bn,pool,act.")
PARAMS = typer.Option("weights", "--params", help="Parameters totalled: weights (the paper), weights+biases, all.")
FLOPS = typer.Option(False, "--flops", help="Show FLOPs (2 x Mult-Adds) instead of Mult-Adds.")
FORMAT = typer.Option(None, "--format", "-f", help="rich, csv, json, markdown or latex (default: from --output's extension, else rich).")
OUTPUT = typer.Option(None, "--output", "-o", help="Write to this file (whole or not at all) instead of the terminal.")


def _unit(flops: bool) -> str:
    return "flops" if flops else "mult-adds"


@app.command()
def table(
    model: str = typer.Argument("mobilenet_v1", help="A built-in model (see 'mbcost models') or a spec file."),
    alpha: float = ALPHA,
    res: Optional[int] = RES,
    rho: Optional[float] = RHO,
    min_depth: int = MIN_DEPTH,
    divisor: int = DIVISOR,
    classes: Optional[int] = CLASSES,
    count: str = COUNT,
    params: str = PARAMS,
    flops: bool = FLOPS,
    by_type: bool = typer.Option(False, "--by-type", help="Only the breakdown by layer type (the paper's Table 2)."),
    formula: bool = typer.Option(False, "--formula", help="Add each layer's formula with the numbers substituted."),
    fmt: Optional[str] = FORMAT,
    output: Optional[str] = OUTPUT,
) -> None:
    """Per-layer Mult-Adds, parameters and shapes of a network, with totals and the by-type breakdown."""
    from mbcost.analysis import analyze
    from mbcost.output import emit
    from mbcost.render import choose_format
    from mbcost.views import cost_document

    fmt = choose_format(fmt, output)
    analysis = analyze(model, alpha=alpha, resolution=res, rho=rho, min_depth=min_depth, divisor=divisor,
                       classes=classes, count=count, params=params)
    emit(cost_document(analysis, unit=_unit(flops), formula=formula, by_type_only=by_type), fmt, output)


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
) -> None:
    """One layer: standard convolution versus depthwise separable (the paper's Table 7)."""
    from mbcost.output import emit
    from mbcost.render import choose_format
    from mbcost.separable import compare_layer
    from mbcost.views import layer_document

    fmt = choose_format(fmt, output)
    emit(layer_document(compare_layer(k, m, n, df, alpha=alpha, rho=rho), _unit(flops)), fmt, output)


@app.command()
def compare(
    models: list[str] = typer.Argument(..., help="Models or spec files, each optionally NAME:alpha=A,res=R,classes=N."),
    reference: Optional[str] = typer.Option(None, "--reference", help="The model ratios are taken against (default: the first)."),
    alpha: float = ALPHA,
    res: Optional[int] = RES,
    classes: Optional[int] = CLASSES,
    count: str = COUNT,
    params: str = PARAMS,
    flops: bool = FLOPS,
    fmt: Optional[str] = FORMAT,
    output: Optional[str] = OUTPUT,
) -> None:
    """Networks side by side: Mult-Adds, parameters, activations, ratios, breakdown, published figures."""
    from mbcost.compare import compare as compare_models
    from mbcost.output import emit
    from mbcost.render import choose_format
    from mbcost.views import compare_document

    fmt = choose_format(fmt, output)
    result = compare_models(models, reference, alpha=alpha, resolution=res, classes=classes, count=count,
                            params=params)
    emit(compare_document(result, _unit(flops)), fmt, output)


@app.command()
def models(fmt: Optional[str] = FORMAT, output: Optional[str] = OUTPUT) -> None:
    """List the built-in models."""
    from mbcost.output import emit
    from mbcost.render import choose_format
    from mbcost.views import models_document
    from mbcost.zoo import ALIASES, describe_models

    fmt = choose_format(fmt, output)
    emit(models_document(describe_models(), ALIASES), fmt, output)


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
