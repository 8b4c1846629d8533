"""``mbcost export``: a model written in another form, chosen by the output's extension.

* ``.spec`` from a torch model (``--torch``, through its ONNX export), an ONNX
  file, or a zoo model at a configuration: :func:`export_spec`. The text is
  compiled and counted before it is written, and must equal the source graph's
  own count (every group counted, every parameter) module by module; otherwise
  nothing is written and the first difference is named.
* ``.onnx`` from a zoo model or spec at ``--alpha``/``--res`` (its torch build),
  or from a torch model: :func:`export_onnx`.

Files are written whole or not at all (:func:`mbcost.documents.output.write_atomic`).
"""

from __future__ import annotations

from pathlib import Path

from mbcost.errors import MbcostError
from mbcost.sources.spec import ALL_GROUPS


def _source(model, torch_target, input_shape, settings):
    """(source, argument, its accepted settings): the export's input, refused settings refused."""
    from mbcost.sources import accepted, source_of

    if model is None and torch_target is None:
        raise MbcostError("mbcost export needs a model: a zoo name, a spec or ONNX file, or --torch pkg.mod:factory")
    source, arg = source_of(model, torch_target)
    return source, arg, accepted(source, {**settings, "input_size": input_shape}, flags=True)


def source_graph(model: str | None = None, torch_target: str | None = None, input_shape=None, screen=None,
                 **settings):
    """(OpGraph, what it is in words) of the source: an ONNX file, a torch
    factory (built on the CPU and exported), or a zoo model/spec at ``settings``.
    ``screen``: see :func:`mbcost.adapters.onnx_model.read_graph`."""
    from mbcost.adapters.onnx_model import require_onnx

    require_onnx("mbcost export")
    source, arg, settings = _source(model, torch_target, input_shape, settings)
    return source.op_graph(arg, screen=screen, **settings)


def export_spec(model: str | None = None, torch_target: str | None = None, input_shape=None, name: str | None = None,
                **settings):
    """(spec text, the verified comparison) of the source as a spec."""
    from mbcost.graphs.spec_writer import check_rows, write_spec

    # a graph whose spec would make more layers than a spec may is refused before its sizes are inferred
    graph, what = source_graph(model, torch_target, input_shape, screen=check_rows, **settings)
    if graph.shared:
        module, (count, first) = next(iter(graph.shared.items()))
        raise MbcostError(f"cannot write {graph.name} as a spec: module '{module}' shares {count:,} parameters with "
                          f"'{first}' (tied weights), and a spec's layers each have their own; nothing written")
    written = write_spec(graph, name=name, source=what)
    verify(graph, written)
    return written


def verify(graph, written) -> None:
    """The written spec, compiled and counted (every group, every parameter),
    equals the graph's own count module by module; MbcostError naming the first
    difference otherwise."""
    from mbcost.results.analysis import analyze
    from mbcost.core.network import Network

    try:
        network = Network.from_text(written.text, source="<exported spec>")
        spec = analyze(network, count=ALL_GROUPS, params="all")
    except MbcostError as exc:
        raise MbcostError(f"the spec written from {graph.name} does not compile ({exc}); nothing written") from None
    diffs = line_differences(spec, graph, written)
    if diffs:
        label, mine, theirs = diffs[0]
        raise MbcostError(f"the spec written from {graph.name} differs from the model at line '{label}' (module "
                          f"'{written.modules.get(label, '?')}'; Mult-Adds, weights, biases, norm: spec {mine}, "
                          f"model {theirs}); nothing written")


def line_differences(spec, graph, written, count=ALL_GROUPS) -> list:
    """Lines of a written spec whose count (its analysis' rows, by row name) differs
    from the operators of ``graph`` that line holds, counted by the ONNX handles
    (:mod:`mbcost.adapters.onnx_count`). Operators that no line holds must cost
    nothing. Empty: equal line by line."""
    from mbcost.adapters.onnx_count import node_mult_adds

    zero = (0, 0, 0, 0)
    mine: dict[str, tuple] = {}
    for r in spec.layers:
        counts = (r.mult_adds, r.weights, r.biases, r.norm)
        mine[r.name] = tuple(a + b for a, b in zip(mine.get(r.name, zero), counts))
    theirs: dict[str, tuple] = {}
    for i, node in enumerate(graph.nodes):
        label = written.owner.get(i, f"(no line: {node.name})")
        counts = (node_mult_adds(node, graph, frozenset(count)), *node.param_counts())
        theirs[label] = tuple(a + b for a, b in zip(theirs.get(label, zero), counts))
    return [(k, mine.get(k, zero), theirs.get(k, zero)) for k in sorted(set(mine) | set(theirs))
            if mine.get(k, zero) != theirs.get(k, zero)]


def spec_differences(spec, model_table, modules: dict[str, str]) -> list:
    """Rows where a written spec's analysis (its rows mapped to the modules they
    came from) differs from a model's table (torch or ONNX route) rolled up to
    the same modules. Empty: equal module by module."""
    from mbcost.graphs.rowmatch import differences

    return differences(spec, model_table, modules)


def export_onnx(model: str | None = None, torch_target: str | None = None, input_shape=None, **settings) -> bytes:
    """ONNX bytes of a zoo model or spec at ``settings``, or of a torch model."""
    from mbcost.adapters.onnx_model import require_onnx

    require_onnx("mbcost export to .onnx")
    source, arg, settings = _source(model, torch_target, input_shape, settings)
    return source.onnx_bytes(arg, **settings)


def export(output: str, **kwargs) -> str:
    """Write ``output`` (.spec or .onnx) whole; returns a one-line summary."""
    from mbcost.documents.output import write_atomic

    suffix = Path(output).suffix.lower()
    if suffix == ".spec":
        written = export_spec(name=Path(output).stem, **kwargs)
        write_atomic(output, written.text)
        rows = sum(1 for line in written.text.splitlines() if ":" in line and not line.lstrip().startswith("#"))
        return f"wrote {output}: {rows} labelled lines; checked: every line's count equals the model's operators it stands for"
    if suffix == ".onnx":
        from mbcost.adapters.onnx_export import exporter_note
        from mbcost.adapters.operators import OPSET

        data = export_onnx(**kwargs)
        write_atomic(output, data)
        return f"wrote {output}: {len(data):,} bytes (ONNX opset {OPSET} from torch.onnx.export; {exporter_note(data)})"
    raise MbcostError(f"--output must end in .spec or .onnx (the form is chosen by the extension), got '{output}'")
