"""Side-by-side comparison of networks (``mbcost compare``): totals, ratios
against a reference, the breakdown by type, and published figures where known."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from mbcost.results.analysis import Analysis, analyze
from mbcost.core.conventions import alpha_number
from mbcost.errors import MbcostError
from mbcost.results.frames import Framed, snake
from mbcost.results.published import (FVCORE_READING, crop_note, device_latencies, imagenet_result, latency_devices,
                                      timm_result, torchvision_result)
from mbcost.numbers import safe_float
from mbcost.results.zoo import canonical_name, load_network, looks_like_path
from mbcost.sources import open_table, recognise

#: Per-model settings accepted after "NAME:" (e.g. mobilenet:alpha=0.5,res=160).
SETTING_KEYS = {"alpha": "alpha", "res": "resolution", "resolution": "resolution", "rho": "rho",
                "depth": "depth_mult", "depth_mult": "depth_mult",
                "classes": "classes", "min_depth": "min_depth", "divisor": "divisor"}


@dataclass
class Entry:
    label: str
    arg: str  # as typed: name[:settings]
    analysis: Analysis
    published: dict | None
    note: str = ""  # how its settings were chosen, where not as given
    #: the predicted latency (a LatencyPrediction) when compared with a calibration and the model is a spec
    latency: object = None
    #: the latencies its paper measured on devices (:func:`~mbcost.results.published.device_latencies`:
    #: ``ms`` per device, ``printed``, ``source``) at the configuration it measured, else None
    published_latency: dict | None = None

    @property
    def key(self) -> str:
        return self.analysis.model


@dataclass(repr=False)
class Comparison(Framed):
    entries: list[Entry]
    reference: int
    #: the latency Calibration the entries were predicted with (``compare --latency``), else None
    calibration: object = None

    def records(self) -> list[dict]:
        """One row per network: counts, ratios to the reference as floats, the
        published figures (None where there are none); where any network has
        published device latencies, one ``latency_ms_<device>_published`` per
        device any of them has (None where the paper gives none)."""
        devices = self.published_latency_devices()
        out = []
        for e in self.entries:
            a, pub = e.analysis, e.published or {}
            out.append({
                "label": e.label, "model": a.model, "alpha": alpha_number(a.config.alpha),
                "in_h": a.input.h, "in_w": a.input.w, "in_c": a.input.c,
                "mult_adds": a.total.mult_adds, "params": a.total.params, "activations": a.total.activations,
                "mult_adds_ratio": safe_float(self.ratio(e, "mult_adds")),
                "params_ratio": safe_float(self.ratio(e, "params")),
                "top1_published": pub.get("top1"), "mult_adds_millions_published": pub.get("mult_adds_millions"),
                "params_millions_published": pub.get("params_millions"),
                **{latency_key(d): (e.published_latency or {"ms": {}})["ms"].get(d) for d in devices},
            })
        return out

    def published_latency_devices(self) -> list[str]:
        """Every device any compared network has a published latency on, in the
        paper's order (empty when none has)."""
        return latency_devices([e.published_latency for e in self.entries])

    def describe(self) -> str:
        return "Comparison of " + ", ".join(e.label for e in self.entries)

    @property
    def ref(self) -> Entry:
        return self.entries[self.reference]

    def ratio(self, entry: Entry, what: str) -> Fraction:
        """``entry`` / reference for ``mult_adds``, ``params`` or ``activations``."""
        ref = getattr(self.ref.analysis.total, what)
        return Fraction(getattr(entry.analysis.total, what), ref) if ref else Fraction(0)


def latency_key(device: str) -> str:
    """The record key of a device's published latency: 'Pixel 6 CPU' ->
    'latency_ms_pixel_6_cpu_published'."""
    return f"latency_ms_{snake(device)}_published"


def parse_model_arg(arg: str) -> tuple[str, dict]:
    """``name[:key=value,...]`` -> (name, settings). Paths with ':' (Windows) are
    taken whole when they exist."""
    name, sep, rest = arg.partition(":")
    if not sep or looks_like_path(arg) and not looks_like_path(name):
        return arg, {}
    settings: dict = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip().lower().replace("-", "_")
        if not eq or key not in SETTING_KEYS:
            raise MbcostError(f"bad setting '{item}' in '{arg}': use key=value with key in "
                              f"{', '.join(k for k in SETTING_KEYS if k != 'resolution')}")
        target = SETTING_KEYS[key]
        try:
            settings[target] = float(value) if target in ("alpha", "rho", "depth_mult") else int(value)
        except ValueError:
            raise MbcostError(f"bad value '{value}' for {key} in '{arg}'") from None
    return name, settings


def expand_family(arg: str) -> list[str]:
    """A family's name (``efficientnet``, ``resnet``, ``mnasnet``, ``shufflenet_v2``,
    ``mobilenet_v3``) stands for its zoo networks; anything else is itself."""
    from mbcost.results.zoo import ALIASES, model_names

    key = arg.strip().lower().replace("-", "_")
    names = model_names()
    if ":" in arg or looks_like_path(arg) or key in names or key in ALIASES:
        return [arg]
    members = [n for n in names if n.startswith(key)]
    return sorted(members, key=_family_key) if len(members) > 1 else [arg]


