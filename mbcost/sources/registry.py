"""The registry of sources: the input formats a cost table can be made from.

A source is one :class:`Source` object, defined and registered by one module of
this package (``spec.py``: a zoo name, a spec file or a :class:`Network`;
``torch_factory.py``: a torch module or ``pkg.module:factory``; ``onnx_file.py``:
an ``.onnx`` file). Each recognises its argument, declares the settings it
accepts, and makes a table (and, for ``mbcost export``, an operator graph and
ONNX bytes). A setting given to a source that does not accept it is refused here,
once, naming the sources that do. Importing :mod:`mbcost.sources` imports every
module of the package, so adding an input format is adding its module (and its
test): nothing else lists the sources. Sources import their adapters inside
their functions: the symbolic path stays free of torch and onnx.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from mbcost.errors import MbcostError


@dataclass(frozen=True)
class Setting:
    """A setting a source may accept: its keyword in the library, its option in
    the CLI, and the value that means 'not given'."""

    key: str
    flag: str
    default: object = None


#: Every setting a source can declare (the library's keyword -> Setting).
SETTINGS = {s.key: s for s in (
    Setting("alpha", "--alpha", 1), Setting("resolution", "--res"), Setting("rho", "--rho"),
    Setting("depth_mult", "--depth-mult", 1), Setting("min_depth", "--min-depth"), Setting("divisor", "--divisor"),
    Setting("classes", "--classes"), Setting("input_size", "--input"), Setting("inputs", "inputs="),
)}


@dataclass(frozen=True)
class Source:
    """One input format.

    ``recognises(arg)``: the argument is this format (a path's extension, an
    object's type); the spec source recognises anything the others do not.
    ``settings``: the keys of :data:`SETTINGS` it accepts. ``table(arg, *, count,
    params, **settings)``: the cost table (a :class:`~mbcost.results.tables.CostTable`).
    ``op_graph(arg, screen=None, **settings)``: (OpGraph, what it is in words), for
    ``export --output x.spec`` (``screen``: passed to
    :func:`~mbcost.adapters.onnx_model.read_graph`); ``onnx_bytes(arg, **settings)``: for ``export
    --output x.onnx``. ``what``: the format in words, plural ("specs"); ``label``: short, beside a model's name ("ONNX");
    ``hint``: what to do instead when a setting it does not accept is given.
    ``order``: recognition order (the fallback last). ``table_steps``: ``table``
    written as steps (:mod:`mbcost.steps`, the same arguments), for a table made
    by a JIT trace, which ``mbcost.analyze`` then makes in its own frame."""

    name: str
    what: str
    label: str
    recognises: Callable[[object], bool]
    settings: tuple[str, ...]
    table: Callable
    op_graph: Callable | None = None
    onnx_bytes: Callable | None = None
    hint: str = ""
    order: int = 0
    table_steps: Callable | None = None


SOURCES: dict[str, Source] = {}


def register(source: Source) -> Source:
    if source.name in SOURCES:
        raise ValueError(f"source '{source.name}' registered twice")
    unknown = [k for k in source.settings if k not in SETTINGS]
    if unknown:
        raise ValueError(f"source '{source.name}' declares unknown settings {unknown}")
    SOURCES[source.name] = source
    return source


def recognise(arg) -> Source:
    """The source whose format ``arg`` is."""
    for source in sorted(SOURCES.values(), key=lambda s: s.order):
        if source.recognises(arg):
            return source
    raise MbcostError(f"no source reads {arg!r}")  # unreachable while the spec source takes the rest


def owners_text(names: list[str]) -> str:
    """'specs', 'torch models and ONNX files'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def refuse(flags: list[str], source: Source, owners: list[str], hint: str = "") -> None:
    """The one refusal: '--alpha, --res apply to specs only; HINT'."""
    verb = "applies" if len(flags) == 1 else "apply"
    raise MbcostError(f"{', '.join(flags)} {verb} to {owners_text(owners)} only" + (f"; {hint}" if hint else ""))


def accepted(source: Source, settings: dict, *, flags: bool = False) -> dict:
    """``settings`` (keyword -> value) checked against what ``source`` accepts: a
    setting it does not accept that is given (not its default) is refused,
    naming the sources that accept it; returns the accepted ones."""
    given = [k for k, v in settings.items() if k not in source.settings and v != SETTINGS[k].default]
    if given:
        names = [SETTINGS[k].flag if flags else k for k in given]
        owners = [s.what for s in sorted(SOURCES.values(), key=lambda s: s.order) if given[0] in s.settings]
        refuse(names, source, owners, source.hint)
    return {k: v for k, v in settings.items() if k in source.settings}
