"""The roofline across hardware (pure Python): why one network is fast on one
chip and slow on another.

MobileNetV4 (Qin et al. 2024, arXiv:2404.10518, its section "Hardware-independent
Pareto efficiency") models a layer's time on a chip as the slower of its
arithmetic and its memory traffic, and a network's as the sum over its layers::

    time(layer)   = max(MACs / PeakMACs, bytes / PeakMemBW)
    time(network) = Σ time(layer)

A chip is summarised by its ridge point RP = PeakMACs / PeakMemBW (MACs per
byte): a layer whose arithmetic intensity (MACs / bytes) is below RP waits for
memory ("memory-bound"), above it for the multipliers ("compute-bound"). The
paper sweeps RP from 0 (a chip with infinite bandwidth: time is the Mult-Adds
alone, a CPU is close) to 500 (accelerators with many multipliers and little
bandwidth). Multiplying the time by PeakMACs gives a cost in MACs that depends
on RP alone::

    roofline_macs(RP) = Σ max(MACs, RP · bytes)

It equals the Mult-Adds total at RP = 0 and never decreases as RP grows.

The choices the paper leaves open, made here:

* A row is a spec row (one layer with its ``+bn +relu``, a fused operator); the
  rows costed are those with Mult-Adds (in the counting convention in force,
  the paper's by default) or with weights. A row with neither (a residual
  addition, a concatenation, an activation or pooling on its own row when it is
  not counted) is taken as fused into its neighbours and costs nothing, and so
  are batch norm and LayerScale on rows of their own (per-channel scales that
  fold into the neighbouring convolution at inference).
* bytes = (weights + biases + input + output elements) x bytes per element;
  batch-norm parameters are folded into the convolution and move nothing. The
  element size is 1 byte by default (int8, as the paper's accelerators run);
  ``bytes_per_element`` sets another. A row's intermediate tensors (an MQA
  row's keys and values) stay on the chip; only its input and output move.
* Every row's input counts, even where the previous row's output might stay on
  chip: the paper's model has no cache.

Absolute time needs a chip: ``peak_macs_per_s`` and ``bytes_per_s`` give
seconds (``--hardware``), and ``calibrate`` measures this machine's two
numbers (a large 1x1 convolution in the calibrated runtime, a large copy), so
its file carries a ridge point.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from mbcost.results.frames import Framed
from mbcost.errors import MbcostError
from mbcost.numbers import MAX_SCALE, NumberError, real, shown

DEFAULT_BYTES_PER_ELEMENT = 1
#: Kinds that fold into the neighbouring convolution at inference: never costed rows.
FOLDED = frozenset({"bn", "layerscale"})
#: The paper's sweep: RP from 0 to 500 MACs/byte.
DEFAULT_RIDGES = "0:500:25"
MAX_RIDGES = 10_001


@dataclass(frozen=True)
class RooflineRow:
    """One costed row: its Mult-Adds and the bytes it moves."""

    name: str
    type: str
    mult_adds: int
    weight_bytes: int
    activation_bytes: int

    @property
    def bytes(self) -> int:
        return self.weight_bytes + self.activation_bytes

    @property
    def intensity(self) -> Fraction | None:
        """Arithmetic intensity, MACs per byte (None for a row that moves nothing)."""
        return Fraction(self.mult_adds, self.bytes) if self.bytes else None

    def cost(self, ridge: Fraction) -> Fraction:
        """max(MACs, RP · bytes): the row's time times PeakMACs."""
        return max(Fraction(self.mult_adds), ridge * self.bytes)

    def bound(self, ridge: Fraction) -> str:
        """'compute' when its arithmetic alone takes at least as long, else 'memory'."""
        return "compute" if self.mult_adds >= ridge * self.bytes else "memory"


def roofline_rows(analysis, bytes_per_element: int = DEFAULT_BYTES_PER_ELEMENT) -> list[RooflineRow]:
    """The costed rows of an analysis (see the module's docstring)."""
    check_bytes_per_element(bytes_per_element)
    rows = []
    for layer in analysis.layers:
        if layer.kind in FOLDED or not layer.mult_adds and not (layer.weights or layer.biases):
            continue
        weights = (layer.weights + layer.biases) * bytes_per_element
        activations = (layer.input.h * layer.input.w * layer.input.c
                       + layer.output.h * layer.output.w * layer.output.c) * bytes_per_element
        rows.append(RooflineRow(layer.name, layer.type, layer.mult_adds, weights, activations))
    return rows