def _family_key(name: str):
    import re

    digits = re.findall(r"\d+", name)
    return [int(d) for d in digits] or [0]


def fvcore_mult_adds(network, settings: dict) -> int:
    """Mult-Adds as fvcore's defaults count them (timm's GMACs): conv and matrix
    products once, batch norm twice per element (scale and shift), the global pool
    once per input element, activations not at all."""
    settings = {k: v for k, v in settings.items() if k not in ("count", "params")}
    with_pool = analyze(network, count="conv,fc,bn,pool", **settings).total.mult_adds
    with_bn = analyze(network, count="conv,fc,bn", **settings).total.mult_adds
    plain = analyze(network, count="conv,fc", **settings).total.mult_adds
    return with_pool + (with_bn - plain)


def published_check(entry_published: dict, count: int, what: str) -> str:
    """The verdict on one published figure (``what``: mult_adds or parameters)
    against the computed ``count``, in words (see :func:`judge_published`); a
    figure counted by fvcore's defaults (timm's GMACs) is tried in that reading."""
    return judge_published(entry_published, count, what, fvcore_alternative(entry_published, what)).words


def fvcore_alternative(entry_published: dict, what: str) -> dict[str, int]:
    """fvcore's convention as a reading of a published Mult-Adds figure, where the
    publisher counts that way (timm) and the comparison computed it."""
    fvcore = entry_published.get("fvcore_mult_adds")
    return {FVCORE_READING: fvcore} if what == "mult_adds" and fvcore is not None else {}


@dataclass
class PublishedFigure:
    """A published figure beside the computed one in the publisher's unit.

    ``grade``: 'ok' (the computed count rounds to the figure at its printed
    precision, trailing zeros of a whole number read as not significant),
    'rounding' (within one unit of its last printed digit: another rounding rule),
    'convention' (another counting convention rounds to it: ``words`` says which),
    or 'not explained'. ``delta_pct``: computed against published, in percent."""

    printed: str
    computed: str
    delta_pct: float
    grade: str
    words: str


def _last_unit(printed: str) -> Fraction:
    """The unit of a figure's last significant digit: 0.01 for '1.32', 100 for
    '1700' (trailing zeros of a whole number not significant)."""
    if "." in printed:
        return Fraction(1, 10 ** len(printed.split(".")[1]))
    digits = printed.lstrip("-")
    return Fraction(10 ** (len(digits) - len(digits.rstrip("0")))) if digits.strip("0") else Fraction(1)


def _grade(printed: str, value: Fraction) -> str | None:
    """'ok' when ``value`` rounds to ``printed``, 'rounding' when it is within one
    unit of the printed figure's last digit, else None."""
    target, unit = Fraction(printed), _last_unit(printed)
    if abs(value - target) * 2 <= unit:
        return "ok"
    return "rounding" if abs(value - target) < unit else None


def judge_published(pub: dict, count: int, what: str, alternatives: dict[str, int] | None = None) -> PublishedFigure:
    """One published figure (Mult-Adds or parameters, ``pub`` as
    :func:`mbcost.results.published.imagenet_result` or ``torchvision_result``
    give it) against the computed ``count``; ``alternatives``: the count under
    other conventions (name -> count), tried when the paper's does not fit."""
    text = pub.get("_text", {})
    if what == "mult_adds" and pub.get("mult_adds_unit") == "G":
        printed, scale, unit = text["mult_adds_printed"], 10**9, "G"
    elif what == "mult_adds":
        printed, scale, unit = text.get("mult_adds_millions"), 10**6, "M"
    elif pub.get("params_exact"):  # torchvision: an exact parameter count
        printed, scale, unit = f"{round(pub['params_millions'] * 1e6)}", 1, ""
    else:
        printed, scale, unit = text.get("params_millions"), 10**6, "M"
    if printed is None:
        return PublishedFigure("", "", 0.0, "", "")
    value = Fraction(count, scale)
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    shown = f"{printed} {unit}" if unit else f"{int(printed):,}"
    computed = (f"{float(value):,.{max(decimals + 1, 2 if unit == 'M' else 1)}f} {unit}" if unit else f"{count:,}")
    target = Fraction(printed)
    delta = float((value - target) / target * 100) if target else 0.0
    # an exact published count (torchvision's parameters) is equal or not: no rounding to read
    grade = ("ok" if value == target else None) if not unit else _grade(printed, value)
    if grade == "ok":
        return PublishedFigure(shown, computed, delta, "ok", "ok")
    if grade == "rounding":
        how = f"{computed} computed"
        if unit == "G" and decimals == 2 and f"{round(round(float(value), 3), 2):.2f}" == printed:
            how = (f"torchvision's documentation rounds its 3-decimal metadata again ({float(value):.4f} -> "
                   f"{round(float(value), 3):.3f} -> {printed})")
        return PublishedFigure(shown, computed, delta, "rounding",
                               f"rounding: {how}, within one unit of the last digit of the published {shown}"
                               " (another rounding rule)")
    for name, other in (alternatives or {}).items():
        if _grade(printed, Fraction(other, scale)) is not None:
            return PublishedFigure(shown, computed, delta, "convention",
                                   f"convention: {name} gives {float(Fraction(other, scale)):,.2f} {unit}, which"
                                   f" rounds to the published {printed} {unit}")
    return PublishedFigure(shown, computed, delta, "not explained",
                           f"not explained: {computed} computed against {shown} published ({delta:+.1f}%)")


