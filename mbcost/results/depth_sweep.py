"""``mbcost sweep --depth-mult 1,1.1,1.2``: the sweep's third axis. For each
depth multiplier D the spec is compiled with every ``stage N`` ceil(D·N) deep
(:meth:`mbcost.core.network.Network.deepened`) and swept over alpha x resolution
exactly as :func:`mbcost.results.sweep_grid.sweep` does; the result is one row per
(depth, alpha, resolution)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from mbcost.core.conventions import alpha_number
from mbcost.errors import MbcostError
from mbcost.results.frames import Framed
from mbcost.results.sweep_grid import MAX_CONFIGS, SweepResult, parse_grid, sweep

#: One grid per depth: a handful of depths is what a user compares.
MAX_DEPTHS = 50


@dataclass(repr=False)
class DepthSweep(Framed):
    """Sweeps of one network at several depth multipliers (largest first)."""

    model: str
    sweeps: list[tuple[Fraction, SweepResult]]

    def records(self) -> list[dict]:
        return [{"depth_mult": float(d), **r} for d, result in self.sweeps for r in result.records()]

    def with_latency(self, calibration, progress=None) -> DepthSweep:
        """Every sweep with its predicted latencies (a new result)."""
        from dataclasses import replace

        return replace(self, sweeps=[(d, one.with_latency(calibration, progress)) for d, one in self.sweeps])

    def describe(self) -> str:
        return f"{self.model} sweep over {len(self.sweeps)} depth multipliers"

    def to_dict(self, unit: str = "mult-adds") -> dict:
        return {"model": self.model, "depth_mults": [alpha_number(d) for d, _ in self.sweeps],
                "sweeps": [{"depth_mult": alpha_number(d), **result.to_dict(unit)} for d, result in self.sweeps]}


def sweep_depths(model, alphas, resolutions, depth_mults, **conventions) -> DepthSweep:
    """:func:`~mbcost.results.sweep_grid.sweep` at each of ``depth_mults`` (a list, or a
    LIST/RANGE string as :func:`~mbcost.results.sweep_grid.parse_grid` reads alphas)."""
    from mbcost.core.network import Network
    from mbcost.results.zoo import load_network

    network = model if isinstance(model, Network) else load_network(model)
    depths = parse_grid(depth_mults, "depth multiplier")
    if len(depths) > MAX_DEPTHS:
        raise MbcostError(f"{len(depths)} depth multipliers: at most {MAX_DEPTHS}")
    size = len(parse_grid(alphas, "alpha")) * len(parse_grid(resolutions, "resolution")) * len(depths)
    if size > MAX_CONFIGS:
        raise MbcostError(f"the grid has {size:,} configurations (at most {MAX_CONFIGS:,}): use fewer values")
    return DepthSweep(network.name, [(d, sweep(network.deepened(d), alphas, resolutions, **conventions))
                                     for d in depths])
