"""Adapters to PyTorch: the real build of a spec and the independent counters.

Everything that imports torch or fvcore lives in this package, and only the
commands that need them (``mbcost check``, ``mbcost table --check`` and ``mbcost
table --torch``) import it. The symbolic core (spec, shapes, costs) never does.

* :mod:`mbcost.adapters.torch_modules` -- one torch module per layer kind and
  :func:`~mbcost.adapters.torch_modules.build_module`, a spec evaluation as an
  ``nn.Module`` whose submodule names are the spec's layer names;
* :mod:`mbcost.adapters.counters` -- fvcore's ``FlopCountAnalysis`` and PyTorch's
  ``FlopCounterMode`` per module, set to the symbolic counting convention, and
  parameters per module;
* :mod:`mbcost.adapters.torch_model` -- any PyTorch model (``--torch
  pkg.module:factory``) as a per-layer table from fvcore's per-module counts.
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
