"""Per-layer costs, totals and the breakdown by layer type.

:func:`analyze` is the library's entry point; the CLI prints what it returns.
The table types live in :mod:`mbcost.results.tables`; the input formats (a spec, a torch
module, an ONNX file) in :mod:`mbcost.sources`, which makes the table.
"""

from __future__ import annotations

from mbcost.results.tables import (Analysis, CostTable, LayerRow, ModelTable, Totals, TypeShare,  # noqa: F401  (API)
                                   dims_shape)


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
    from mbcost.sources import table_steps

    steps = table_steps(model, count=count, params=params, alpha=alpha, resolution=resolution, rho=rho,
                        min_depth=min_depth, divisor=divisor, classes=classes, depth_mult=depth_mult,
                        input_size=input_size, inputs=inputs)
    # mbcost.steps.run written out, so that a torch module's JIT trace is made in this very frame: the tracer
    # walks the whole Python stack for every operator and constant it records (~1 ms a frame on a small model)
    result = error = None
    while True:
        try:
            call = steps.send(result) if error is None else steps.throw(error)
        except StopIteration as finished:
            return finished.value
        try:
            result, error = call(), None
        except BaseException as exc:  # noqa: BLE001 - thrown into the steps, whose finally blocks restore the model
            result, error = None, exc
