"""Per-layer costs, totals and the breakdown by layer type.

:func:`analyze` is the library's entry point; the CLI prints what it returns.
The table types live in :mod:`mbcost.results.tables`.
"""

from __future__ import annotations

from mbcost.core.network import Config, Network
from mbcost.errors import MbcostError
from mbcost.results.tables import (Analysis, CostTable, LayerRow, ModelTable, Totals, TypeShare,  # noqa: F401  (API)
                                   dims_shape)


def _is_torch_module(obj) -> bool:
    """A ``torch.nn.Module`` instance, told without importing torch."""
    return any(c.__name__ == "Module" and c.__module__.startswith("torch.nn") for c in type(obj).__mro__)


def analyze(model="mobilenet_v1", alpha=1, resolution=None, *, rho=None, min_depth=None, divisor=None,
            classes=None, count=("conv", "fc"), params=None, depth_mult=1, input_size=None, inputs=None):
    """Cost of a network: ``model`` is a zoo name, a spec file path, a
    :class:`Network`, any ``torch.nn.Module`` or an ONNX file (``.onnx``: counted
    from its graph with the ``onnx`` package; ``input_size=`` where its input size
    is symbolic). Example: ``analyze("mobilenet_v1",
    alpha=0.5, resolution=160)``; ``analyze("efficientnet_b0", alpha=1.1,
    depth_mult=1.2, resolution=260)`` is B2. ``depth_mult``: every ``stage N`` of
    the spec gets ceil(D·N) blocks. ``params``: the parameters totalled (default:
    weights for a spec, the paper's convention; every parameter for a module).

    A module: ``analyze(my_module, input_size=(1, 3, 224, 224))`` (or
    ``inputs=(tensor, ...)`` for several or non-tensor inputs) counts one forward
    pass with fvcore per module (needs torch and fvcore) and returns a cost table
    with the same ``.total``, ``.layers``, ``.by_type()``, ``.to_frame()``."""
    from mbcost.results.zoo import load

    if _is_torch_module(model):
        if (alpha, resolution, rho, min_depth, divisor, classes, depth_mult) != (1, None, None, None, None, None, 1):
            raise MbcostError("alpha, resolution, rho, min_depth, divisor, classes and depth_mult apply to specs; "
                              "for a torch module give input_size= (or inputs=)")
        from mbcost.adapters.torch_model import analyze_user_module

        return analyze_user_module(model, input_size, inputs, count=count, params=params)
    if isinstance(model, str) and model.lower().endswith(".onnx"):
        if (alpha, resolution, rho, min_depth, divisor, classes, depth_mult) != (1, None, None, None, None, None, 1):
            raise MbcostError(f"{model}: an ONNX model is fixed; alpha, resolution and the other settings apply "
                              f"to specs (mbcost export {model} --output net.spec writes it as one)")
        if inputs is not None:
            raise MbcostError("inputs= applies to a torch module; for an ONNX file give input_size=")
        from mbcost.adapters.onnx_count import analyze_onnx
        from mbcost.adapters.torch_model import parse_input

        shape = None if input_size is None else (
            parse_input(input_size) if isinstance(input_size, str) else tuple(int(d) for d in input_size))
        return analyze_onnx(model, shape, count=count, params=params)
    if input_size is not None or inputs is not None:
        raise MbcostError("input_size= and inputs= apply to a torch module or an ONNX file; for a spec give "
                          "resolution=")

    network = model if isinstance(model, Network) else load(model)
    config = Config.make(alpha=alpha, resolution=resolution, rho=rho, min_depth=min_depth, divisor=divisor,
                         classes=classes, count=count, params=params, depth_mult=depth_mult)
    return Analysis(network, config, network.evaluate(config))
