"""What every mbcost figure shares: matplotlib's default style with mbcost's
settings, the fixed dpi and metadata that make the same call give the same
bytes, the colours, the Agg canvas, rendering to PNG/SVG/PDF, and small axis
helpers. matplotlib is imported inside the functions only."""

from __future__ import annotations

import contextlib
import contextvars
import io
from fractions import Fraction
from pathlib import Path

from mbcost.errors import MbcostError

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
DPI = 100
INSTALL_HINT = "pip install 'mbcost[plot]'"

# matplotlib's default style plus these, whatever the user's matplotlibrc says.
_RC = {
    "svg.hashsalt": "mbcost",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "savefig.facecolor": "white",
}
# No dates and no version strings: the bytes depend on the data only.
_METADATA = {
    "svg": {"Date": None, "Creator": "mbcost"},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": "mbcost", "Producer": None},
    "png": {"Software": "mbcost"},
}

ALPHA_COLORS = {Fraction(1): "#1f77b4", Fraction(3, 4): "#ff7f0e", Fraction(1, 2): "#2ca02c",
                Fraction(1, 4): "#d62728"}
OTHER_COLORS = ("#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
REFERENCE_COLOR = "#6b6b6b"
MADDS_COLOR, PARAMS_COLOR, IDEAL_COLOR = "#1f77b4", "#ff7f0e", "#444444"
CATEGORY_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                   "#bcbd22", "#17becf")


#: One colour per layer type, the same in every figure (layers, roofline, ...):
#: the common types fixed; any other type a colour of its own name's choosing.
TYPE_COLORS = {"Conv 1×1": "#1f77b4", "Conv DW 3×3": "#ff7f0e", "Conv 3×3": "#2ca02c", "Fully Connected": "#d62728",
               "Conv DW 5×5": "#9467bd", "Group Conv 3×3": "#8c564b", "Squeeze-Excite": "#e377c2",
               "Avg Pool": "#7f7f7f", "Max Pool": "#bcbd22", "Conv 7×7": "#17becf", "BatchNorm": "#aec7e8",
               "Group Conv 5×5": "#ffbb78", "Conv 11×11": "#98df8a", "Conv 5×5": "#ff9896", "Group Conv 1×1": "#c5b0d5",
               "Conv 1×7": "#c49c94", "Conv 7×1": "#f7b6d2", "Conv 1×3": "#e7969c", "Conv 3×1": "#9c9ede", "Add": "#c7c7c7", "Concat": "#dbdb8d",
               "Softmax": "#9edae5"}
_MORE_COLORS = ("#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1",
                "#636363")


def type_color(category: str) -> str:
    """The colour of a layer type in every figure: fixed for the common types,
    else picked by its name (a CRC of it: the same in every run and figure)."""
    import zlib

    return TYPE_COLORS.get(category) or _MORE_COLORS[zlib.crc32(category.encode("utf-8")) % len(_MORE_COLORS)]


def require_matplotlib(what: str = "mbcost plot") -> None:
    """A one-line :class:`MbcostError` saying how to install matplotlib when it is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MbcostError(f"{what} needs matplotlib (not installed): {INSTALL_HINT}") from None


def output_format(path: str | Path) -> str:
    """png, svg or pdf, from the file's extension (anything else is an error)."""
    suffix = Path(path).suffix.lower()
    if Path(path).is_dir():
        raise MbcostError(f"cannot write {path}: it is a folder; a figure is one file: give its name, e.g."
                          f" {Path(path) / 'figure.svg'}")
    if not suffix:
        raise MbcostError(f"{path} has no file extension: a figure's file name ends in {', '.join(FORMATS)}")
    if suffix not in FORMATS:
        raise MbcostError(f"unsupported file extension '{suffix}' for {path}: use {', '.join(FORMATS)}")
    return FORMATS[suffix]


def alpha_text(alpha) -> str:
    """1 -> '1.0', 0.75 -> '0.75' (the checkpoints' own spelling)."""
    text = f"{float(alpha):g}"
    return text if "." in text or "e" in text else text + ".0"


@contextlib.contextmanager
def style():
    """matplotlib's default style with mbcost's settings (figures are built and
    saved inside this, so a user's matplotlibrc changes nothing)."""
    import matplotlib
    import matplotlib.style

    with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
        yield


#: ``--size WxH``: the size every figure drawn inside :func:`sized` gets, in inches.
_SIZE: contextvars.ContextVar = contextvars.ContextVar("mbcost_figure_size", default=None)
MIN_SIZE, MAX_SIZE = 3.0, 60.0  # inches: smaller cannot hold the titles; larger is not a figure


@contextlib.contextmanager
def sized(size: tuple[float, float] | None):
    """Figures built inside get ``size`` (width, height in inches) instead of
    their own default; the layout is computed for that size."""
    token = _SIZE.set(size)
    try:
        yield
    finally:
        _SIZE.reset(token)


def parse_size(text: str | None) -> tuple[float, float] | None:
    """``--size 8x5`` (inches, W x H) -> (8.0, 5.0)."""
    import math

    if text is None:
        return None
    parts = text.lower().replace("×", "x").split("x")
    try:
        w, h = (float(p) for p in parts)
    except ValueError:
        raise MbcostError(f"--size '{text}': give width x height in inches, e.g. 8x5") from None
    if not all(math.isfinite(v) and MIN_SIZE <= v <= MAX_SIZE for v in (w, h)):
        raise MbcostError(f"--size '{text}': width and height must be {MIN_SIZE:g} to {MAX_SIZE:g} inches")
    return w, h


