"""Adapters: everything that imports torch, fvcore, onnx or onnxruntime.

Only the commands and sources that need them import these modules, inside their
own code paths; the symbolic core (spec, shapes, costs) never does.

* :mod:`mbcost.adapters.torch_modules` -- one torch module per layer kind and
  :func:`~mbcost.adapters.torch_modules.build_module`, a spec evaluation as an
  ``nn.Module`` whose submodule names are the spec's layer names;
* :mod:`mbcost.adapters.counters` -- fvcore's ``FlopCountAnalysis`` and PyTorch's
  ``FlopCounterMode`` per module, set to the symbolic counting convention, and
  parameters per module (never importing the kinds' cost code);
* :mod:`mbcost.adapters.torch_model` -- any PyTorch model (``--torch
  pkg.module:factory``, or a module object) as a per-layer table from fvcore's
  per-module counts;
* :mod:`mbcost.adapters.torch_trace` -- a torch model's activation memory from a
  traced forward pass (``table --torch ... --memory``);
* :mod:`mbcost.adapters.onnx_model` -- an ONNX file read into an
  :class:`~mbcost.graphs.opgraph.OpGraph` (shapes inferred, size arithmetic folded);
* :mod:`mbcost.adapters.onnx_count` -- that graph counted, one handle per ONNX
  operator (the third independent counter);
* :mod:`mbcost.adapters.onnx_export` -- a spec's torch build or a torch model
  written as ONNX;
* :mod:`mbcost.adapters.profile` and :mod:`mbcost.adapters.profile_ort` -- measured
  latency per spec row with torch and with onnxruntime (``mbcost profile``);
* :mod:`mbcost.adapters.calibrate` -- the per-kind latency models fitted on this
  machine and validated on whole networks (``mbcost calibrate``);
* :mod:`mbcost.adapters.machine` -- which machine a measurement ran on.
"""

from __future__ import annotations

import importlib

from mbcost.errors import MbcostError

INSTALL_HINT = "pip install 'mbcost[torch]' (on CPU-only machines: pip install torch==2.13.0 first)"


def require_torch(what: str = "this command") -> None:
    """Raise a one-line :class:`MbcostError` saying how to install torch and
    fvcore when either cannot be imported."""
    missing = []
    for name in ("torch", "fvcore"):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise MbcostError(
            f"{what} needs torch and fvcore ({' and '.join(missing)} not installed): {INSTALL_HINT}"
        )