def figure_alternatives(analysis: Analysis, what: str) -> dict[str, int]:
    """The other counting conventions a published figure may use: FLOPs and the
    convolutions alone for Mult-Adds; weights + biases and every parameter for
    parameters."""
    t = analysis.total
    if what == "params":
        return {"weights + biases": t.weights + t.biases,
                "every parameter (weights, biases, batch-norm scale and shift)": t.weights + t.biases + t.norm}
    fc = sum(r.mult_adds for r in analysis.layers if getattr(r, "kind", "") == "fc")
    out = {"FLOPs (2 × Mult-Adds)": 2 * t.mult_adds}
    if fc:
        out["the convolutions alone (fully connected layers not counted)"] = t.mult_adds - fc
    return out


def _label(analysis: Analysis, default_res: int) -> str:
    parts = [analysis.model]
    if analysis.alpha != 1 or analysis.resolution != default_res:
        parts.append(f"{analysis.alpha:g}-{analysis.resolution}")
    if analysis.config.depth_mult != 1:
        parts.append(f"depth {float(analysis.config.depth_mult):g}")
    if analysis.config.classes is not None:
        parts.append(f"{analysis.config.classes} classes")
    return " ".join(parts)


def compare(models: list[str], reference: str | None = None, latency=None, **common) -> Comparison:
    """Analyse each ``models`` item (``name[:alpha=..,res=..,classes=..]``) with the
    ``common`` settings of :func:`mbcost.analyze` overridden per model; ``latency``:
    a calibration, each spec's latency predicted with it."""
    if not models:
        raise MbcostError("name at least one model to compare")
    models = [name for arg in models for name in expand_family(arg)]
    entries = []
    for arg in models:
        source = recognise(arg)
        if source.name != "spec":  # a fixed model (an ONNX file): counted from its graph, no published data
            settings = {k: v for k, v in common.items() if k not in ("count", "params")}
            analysis = open_table(arg, source=source, count=common.get("count", ("conv", "fc")),
                                  params=common.get("params") or "weights",  # the table's convention, as for specs
                                  **settings)
            entries.append(Entry(f"{analysis.model} ({source.label})", arg, analysis, None))
            continue
        name, settings = parse_model_arg(arg)
        network = load_network(name)
        given = {**common, **settings}
        analysis = analyze(network, **given)
        default_res = network.tree.input[0] if network.tree.input else analysis.resolution
        note = ""
        crop = crop_note(analysis.model, analysis.resolution, "name:res=R")
        if (given.get("resolution") is None and given.get("rho") is None and crop is not None
                and analysis.alpha == 1 and not given.get("classes")):
            crop, note = crop
            analysis = analyze(network, **{**given, "resolution": crop})
            default_res = crop
        label = _label(analysis, default_res)
        classes = analysis.config.classes or network.classes or 1000
        published = (imagenet_result(analysis.model, analysis.alpha, analysis.resolution, classes, default_res)
                     or torchvision_result(analysis.model, analysis.alpha, analysis.resolution, classes)
                     or timm_result(analysis.model, analysis.alpha, analysis.resolution, classes))
        if published and "fvcore" in published.get("readings", ()):
            published = {**published, "fvcore_mult_adds": fvcore_mult_adds(network, {**given, "resolution": analysis.resolution})}
        measured = device_latencies(analysis.model, analysis.alpha, analysis.resolution, classes,
                                    analysis.config.depth_mult)
        entries.append(Entry(label, arg, analysis, published, note, published_latency=measured))
    index = 0
    if reference is not None:
        index = _find_reference(reference, entries)
    if latency is not None:
        from mbcost.attachments.latency import predict_latency

        for e in entries:
            e.latency = predict_latency(e.analysis, latency) if isinstance(e.analysis, Analysis) else None
    return Comparison(entries, index, latency)


def _find_reference(reference: str, entries: list[Entry]) -> int:
    wanted = reference.strip()
    for attr in ("arg", "label"):  # exactly as typed, then the label shown
        for i, e in enumerate(entries):
            if wanted == getattr(e, attr):
                return i
    try:
        key = canonical_name(wanted) if not looks_like_path(wanted) else load_network(wanted).name
    except MbcostError:
        key = None
    for i, e in enumerate(entries):
        if key is not None and e.key == key:
            return i
    raise MbcostError(f"reference '{reference}' is none of the compared models ({', '.join(e.label for e in entries)})")
