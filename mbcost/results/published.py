"""Published results (tables/published/*.csv), loaded and validated.

The numbers are data, copied as printed with their source; they are never
changed to agree with a computed figure. Each file has a schema here: column
types, ranges and the key that must be unique. A bad row is an error naming the
file, the line and the column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from mbcost.errors import MbcostError


@dataclass(frozen=True)
class Column:
    name: str
    kind: type = str  # str, int or float
    required: bool = True
    low: float | None = None  # inclusive bounds for numbers
    high: float | None = None


_PCT = {"kind": float, "low": 0, "high": 100}
_POS = {"kind": float, "low": 0}

SCHEMAS: dict[str, tuple[tuple[Column, ...], tuple[str, ...]]] = {
    "table2_by_type": ((Column("type"), Column("mult_adds_pct", **_PCT), Column("params_pct", **_PCT),
                        Column("source")), ("type",)),
    "imagenet_models": ((Column("table", int, low=1, high=20), Column("model"),
                         Column("alpha", float, False, 0, 4), Column("resolution", int, False, 1),
                         Column("top1", **_PCT), Column("mult_adds_millions", **_POS),
                         Column("params_millions", **_POS), Column("label"), Column("source")),
                        ("table", "model", "alpha", "resolution")),
    "table7_layer": ((Column("modification"), Column("mult_adds_millions", **_POS),
                      Column("params_millions", **_POS), Column("source")), ("modification",)),
    "worked_example": ((Column("k", int, low=1), Column("m", int, low=1), Column("n", int, low=1),
                        Column("df", int, low=1), Column("standard_mult_adds", int, low=0),
                        Column("separable_mult_adds", int, low=0), Column("ratio", float, low=0, high=1),
                        Column("source")), ("k", "m", "n", "df")),
    "table10_dogs": ((Column("model"), Column("alpha", float, False, 0, 4), Column("resolution", int, False, 1),
                      Column("top1", **_PCT), Column("mult_adds_millions", **_POS),
                      Column("params_millions", **_POS), Column("label"), Column("source")),
                     ("model", "alpha", "resolution")),
    "table13_coco": ((Column("framework"), Column("resolution", int, low=1), Column("backbone"),
                      Column("map", **_PCT), Column("mult_adds_billions", **_POS), Column("params_millions", **_POS),
                      Column("source")), ("framework", "resolution", "backbone")),
    "checkpoints": ((Column("alpha", float, low=0, high=4), Column("resolution", int, low=1),
                     Column("mult_adds_millions", **_POS), Column("params_millions", **_POS),
                     Column("top1", **_PCT), Column("top5", **_PCT), Column("source")), ("alpha", "resolution")),
    "torchvision": ((Column("model"), Column("torchvision_name"), Column("weights"),
                     Column("resolution", int, low=1), Column("acc1", **_PCT), Column("acc5", **_PCT),
                     Column("params", int, low=1), Column("gflops", **_POS), Column("source")),
                    ("model", "weights")),
    "family_papers": ((Column("family"), Column("label"), Column("table"), Column("model", required=False),
                       Column("alpha", float, False, 0, 4), Column("resolution", int, False, 1),
                       Column("top1", float, False, 0, 100), Column("top1_error", float, False, 0, 100),
                       Column("top5", float, False, 0, 100), Column("top5_error", float, False, 0, 100),
                       Column("mult_adds_printed"), Column("mult_adds_unit"),
                       Column("params_millions", float, False, 0), Column("source")), ("family", "label")),
    "source_figures": ((Column("model"), Column("quantity"), Column("value_millions", **_POS), Column("figure"),
                        Column("source")), ("model", "quantity")),
    "mobilenet_v2_checkpoints": ((Column("alpha", float, low=0, high=4), Column("resolution", int, low=1),
                                  Column("mult_adds_millions", **_POS), Column("params_millions", **_POS),
                                  Column("top1", **_PCT), Column("top5", **_PCT), Column("source")),
                                 ("alpha", "resolution")),
    "checkpoints_quantized": ((Column("alpha", float, low=0, high=4), Column("resolution", int, low=1),
                               Column("top1", **_PCT), Column("source")), ("alpha", "resolution")),
    "timm_models": ((Column("model"), Column("timm_name"), Column("weights"), Column("resolution", int, low=1),
                     Column("top1", **_PCT), Column("top5", **_PCT), Column("params_millions", **_POS),
                     Column("gmacs", **_POS), Column("source")), ("model", "weights")),
    "mobilenet_v4_latency": ((Column("model"), Column("device"), Column("latency_ms", **_POS), Column("source")),
                             ("model", "device")),
}


def published_dir() -> Path:
    from mbcost.results.zoo import tables_dir

    return tables_dir() / "published"


def load_published(name: str, path: Path | None = None) -> list[dict]:
    """The rows of one published table, typed and validated."""
    if name not in SCHEMAS:
        raise MbcostError(f"unknown published table '{name}': choose from {', '.join(SCHEMAS)}")
    return list(_load(name, str(path or published_dir() / f"{name}.csv")))


@lru_cache(maxsize=None)
def _load(name: str, path: str) -> tuple[dict, ...]:
    columns, key = SCHEMAS[name]
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            rows = list(enumerate(reader, start=2))
    except OSError as exc:
        raise MbcostError(f"cannot read published table {path}: {exc.strerror or exc}") from None
    expected = [c.name for c in columns]
    if header != expected:
        raise MbcostError(f"{path}:1: header must be {','.join(expected)}, got {','.join(header or [])}")
    out, seen = [], {}
    for line, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(columns):
            raise MbcostError(f"{path}:{line}: expected {len(columns)} cells, got {len(cells)}")
        row = {col.name: _value(col, cell, path, line) for col, cell in zip(columns, cells)}
        row["_text"] = {col.name: cell.strip() for col, cell in zip(columns, cells)}  # as printed
        row["_line"] = line
        ident = tuple(row[k] for k in key)
        if ident in seen:
            raise MbcostError(f"{path}:{line}: duplicate key {dict(zip(key, ident))} (first on line {seen[ident]})")
        seen[ident] = line
        out.append(row)
    return tuple(out)


def _value(col: Column, cell: str, path: str, line: int):
    text = cell.strip()
    if not text:
        if col.required:
            raise MbcostError(f"{path}:{line}: column '{col.name}' is empty")
        return None
    if col.kind is str:
        return text
    try:
        value = col.kind(text)
    except ValueError:
        raise MbcostError(f"{path}:{line}: column '{col.name}' must be a{'n integer' if col.kind is int else ' number'},"
                          f" got '{text}'") from None
    if (col.low is not None and value < col.low) or (col.high is not None and value > col.high):
        raise MbcostError(f"{path}:{line}: column '{col.name}' = {text} is outside [{col.low}, {col.high}]")
    return value


def torchvision_result(model: str, alpha: float, resolution: int, classes: int = 1000) -> dict | None:
    """torchvision's published row for a zoo network at its evaluation crop
    (the IMAGENET1K_V1 weights), shaped like :func:`imagenet_result`'s: its
    parameters are every parameter (``params_convention`` "all") and its Mult-Adds
    the "GFLOPS" (multiply-accumulates) as printed."""
    if classes != 1000 or abs(alpha - 1) > 1e-9:
        return None
    for row in load_published("torchvision"):
        if row["model"] == model and row["resolution"] == resolution and row["weights"].endswith("IMAGENET1K_V1"):
            gflops = row["_text"]["gflops"]
            return {"top1": row["acc1"], "mult_adds_millions": 1000 * row["gflops"],
                    "params_millions": row["params"] / 1e6, "label": f"torchvision {row['weights']}",
                    "source": f"torchvision {row['weights']} (tables/published/torchvision.csv, each row's source)",
                    "params_convention": "all", "mult_adds_unit": "G", "params_exact": True,
                    "_text": {"top1": row["_text"]["acc1"], "mult_adds_millions": f"{gflops} G",
                              "mult_adds_printed": gflops,
                              "params_millions": f"{row['params'] / 1e6:.6f}"}}
    return None


def evaluation_crop(model: str) -> int | None:
    """The input size a zoo network's published weights are evaluated at
    (torchvision's IMAGENET1K_V1 crop), or None where torchvision publishes none.
    The one rule for a network's resolution when none is given, in ``compare`` as
    in ``pick --family`` and ``plot tradeoff --all`` (which read the same rows):
    EfficientNet-B2's weights are evaluated at 288 px, not the paper's 260."""
    for row in load_published("torchvision"):
        if row["model"] == model and row["weights"].endswith("IMAGENET1K_V1"):
            return row["resolution"]
    return None


def crop_note(model: str, spec_resolution: int, other: str) -> tuple[int, str] | None:
    """Where a zoo network's published weights are evaluated at another input
    than its spec's (EfficientNet-B2: 288 px, not 260): that crop and the line
    that says so (``other``: how to ask for another resolution); else None. The
    rule applies with no resolution given, at alpha 1 (``compare``, ``plot``)."""
    crop = evaluation_crop(model)
    if crop is None or crop == spec_resolution:
        return None
    return crop, (f"{model}: {crop} px, the evaluation crop of its published weights (torchvision"
                  f" IMAGENET1K_V1), not its spec's {spec_resolution}; {other} for another")


#: How timm's GMACs are counted (fvcore's FlopCountAnalysis defaults, which timm's
#: benchmark uses): batch norm in eval mode 2 per element (scale and shift), the
#: global average pool 1 per input element, convolutions and matrix products
#: (the attention products included) 1 per multiply-add; activations nothing.
FVCORE_READING = "fvcore's convention (timm's GMACs): batch norm 2 per element, global pool 1 per input element"


def timm_result(model: str, alpha: float, resolution: int, classes: int = 1000) -> dict | None:
    """timm's published row (tables/published/timm_models.csv) for a zoo network
    at the resolution of its weights, shaped like :func:`torchvision_result`'s:
    parameters are every parameter, Mult-Adds timm's GMACs. timm rounds both to 2
    decimals (its CSV drops trailing zeros: 1.1 is 1.10); ``readings`` asks the
    comparison to try fvcore's convention, timm's counter, as an explanation."""
    if classes != 1000 or abs(alpha - 1) > 1e-9:
        return None
    for row in load_published("timm_models"):
        if row["model"] == model and row["resolution"] == resolution:
            gmacs = f"{row['gmacs']:.2f}"
            return {"top1": row["top1"], "mult_adds_millions": 1000 * row["gmacs"],
                    "params_millions": row["params_millions"], "label": f"timm {row['timm_name']}.{row['weights']}",
                    "source": f"timm {row['timm_name']}.{row['weights']} (tables/published/timm_models.csv)",
                    "params_convention": "all", "mult_adds_unit": "G", "readings": ("fvcore",),
                    "_text": {"top1": row["_text"]["top1"], "mult_adds_millions": f"{gmacs} G",
                              "mult_adds_printed": gmacs, "params_millions": f"{row['params_millions']:.2f}"}}
    return None


def imagenet_result(model: str, alpha: float, resolution: int, classes: int = 1000,
                    default_resolution: int | None = None) -> dict | None:
    """The published ImageNet (or, with 120 classes, Stanford Dogs) row for a
    configuration: top-1 and the published cost, or None. Rows without a
    resolution (VGG16, ...) match only the network's own resolution."""
    if classes == 120:
        rows, table = load_published("table10_dogs"), 10
    elif classes == 1000:
        rows, table = load_published("imagenet_models"), None
    else:
        return None
    for row in rows:
        row_alpha = row["alpha"] if row["alpha"] is not None else 1.0
        row_res = row["resolution"]
        res_ok = row_res == resolution if row_res is not None else resolution == default_resolution
        if row["model"] == model and abs(row_alpha - alpha) < 1e-9 and res_ok:
            return dict(row, table=row.get("table", table))
    return None


#: Where tables/published/mobilenet_v4_latency.csv's figures come from, in one line
#: (each row's ``source`` and tables/published/README.md say how it was transcribed).
DEVICE_LATENCY_SOURCE = ("Qin et al. 2024, MobileNetV4 (ECCV 2024, arXiv:2404.10518), the ImageNet-1K classification"
                         " table (Tab. 6 of the ECCV text), median latency; transcribed, not read from the paper"
                         " directly (tables/published/mobilenet_v4_latency.csv, each row's source)")


def latency_devices(among: list[dict | None] | None = None) -> list[str]:
    """The devices of the published latencies, in the paper's column order (the
    order they first appear in tables/published/mobilenet_v4_latency.csv); with
    ``among`` (results of :func:`device_latencies`, None for a network with
    none), only the devices any of them has."""
    order = list(dict.fromkeys(row["device"] for row in load_published("mobilenet_v4_latency")))
    if among is None:
        return order
    have = {device for measured in among if measured for device in measured["ms"]}
    return [device for device in order if device in have]


def device_latencies(model: str, alpha: float, resolution: int, classes: int = 1000,
                     depth_mult: float = 1) -> dict | None:
    """The paper's measured latencies of a zoo network on each device it reports
    (tables/published/mobilenet_v4_latency.csv), only for the configuration it
    measured: width 1, depth 1, 1000 classes, at the resolution its own paper's row
    gives (family_papers.csv); else None. ``ms``: device -> milliseconds, in the
    paper's device order; ``printed``: the same as printed (``3.0``, not ``3``); a
    device the paper gives no latency for (``-``, ``Failed``) is absent."""
    if classes != 1000 or abs(alpha - 1) > 1e-9 or abs(depth_mult - 1) > 1e-9:
        return None
    rows = [row for row in load_published("mobilenet_v4_latency") if row["model"] == model]
    measured_at = {row["resolution"] for row in load_published("family_papers")
                   if row["model"] == model and row["resolution"] is not None}
    if not rows or measured_at != {resolution}:
        return None
    order = latency_devices()
    rows.sort(key=lambda row: order.index(row["device"]))
    return {"ms": {row["device"]: row["latency_ms"] for row in rows},
            "printed": {row["device"]: row["_text"]["latency_ms"] for row in rows},
            "resolution": resolution, "source": DEVICE_LATENCY_SOURCE}


def device_latency_json(measured: dict | None) -> dict | None:
    """A :func:`device_latencies` result as the JSON outputs give it (``ms`` per
    device, ``resolution``, ``source``), None for None."""
    return None if measured is None else {"ms": dict(measured["ms"]), "resolution": measured["resolution"],
                                          "source": measured["source"]}


def every_device_latency() -> list[tuple[str, int, dict]]:
    """Every network of tables/published/mobilenet_v4_latency.csv at the resolution
    its paper measured it (family_papers.csv): (zoo name, resolution,
    :func:`device_latencies`), in the file's order; a network whose resolution the
    paper's table does not give is an error, not left out quietly."""
    out = []
    for model in dict.fromkeys(row["model"] for row in load_published("mobilenet_v4_latency")):
        resolutions = {row["resolution"] for row in load_published("family_papers")
                       if row["model"] == model and row["resolution"] is not None}
        measured = device_latencies(model, 1, next(iter(resolutions))) if len(resolutions) == 1 else None
        if measured is None:
            raise MbcostError(f"tables/published/mobilenet_v4_latency.csv: {model} has no single resolution in "
                              "family_papers.csv to say what its latencies were measured at")
        out.append((model, measured["resolution"], measured))
    return out
