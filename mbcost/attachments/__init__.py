"""What an option adds to a cost table: memory and liveness, predicted latency, the
three-way check, the formulas, the roofline. Each is a function from a table to an attachment
(:func:`attach_memory`, :func:`~mbcost.attachments.latency.predict_latency`,
:func:`~mbcost.attachments.check.check_table`), declared here once as a
:class:`TableOption` of ``mbcost table``: its flag, the sources it applies to (the
refusal for the others comes from that), and how it attaches. How an attachment
shows (its columns, notes and data) is declared in
:data:`mbcost.documents.views.ATTACHMENT_VIEWS`. torch and fvcore are imported
inside the functions that need them only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


def attach_memory(table, dtype: str = "fp32"):
    """``--memory``: a spec's liveness from its graph, a torch model's from a traced forward pass."""
    if getattr(table, "instances", None) is not None:
        from mbcost.attachments.memory import memory

        return memory(table, dtype)
    from mbcost.adapters.torch_trace import torch_memory

    return torch_memory(table, table.module, table.example_inputs, dtype)


def attach_check(table, _value=None):
    from mbcost.attachments.check import check_table

    return check_table(table)


def attach_latency(table, path: str, batch: int = 1):
    from mbcost.attachments.latency import load_calibration, predict_latency

    return predict_latency(table, load_calibration(path), batch)


def attach_roofline(table, ridge):
    """``--roofline RP``: each costed row's bytes and bound at ridge point RP (int8)."""
    from mbcost.attachments.roofline import RooflineAttachment

    return RooflineAttachment.of(table, ridge)


@dataclass(frozen=True)
class TableOption:
    """An option of ``mbcost table`` that attaches something to the table.
    ``name``: the attachment's name (and its view's); ``sources``: the sources
    (:mod:`mbcost.sources`) it applies to; ``attach(table, value, *companions)``;
    ``hint``: what to do instead on another source."""

    flag: str
    name: str
    sources: tuple[str, ...]
    attach: Callable
    hint: str = ""


TABLE_OPTIONS = (
    TableOption("--check", "check", ("spec",), attach_check,
                "mbcost check compares the counters of a torch model or an ONNX file"),
    TableOption("--memory", "memory", ("spec", "torch"), attach_memory),
    TableOption("--latency", "latency", ("spec", "torch"), attach_latency,
                "the latency is predicted from a spec's rows or a torch model's traced calls (mbcost export writes an "
                "ONNX file as a spec)"),
    TableOption("--formula", "formula", ("spec", "torch", "onnx"), lambda table, _value=None: table),
    TableOption("--roofline", "roofline", ("spec",), attach_roofline,
                "the roofline costs a spec's fused rows (mbcost export writes a model as a spec)"),
)


def check_applies(option: TableOption, source) -> None:
    """Refuse ``option`` on a source it does not apply to, naming those it does."""
    from mbcost.sources import SOURCES, refuse

    if source.name not in option.sources:
        refuse([option.flag], source, [SOURCES[n].what for n in option.sources], option.hint)
