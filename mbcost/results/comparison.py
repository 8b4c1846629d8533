"""Side-by-side comparison of networks (``mbcost compare``): totals, ratios
against a reference, the breakdown by type, and published figures where known."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from mbcost.results.analysis import Analysis, analyze
from mbcost.core.conventions import alpha_number
from mbcost.errors import MbcostError
from mbcost.documents.frames import Framed
from mbcost.results.published import FVCORE_READING, imagenet_result, timm_result, torchvision_result
from mbcost.documents.render import safe_float
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
    #: the predicted latency (a LatencyPrediction) when compared with a calibration and the model is a spec
    latency: object = None

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
        published figures (None where there are none)."""
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
            })
        return out

    def describe(self) -> str:
        return "Comparison of " + ", ".join(e.label for e in self.entries)

    @property
    def ref(self) -> Entry:
        return self.entries[self.reference]

    def ratio(self, entry: Entry, what: str) -> Fraction:
        """``entry`` / reference for ``mult_adds``, ``params`` or ``activations``."""
        ref = getattr(self.ref.analysis.total, what)
        return Fraction(getattr(entry.analysis.total, what), ref) if ref else Fraction(0)


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
    """'ok' when the computed ``count`` (Mult-Adds or parameters) rounds to the
    published figure at its printed precision; else the reading that explains
    it, or the difference. Exact: the count is divided as a fraction."""
    from mbcost.results.paper import within_rounding

    text = entry_published.get("_text", {})
    if what == "mult_adds" and entry_published.get("mult_adds_unit") == "G":
        printed, value = text["mult_adds_printed"], Fraction(count, 10**9)
        if within_rounding(printed, value):
            return "ok"
        decimals = len(printed.split(".")[1]) if "." in printed else 0
        if decimals == 2 and f"{round(round(float(value), 3), 2):.2f}" == printed:
            return (f"ok: torchvision's documentation rounds its 3-decimal metadata again ({float(value):.4f} -> "
                    f"{round(float(value), 3):.3f} -> {printed})")
        fvcore = entry_published.get("fvcore_mult_adds")
        if fvcore is not None and within_rounding(printed, Fraction(fvcore, 10**9)):
            return f"ok with {FVCORE_READING}: {fvcore / 1e9:.4f} G ({float(value):.4f} G in mbcost's convention)"
        return f"differs: {float(value):.4f} G computed"
    printed = text.get("mult_adds_millions" if what == "mult_adds" else "params_millions")
    if printed is None:
        return ""
    return "ok" if within_rounding(printed, Fraction(count, 10**6)) else \
        "differs at the printed precision (mbcost paper gives the readings of the paper's figures)"


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
        analysis = analyze(network, **{**common, **settings})
        default_res = network.tree.input[0] if network.tree.input else analysis.resolution
        label = _label(analysis, default_res)
        classes = analysis.config.classes or network.classes or 1000
        published = (imagenet_result(analysis.model, analysis.alpha, analysis.resolution, classes, default_res)
                     or torchvision_result(analysis.model, analysis.alpha, analysis.resolution, classes)
                     or timm_result(analysis.model, analysis.alpha, analysis.resolution, classes))
        if published and "fvcore" in published.get("readings", ()):
            published = {**published, "fvcore_mult_adds": fvcore_mult_adds(network, {**common, **settings})}
        entries.append(Entry(label, arg, analysis, published))
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
