"""One layer, standard versus depthwise separable (the paper's section 3.1 and
Table 7). The costs come from the same layer kinds as whole networks: the two
variants are built as two tiny specs, so there is one formula for each layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from mbcost.results.tables import Analysis
from mbcost.errors import MbcostError
from mbcost.numbers import NumberError, shown, whole_value
from mbcost.kinds.base import scale_channels
from mbcost.core.network import Config, Network, to_fraction


@dataclass(frozen=True)
class LayerComparison:
    k: int
    m: int  # input channels after alpha
    n: int  # output channels after alpha
    df: int  # output feature-map side after rho
    alpha: Fraction
    rho: Fraction
    standard: Analysis
    separable: Analysis

    @property
    def ratio(self) -> Fraction:
        """Separable / standard Mult-Adds (exact)."""
        return Fraction(self.separable.total.mult_adds, self.standard.total.mult_adds)

    @property
    def bound(self) -> Fraction:
        """The paper's 1/N + 1/D_K²; equal to ``ratio`` for stride 1, same padding."""
        return Fraction(1, self.n) + Fraction(1, self.k * self.k)

    @property
    def params_ratio(self) -> Fraction:
        return Fraction(self.separable.total.params, self.standard.total.params)


def compare_layer(k: int, m: int, n: int, df: int, alpha=1, rho=1) -> LayerComparison:
    """Cost of a D_K x D_K convolution from M to N channels on a D_F x D_F output
    map, against its depthwise separable replacement, at width alpha and
    resolution multiplier rho (channels int(alpha·c), side round(rho·D_F))."""
    for what, value in (("k", k), ("m", m), ("n", n), ("df", df)):
        if not isinstance(value, int) or value <= 0:
            raise MbcostError(f"{what} must be a positive whole number, got {shown(value)}")
        try:
            whole_value(value, what)
        except NumberError as exc:
            raise MbcostError(str(exc)) from None
    alpha = to_fraction(alpha, "alpha")
    rho = to_fraction(rho, "rho")
    m2, n2 = scale_channels(m, alpha), scale_channels(n, alpha)
    side = math.floor(rho * df + Fraction(1, 2))
    if min(m2, n2) <= 0:
        raise MbcostError(f"alpha {float(alpha)} leaves no channels of M={m}, N={n}")
    if side <= 0:
        raise MbcostError(f"rho {float(rho)} leaves no pixels of D_F={df}")
    head = f"input {side}x{side}x{m2}\n"
    standard = Network.from_text(head + f"standard: conv {k}x{k}x{m2}x{n2}",
                                 source="<standard>")
    separable = Network.from_text(head + f"depthwise: dw {k}x{k}x{m2}\npointwise: pw {m2}x{n2}",
                                  source="<separable>")
    config = Config()
    return LayerComparison(k, m2, n2, side, alpha, rho,
                           Analysis(standard, config, standard.evaluate(config)),
                           Analysis(separable, config, separable.evaluate(config)))
