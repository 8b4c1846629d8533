"""Specs: a zoo model by name (or alias), a spec file, or a :class:`Network`
already compiled. Evaluated by the symbolic core; pure Python. The fallback
source: an argument no other source recognises is read as a spec."""

from __future__ import annotations

from mbcost.sources.registry import Source, register

#: every group counted and every parameter, as ``mbcost export`` compares a written spec with its model
ALL_GROUPS = ("conv", "fc", "bn", "pool", "act")


def table(arg, *, count=("conv", "fc"), params=None, **settings):
    from mbcost.core.network import Config, Network
    from mbcost.results.tables import Analysis
    from mbcost.results.zoo import load_network

    network = arg if isinstance(arg, Network) else load_network(arg)
    config = Config.make(count=count, params=params, **settings)
    return Analysis(network, config, network.evaluate(config))


def _export_analysis(arg, settings):
    return table(arg, count=ALL_GROUPS, params="all", **{k: v for k, v in settings.items() if v is not None})


def op_graph(arg, **settings):
    from mbcost.adapters.onnx_export import spec_to_onnx
    from mbcost.adapters.onnx_model import read_graph

    analysis = _export_analysis(arg, settings)
    return read_graph(analysis.model, data=spec_to_onnx(analysis)), analysis.settings_text


def onnx_bytes(arg, **settings) -> bytes:
    from mbcost.adapters.onnx_export import spec_to_onnx

    return spec_to_onnx(_export_analysis(arg, settings))


register(Source(
    name="spec", what="specs", label="spec", recognises=lambda arg: True, order=100,
    settings=("alpha", "resolution", "rho", "depth_mult", "min_depth", "divisor", "classes"),
    table=table, op_graph=op_graph, onnx_bytes=onnx_bytes,
    hint="a spec's input size is its resolution (--res, resolution=)",
))