def check_dpi(dpi: int | None) -> int:
    """``--dpi``: 50 to 1200 (PNG; SVG and PDF are vector and ignore it)."""
    if dpi is None:
        return DPI
    if not 50 <= dpi <= 1200:
        raise MbcostError(f"--dpi {dpi if abs(dpi) < 10**12 else 'of ' + str(len(str(abs(dpi)))) + ' digits'}:"
                          " choose 50 to 1200 (300 for print)")
    return dpi


def new_figure(width: float, height: float, layout: str | None = None):
    """A Figure on an Agg canvas (no pyplot), at the fixed dpi; its size is the
    one given, unless :func:`sized` asks for another."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = _SIZE.get() or (width, height)
    fig = Figure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def render(fig, fmt: str, dpi: int = DPI) -> bytes:
    """The figure as PNG, SVG or PDF bytes; the same figure gives the same bytes.
    ``dpi`` sets a PNG's pixels per inch (the figure's size in inches stays)."""
    if fmt not in _METADATA:
        raise MbcostError(f"unknown figure format '{fmt}': choose from {', '.join(_METADATA)}")
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=_METADATA[fmt])
    return buf.getvalue()


def wrap_items(items: list[str], width_in: float, size: float = 8) -> list[str]:
    """Items joined with ' · ' into lines that fit ``width_in`` inches at font
    ``size`` points (DejaVu Sans averages about 0.6 of the size per character)."""
    chars = max(20, int(width_in * 72 / (size * 0.6) * 0.9))
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 3 + len(item) <= chars:
            lines[-1] += " · " + item
        else:
            lines.append(item)
    return lines


def subtitle(fig, lines: list[str], y: float) -> None:
    fig.text(0.5, y, "\n".join(lines), ha="center", va="top", fontsize=8, color="#444444", gid="subtitle")


def footer(fig, text: str) -> None:
    """The conventions, under a constrained-layout figure; then the layout is
    computed once and frozen (see :func:`freeze`)."""
    fig.supxlabel("\n".join(wrap_items(text.split(" · "), fig.get_figwidth())), fontsize=8, color="#444444")
    freeze(fig)


def freeze(fig) -> None:
    """Run the constrained layout once and keep its result: a layout engine runs
    again at every draw and need not land on the same floats, which would change
    the clip-path ids of a later SVG. Frozen, every save gives the same bytes."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.draw_without_rendering()
    if any("constrained_layout not applied" in str(w.message) for w in caught):
        raise too_small(fig)
    for w in caught:  # any other warning: shown as it would have been
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    fig.set_layout_engine("none")


def too_small(fig, height_needed: float | None = None, width_needed: float | None = None) -> MbcostError:
    """The error for a ``--size`` whose titles, notes and legend leave no room
    for the axes (every size the option accepts either renders or says this)."""
    width, height = fig.get_figwidth(), fig.get_figheight()
    need = f": this figure needs at least {height_needed:.1f} inches of height at {width:g} inches wide" \
        if height_needed else f": this figure needs at least {width_needed:g} inches of width" if width_needed else ""
    return MbcostError(f"--size {width:g}x{height:g}: too small for this figure's titles, notes and legend{need};"
                       " give a larger --size")


def millions(value: int) -> float:
    return value / 1e6


def log_axis(axis) -> None:
    """Log-scale ticks at 1, 2, 5 x 10^k, written as plain numbers."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def accuracy_axes(ax, xs, accs, xlabel: str, title: str, pad_lo: float, pad_hi: float, margin: int) -> None:
    """An accuracy-against-cost panel: log x from the costs ``xs`` (padded by
    ``pad_lo``/``pad_hi`` decades), y from the accuracies, ``margin`` points of
    headroom, the labels."""
    import math

    lo, hi = math.log10(min(xs)), math.log10(max(xs))
    ax.set_xscale("log")
    ax.set_xlim(10 ** (lo - pad_lo), 10 ** (hi + pad_hi))
    ax.set_ylim(math.floor(min(accs)) - margin, math.ceil(max(accs)) + margin)
    log_axis(ax.xaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("ImageNet top-1 accuracy (%)")
    ax.set_title(title)


def style_share_axes(ax, ys, labels, shares=()) -> None:
    """Horizontal bars of shares by layer type, one row per label; the x axis
    runs to the largest share (rounded up to 10%), the value labels beside the
    bars may run past it (the layout makes room)."""
    ax.set_yticks(ys, labels)
    ax.invert_yaxis()
    top = min(100, 10 * -(-max(shares, default=0) * 1.02 // 10)) or 10  # the largest share, to the next 10%
    ax.set_xlim(0, top)
    ax.set_xticks(range(0, int(top) + 1, 20 if top > 50 else 10))
    ax.set_xlabel("share of the network's total (%)")
    ax.set_ylabel("layer type")
    ax.grid(axis="y", visible=False)


def check_latency(against: str, latency) -> None:
    """``--against latency`` needs a calibration, and a calibration is for that panel only."""
    if against == "latency" and latency is None:
        raise MbcostError("--against latency needs --latency FILE (a calibration made by mbcost calibrate)")
    if latency is not None and against != "latency":
        raise MbcostError("--latency FILE draws plot tradeoff --against latency (give --against latency)")


def latency_note(calibration) -> str:
    """The figure's line on where the latency comes from."""
    from mbcost.attachments.latency import describe

    return describe(calibration).replace("latency: predicted", "latency predicted")
