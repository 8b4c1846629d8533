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

from mbcost.adapters.operators import OPSET

ALL_GROUPS = ("conv", "fc", "bn", "pool", "act")


def source_graph(model: str | None = None, torch_target: str | None = None, input_shape=None, **settings):
    """(OpGraph, what it is in words) of the source: an ONNX file, a torch
    factory (built on the CPU and exported), or a zoo model/spec at ``settings``."""
    from mbcost.adapters.onnx_model import read_graph, require_onnx

    require_onnx("mbcost export")
    if torch_target is not None:
        from mbcost.adapters.onnx_export import module_to_onnx
        from mbcost.adapters.torch_model import build_for_export, parse_target

        if _settings_given(settings):
            raise MbcostError("--alpha, --res and the other settings apply to specs; with --torch give --input "
                              "(then scale the spec it writes)")
        model_obj, shape = build_for_export(torch_target, input_shape)
        data = module_to_onnx(model_obj, shape, torch_target)
        graph = read_graph(torch_target, data=data)
        graph.name = parse_target(torch_target)[1].rsplit(".", 1)[-1]  # the factory's name
        return graph, f"the torch model {torch_target} at input {_x(shape)}"
    if model is None:
        raise MbcostError("mbcost export needs a model: a zoo name, a spec or ONNX file, or --torch pkg.mod:factory")
    if model.lower().endswith(".onnx"):
        if _settings_given(settings):
            raise MbcostError(f"{model}: an ONNX model is fixed; --alpha, --res and the other settings apply to "
                              "specs (export it as a spec first, then scale that)")
        from mbcost.adapters.torch_model import parse_input

        shape = parse_input(input_shape) if input_shape else None
        return read_graph(model, shape), f"{model}"
    from mbcost.adapters.onnx_export import spec_to_onnx

    if input_shape is not None:
        raise MbcostError("--input goes with --torch or an ONNX file; for a spec give --res")
    analysis = _spec_analysis(model, settings)
    return read_graph(analysis.model, data=spec_to_onnx(analysis)), analysis.settings_text


def _spec_analysis(model, settings):
    from mbcost.results.analysis import analyze

    return analyze(model, **{k: v for k, v in settings.items() if v is not None}, count=ALL_GROUPS, params="all")


def _settings_given(settings) -> bool:
    return any(v is not None and v != 1 for v in settings.values())


def _x(shape) -> str:
    return "x".join(str(d) for d in shape)


def export_spec(model: str | None = None, torch_target: str | None = None, input_shape=None, name: str | None = None,
                **settings):
    """(spec text, the verified comparison) of the source as a spec."""
    from mbcost.graphs.spec_writer import write_spec

    graph, what = source_graph(model, torch_target, input_shape, **settings)
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
    return onnx_and_note(model, torch_target, input_shape, **settings)[0]


def onnx_and_note(model: str | None = None, torch_target: str | None = None, input_shape=None,
                  **settings) -> tuple[bytes, str]:
    """(ONNX bytes, what the exporter did with the batch norms) of :func:`export_onnx`."""
    from mbcost.adapters.onnx_model import require_onnx

    require_onnx("mbcost export to .onnx")
    if torch_target is not None:
        from mbcost.adapters.onnx_export import module_to_onnx
        from mbcost.adapters.torch_model import build_for_export

        if _settings_given(settings):
            raise MbcostError("--alpha, --res and the other settings apply to specs; with --torch give --input")
        model_obj, shape = build_for_export(torch_target, input_shape)
        data = module_to_onnx(model_obj, shape, torch_target)
        from mbcost.adapters.onnx_export import batch_norm_note

        return data, batch_norm_note(model_obj, data)
    if model is None:
        raise MbcostError("mbcost export needs a model: a zoo name or spec file, or --torch pkg.mod:factory")
    if model.lower().endswith(".onnx"):
        raise MbcostError(f"{model} is ONNX already (copy the file)")
    if input_shape is not None:
        raise MbcostError("--input goes with --torch; for a spec give --res")
    from mbcost.adapters.onnx_export import spec_to_onnx

    return spec_to_onnx(_spec_analysis(model, settings)), "batch norm kept"


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
        data, note = onnx_and_note(**kwargs)
        write_atomic(output, data)
        return f"wrote {output}: {len(data):,} bytes (ONNX opset {OPSET} from torch.onnx.export; {note})"
    raise MbcostError(f"--output must end in .spec or .onnx (the form is chosen by the extension), got '{output}'")
