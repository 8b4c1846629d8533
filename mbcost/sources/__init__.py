"""The input formats a cost table is made from. Each module of this package
defines one :class:`~mbcost.sources.registry.Source` and registers it; importing
the package imports every module, so a new input format is a new module (and its
test) and nothing else lists it."""

from __future__ import annotations

import importlib
import pkgutil

from mbcost.errors import MbcostError
from mbcost.steps import done, run
from mbcost.sources.registry import SETTINGS, SOURCES, Setting, Source, accepted, recognise, refuse

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")


def source_of(arg, torch_target: str | None = None) -> tuple[Source, object]:
    """(source, argument) of a command's model argument, or of ``--torch TARGET``
    (a torch factory is named by its option: a spec argument may contain ':')."""
    if torch_target is not None:
        if arg is not None:
            raise MbcostError("give a model or spec file, or --torch pkg.module:factory, not both")
        return SOURCES["torch"], torch_target
    return recognise(arg), arg


def open_table(arg, *, count=("conv", "fc"), params=None, flags: bool = False, source: Source | None = None,
               **settings):
    """The cost table of ``arg`` (its source recognised, or ``source``), the
    settings it does not accept refused."""
    return run(table_steps(arg, count=count, params=params, flags=flags, source=source, **settings))


def table_steps(arg, *, count=("conv", "fc"), params=None, flags: bool = False, source: Source | None = None,
                **settings):
    """:func:`open_table` as steps (:mod:`mbcost.steps`): a source with
    ``table_steps`` (a torch module) yields its trace, to be made in the frame that
    runs the steps; any other's table is made here."""
    source = source or recognise(arg)
    settings = accepted(source, settings, flags=flags)
    if source.table_steps is not None:
        return source.table_steps(arg, count=count, params=params, **settings)
    return done(source.table(arg, count=count, params=params, **settings))


__all__ = ["SETTINGS", "SOURCES", "Setting", "Source", "accepted", "recognise", "refuse", "source_of", "open_table", "table_steps"]
