"""``mbcost roofline``: each network's roofline cost against the ridge point,
laid out as a :class:`~mbcost.documents.render.Document` (see
:mod:`mbcost.attachments.roofline` for the model)."""

from __future__ import annotations

from fractions import Fraction

from mbcost.attachments.roofline import Roofline, number
from mbcost.documents.render import Column, Document, Table
from mbcost.documents.views import published_latency_table
from mbcost.results.published import device_latencies
from mbcost.errors import MbcostError


def _float(value) -> float:
    """``value`` as a float, or one line saying it is past what a float holds (a
    network scaled far past any chip: its costs and times cannot be printed so)."""
    try:
        return float(value)
    except OverflowError:
        raise MbcostError("the roofline costs of this network pass what a float holds (about 1.8e308):"
                          " a smaller width or resolution") from None


def _millions(value: Fraction) -> str:
    return f"{_float(value) / 1e6:,.1f}"


def _ms(seconds: Fraction) -> str:
    return f"{_float(Fraction(seconds) * 1000):,.3f}"


def roofline_settings(result: Roofline) -> list[str]:
    a = result.analyses[0]
    return [
        "roofline cost = Σ over rows of max(MACs, RP × bytes), in MACs: a row's time × PeakMACs on a chip of "
        "ridge point RP = PeakMACs / PeakMemBW (MACs per byte); at RP = 0 it is the Mult-Adds total",
        f"bytes = (weights + biases + input + output elements) × {result.bytes_per_element} byte"
        f"{'s' if result.bytes_per_element != 1 else ''} per element"
        f"{' (int8, as the paper' + chr(39) + 's accelerators)' if result.bytes_per_element == 1 else ''}; "
        "rows with neither Mult-Adds nor weights, and batch norm and LayerScale rows, are fused (cost nothing)",
        a.counted_text(),
    ]


def roofline_document(result: Roofline) -> Document:
    labels = result.labels
    columns = [Column("RP (MACs/byte)", numeric=True)] + [Column(label, numeric=True, priority=1) for label in labels]
    rows = [[number(ridge)] + [_millions(result.cost(i, ridge)) for i in range(len(labels))]
            for ridge in result.ridges]
    sweep = Table("Roofline cost (millions of MACs) against the ridge point", columns, rows, tidy=result.records())
    bytes_moved = [sum(r.bytes for r in rows_) for rows_ in result.rows]
    summary_rows = [[label, a.total.mult_adds, bytes_moved[i], f"{a.total.mult_adds / bytes_moved[i]:.1f}"
                     if bytes_moved[i] else "",
                     f"{100 * _float(result.memory_bound_share(i, result.ridges[-1])):.0f}%"]
                    for i, (label, a) in enumerate(zip(labels, result.analyses))]
    summary = Table("The networks", [Column("Model", whole=True), Column("Mult-Adds", numeric=True),
                                     Column("Bytes moved", numeric=True), Column("MACs/byte", numeric=True),
                                     Column(f"memory-bound at RP {number(result.ridges[-1])}", numeric=True)],
                    summary_rows)
    tables = [sweep, summary]
    measured = [device_latencies(a.model, a.alpha, a.resolution, a.config.classes or 1000, a.config.depth_mult)
                for a in result.analyses]
    data = {"settings": roofline_settings(result), "bytes_per_element": result.bytes_per_element,
            "ridge_points": [number(r) for r in result.ridges],
            "models": [{"model": label, "mult_adds": a.total.mult_adds, "bytes": bytes_moved[i],
                        "roofline_macs": [number(result.cost(i, r)) for r in result.ridges],
                        "published_latency": None if measured[i] is None else {
                            k: measured[i][k] for k in ("ms", "resolution", "source")}}
                       for i, (label, a) in enumerate(zip(labels, result.analyses))]}
    for key, hw in (("hardware", result.hardware), ("machine", result.machine)):
        if hw is None:
            continue
        times = [result.seconds(i, hw) for i in range(len(labels))]
        tables.append(Table(
            f"On {hw.name}: {_float(hw.peak_macs_per_s):.4g} MAC/s, {_float(hw.bytes_per_s):.4g} B/s, "
            f"ridge point {_float(hw.ridge):.1f} MACs/byte",
            [Column("Model", whole=True), Column("Roofline ms", numeric=True),
             Column("Compute-only ms", numeric=True), Column("Memory-bound share", numeric=True)],
            [[label, _ms(t), _ms(Fraction(a.total.mult_adds) / hw.peak_macs_per_s),
              f"{100 * _float(result.memory_bound_share(i, hw.ridge)):.0f}%"]
             for i, (label, a, t) in enumerate(zip(labels, result.analyses, times))]))
        if key == "machine" and result.bytes_per_element != 4:
            tables[-1].notes.append("this machine's ridge point was measured in fp32 (a float32 conv and copy): "
                                    "--bytes-per-element 4 models it as measured")
        data[key] = {"name": hw.name, "peak_macs_per_s": _float(hw.peak_macs_per_s),
                     "bytes_per_s": _float(hw.bytes_per_s), "ridge_point": _float(hw.ridge),
                     "ms": {label: _float(Fraction(t) * 1000) for label, t in zip(labels, times)}}
    latency = published_latency_table(list(zip(labels, measured)), (
        "No ridge point is cited for these devices (a peak MAC rate and a bandwidth each), so they are not placed on"
        " the sweep: set a ratio between two networks on one device beside their roofline costs' ratio at a low and"
        " a high RP (docs/roofline.md).",))
    if latency is not None:
        tables.append(latency)
    return Document("The roofline across hardware (MobileNetV4, Qin et al. 2024)",
                    roofline_settings(result), tables, data)
