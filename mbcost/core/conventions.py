"""Conventions, each defined once: what is counted by default, how the units and
parameter conventions are named, which widths and resolutions the paper used,
and how alpha is written for people and for JSON.
"""

from __future__ import annotations

from fractions import Fraction

#: Operation groups whose Mult-Adds can be counted; the paper counts conv and fc.
COUNTABLE = ("conv", "fc", "bn", "pool", "act")
PAPER_COUNT = frozenset({"conv", "fc"})
#: The groups in words, in COUNTABLE's order.
COUNT_NAMES = {"conv": "conv", "fc": "fc", "bn": "batch norm", "pool": "pooling", "act": "activations"}

#: Units of the cost columns, by key.
MULT_ADDS, FLOPS = "mult-adds", "flops"
UNITS = {MULT_ADDS: "Mult-Adds (MACs)", FLOPS: "FLOPs (2 × Mult-Adds)"}

#: How parameters are totalled. The paper counts weights only.
PARAM_CONVENTIONS = {
    "weights": "weights only (paper convention; biases and batch-norm scale/shift not counted)",
    "weights+biases": "weights and biases (batch-norm scale/shift not counted)",
    "all": "weights, biases and batch-norm scale/shift (all trainable parameters)",
}

#: The width multipliers and resolutions of the paper's Tables 5 and 6 (and of
#: the released checkpoints), largest first.
PAPER_ALPHAS = (Fraction(1), Fraction(3, 4), Fraction(1, 2), Fraction(1, 4))
PAPER_RESOLUTIONS = (224, 192, 160, 128)


def params_total(weights: int, biases: int, norm: int, convention: str) -> int:
    """The parameters a convention (PARAM_CONVENTIONS) totals."""
    return weights + (biases if convention != "weights" else 0) + (norm if convention == "all" else 0)


def unit_key(flops: bool) -> str:
    return FLOPS if flops else MULT_ADDS


def counted_text(count) -> str:
    """``Mult-Adds counted for: conv, fc (paper convention)``."""
    names = [COUNT_NAMES[c] for c in COUNT_NAMES if c in count]
    paper = " (paper convention)" if frozenset(count) == PAPER_COUNT else ""
    return "Mult-Adds counted for: " + ", ".join(names) + paper


def fmt_alpha(alpha) -> str:
    """Alpha for people: ``1``, ``0.75``, ``0.35``, ``1e+200`` (exact decimals print
    exactly; anything else as a fraction, ``1/3``)."""
    alpha = Fraction(alpha) if not isinstance(alpha, Fraction) else alpha
    if alpha.denominator == 1:
        return str(alpha.numerator)
    try:
        text = f"{float(alpha):.12g}"
    except OverflowError:
        return str(alpha)
    return text if Fraction(text) == alpha else str(alpha)


def alpha_number(alpha):
    """Alpha for JSON: an int when whole, else a float."""
    alpha = Fraction(alpha) if not isinstance(alpha, Fraction) else alpha
    return alpha.numerator if alpha.denominator == 1 else float(alpha)
