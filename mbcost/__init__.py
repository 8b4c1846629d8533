"""mbcost: what a convolutional network costs, layer by layer, before anyone trains it.

    >>> import mbcost
    >>> a = mbcost.analyze("mobilenet_v1", alpha=0.5, resolution=160)
    >>> a.total.mult_adds, a.total.params
    (76524800, 1319648)

The core (spec -> shapes -> costs) is pure Python; torch, fvcore, pandas and
matplotlib are imported only by the functions that need them.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["analyze", "compare", "compare_layer", "sweep", "load", "Network", "Config", "MbcostError", "SpecError",
           "__version__"]


def __getattr__(name: str):
    # Lazy: `import mbcost` stays cheap; the CLI imports only what a command needs.
    if name == "analyze":
        from mbcost.results.analysis import analyze

        return analyze
    if name == "compare":
        from mbcost.results.comparison import compare

        return compare
    if name == "sweep":
        from mbcost.results.sweep_grid import sweep

        return sweep
    if name == "compare_layer":
        from mbcost.results.separable import compare_layer

        return compare_layer
    if name == "load":
        from mbcost.results.zoo import load_network

        return load_network
    if name in ("Network", "Config"):
        from mbcost.core import network

        return getattr(network, name)
    if name in ("MbcostError", "SpecError"):
        from mbcost import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'mbcost' has no attribute {name!r}")