def roofline_macs(rows: list[RooflineRow], ridge) -> Fraction:
    """Σ max(MACs, RP · bytes) over ``rows``: exact."""
    ridge = Fraction(ridge)
    return sum((row.cost(ridge) for row in rows), Fraction(0))


@dataclass(frozen=True)
class RooflineAttachment:
    """``table --roofline RP``: a table's costed rows at one ridge point;
    ``by_name``: row name -> its :class:`RooflineRow` (rows not costed: absent)."""

    ridge: Fraction
    bytes_per_element: int
    rows: tuple[RooflineRow, ...]
    by_name: dict

    @classmethod
    def of(cls, table, ridge, bytes_per_element: int = DEFAULT_BYTES_PER_ELEMENT) -> "RooflineAttachment":
        rows = tuple(roofline_rows(table, bytes_per_element))
        return cls(Fraction(ridge), bytes_per_element, rows, {r.name: r for r in rows})

    @property
    def total(self) -> Fraction:
        """The roofline cost, MACs: Σ max(MACs, RP · bytes)."""
        return roofline_macs(self.rows, self.ridge)


def check_bytes_per_element(value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MbcostError(f"--bytes-per-element must be a whole number of bytes, 1 or more (1: int8, 2: fp16, "
                          f"4: fp32), got {value!r}")


#: The largest ridge point, peak MAC rate or bandwidth read (and ridge point a --hardware makes): past
#: it, ratios and costs would leave what a float holds (a real chip's ridge point is 1 to a few thousand).
MAX_RIDGE = MAX_SCALE


def _number(text: str, what: str) -> Fraction:
    """A finite number from 0 to MAX_RIDGE, read exactly (mbcost.numbers: digits and exponents bounded)."""
    where = what if len(what) <= 60 else what[:60] + "…"
    try:
        value = real(text.strip(), "each number", high=MAX_RIDGE)
    except NumberError as exc:
        if "must be a number" in str(exc) or "written with" in str(exc):
            raise MbcostError(f"{where}: {shown(text.strip())} is not a number") from None
        raise MbcostError(f"{where}: {exc}") from None
    if value < 0:
        raise MbcostError(f"{what}: {text} is negative")
    return value


def parse_ridges(text: str) -> list[Fraction]:
    """``0:500:25`` (start:stop:step, stop included), ``100``, or ``0,50,100``:
    ridge points in MACs per byte, exact."""
    where = f"--ridge {text}"
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise MbcostError(f"{where}: write START:STOP:STEP (e.g. 0:500:25), a number, or numbers with commas")
        start, stop, step = (_number(p, where) for p in parts)
        if step <= 0:
            raise MbcostError(f"{where}: the step must be positive")
        if stop < start:
            raise MbcostError(f"{where}: the stop is below the start")
        if (stop - start) / step >= MAX_RIDGES:
            raise MbcostError(f"{where}: more than {MAX_RIDGES:,} ridge points")
        count = int((stop - start) / step) + 1
        return [start + i * step for i in range(count)]
    values = [_number(p, where) for p in text.split(",")]
    if len(values) > MAX_RIDGES:
        raise MbcostError(f"{where}: more than {MAX_RIDGES:,} ridge points")
    return sorted(set(values))


def parse_hardware(text: str) -> tuple[Fraction, Fraction]:
    """``PEAK_MACS_PER_S,BYTES_PER_S`` (e.g. ``4e12,30e9``): both positive."""
    parts = text.split(",")
    if len(parts) != 2:
        raise MbcostError(f"--hardware {text}: write PEAK_MACS_PER_S,BYTES_PER_S (e.g. 4e12,30e9)")
    peak, bandwidth = (_number(p, f"--hardware {text}") for p in parts)
    if not peak or not bandwidth:
        raise MbcostError(f"--hardware {text}: both numbers must be positive")
    if peak / bandwidth > MAX_RIDGE:
        raise MbcostError(f"--hardware {text}: the ridge point (peak / bandwidth) must be at most 1e300 MACs per"
                          " byte")
    return peak, bandwidth


def number(value: Fraction):
    """A Fraction for JSON and CSV: an int when whole, else a float."""
    if value.denominator == 1:
        return int(value)
    try:
        return float(value)
    except OverflowError:
        raise MbcostError("the roofline costs of this network pass what a float holds (about 1.8e308):"
                          " a smaller width or resolution") from None


@dataclass(frozen=True)
class Hardware:
    """A chip: its peak MAC rate and memory bandwidth; ``name`` says where they come from."""

    name: str
    peak_macs_per_s: Fraction
    bytes_per_s: Fraction

    @property
    def ridge(self) -> Fraction:
        return self.peak_macs_per_s / self.bytes_per_s


@dataclass(repr=False)
class Roofline(Framed):
    """Each network's roofline cost at each ridge point (``mbcost roofline``)."""

    labels: list[str]
    analyses: list
    rows: list[list[RooflineRow]]
    ridges: list[Fraction]
    bytes_per_element: int
    hardware: Hardware | None = None  # absolute time at its own ridge point
    machine: Hardware | None = None  # this machine (calibrate), marked on the sweep

    def cost(self, i: int, ridge) -> Fraction:
        return roofline_macs(self.rows[i], ridge)

    def seconds(self, i: int, hardware: Hardware) -> Fraction:
        """Σ max(MACs / PeakMACs, bytes / PeakMemBW) on ``hardware``."""
        return self.cost(i, hardware.ridge) / hardware.peak_macs_per_s

    def records(self) -> list[dict]:
        """One row per (network, ridge point): ``roofline_macs`` = Σ max(MACs, RP·bytes)."""
        out = []
        for i, label in enumerate(self.labels):
            for ridge in self.ridges:
                out.append({"model": label, "ridge_point": number(ridge), "roofline_macs": number(self.cost(i, ridge)),
                            "mult_adds": self.analyses[i].total.mult_adds,
                            "bytes": sum(r.bytes for r in self.rows[i])})
        return out

    def describe(self) -> str:
        return "Roofline cost of " + ", ".join(self.labels)

    def memory_bound_share(self, i: int, ridge) -> Fraction:
        """The share of the roofline cost spent in memory-bound rows at ``ridge``."""
        ridge = Fraction(ridge)
        total = self.cost(i, ridge)
        memory = sum((r.cost(ridge) for r in self.rows[i] if r.bound(ridge) == "memory"), Fraction(0))
        return memory / total if total else Fraction(0)


def roofline(models: list, ridges: str | list = DEFAULT_RIDGES, bytes_per_element: int = DEFAULT_BYTES_PER_ELEMENT,
             hardware: str | Hardware | None = None, machine: Hardware | None = None, **settings) -> Roofline:
    """``models`` (zoo names, spec files, ``NAME:alpha=..,res=..``) analysed with
    ``settings`` (those of :func:`mbcost.analyze`), their roofline cost at each
    ridge point (a list, or text as ``--ridge`` takes it)."""
    from mbcost.results.comparison import parse_model_arg
    from mbcost.results.analysis import analyze

    if not models:
        raise MbcostError("name at least one model")
    check_bytes_per_element(bytes_per_element)
    ridges = parse_ridges(ridges) if isinstance(ridges, str) else [Fraction(r) for r in ridges]
    if isinstance(hardware, str):
        peak, bandwidth = parse_hardware(hardware)
        hardware = Hardware("the --hardware chip", peak, bandwidth)
    labels, analyses, rows = [], [], []
    for arg in models:
        if arg.lower().endswith(".onnx"):  # its rows are unfused operators: another granularity, refused
            raise MbcostError(f"{arg}: roofline costs a spec's rows (a layer with its batch norm and activation); "
                              f"export the model to a spec first (mbcost export {arg} -o model.spec)")
        name, own = parse_model_arg(arg)
        analysis = analyze(name, **{**settings, **own})
        labels.append(arg)
        analyses.append(analysis)
        rows.append(roofline_rows(analysis, bytes_per_element))
    return Roofline(labels, analyses, rows, ridges, bytes_per_element, hardware, machine)


def machine_hardware(calibration) -> Hardware:
    """This machine, from a calibration file that measured both numbers."""
    if not calibration.ridge_point:
        raise MbcostError(f"{calibration.source or 'the calibration'} has no peak MAC rate: calibrate again "
                          "(mbcost calibrate measures it)")
    return Hardware(f"this machine ({calibration.machine}, {calibration.runtime}, {calibration.threads} thread"
                    f"{'s' if calibration.threads != 1 else ''})",
                    Fraction(calibration.peak_macs_per_s), Fraction(calibration.bandwidth_bytes_per_s))
