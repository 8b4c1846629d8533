"""Fitting the latency model (``mbcost calibrate``): non-negative least squares
over every timed row at once (numpy; no torch).

Each sample is a row of a timed network: its design row (Σ of each call kind's
features over the row's calls: :func:`mbcost.attachments.latency.calls_features_total`),
its measured seconds and a weight, 1 / its network's measured time, so that a row's
residual counts as a share of its network's total: small networks count as much as
large ones, and within a network a row counts by the time it takes. Coefficients
are seconds per unit and never negative (a call cannot save time); the solver is
Lawson and Hanson's active set method on columns scaled to unit norm.
"""

from __future__ import annotations

import numpy as np


def nnls(a: np.ndarray, b: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """x >= 0 minimising ||a x - b|| (Lawson and Hanson 1974, algorithm NNLS)."""
    m, n = a.shape
    x = np.zeros(n)
    passive = np.zeros(n, dtype=bool)
    w = a.T @ (b - a @ x)
    scale = max(1.0, float(np.abs(w).max(initial=0.0)))
    for _ in range(3 * n + 10):
        free = ~passive
        if not free.any() or w[free].max() <= tol * scale:
            break
        j = int(np.argmax(np.where(free, w, -np.inf)))
        passive[j] = True
        while True:
            s = np.zeros(n)
            s[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if (s[passive] > 0).all():
                break
            bad = passive & (s <= 0)
            alpha = float(np.min(x[bad] / (x[bad] - s[bad])))
            x = x + alpha * (s - x)
            passive &= x > tol
            x[~passive] = 0.0
            if not passive.any():
                s = np.zeros(n)
                break
        x = s
        w = a.T @ (b - a @ x)
    return np.maximum(x, 0.0)


def fit_coefficients(rows: list[dict[str, float]], seconds: list[float], weights: list[float]) -> dict[str, float]:
    """``kind:feature`` -> seconds per unit, fitted to the rows (see the module's docstring)."""
    columns = sorted({k for r in rows for k, v in r.items() if v})
    if not columns:
        return {}
    a = np.array([[r.get(c, 0.0) for c in columns] for r in rows], dtype=float)
    w = np.asarray(weights, dtype=float)
    aw = a * w[:, None]
    norms = np.linalg.norm(aw, axis=0)
    norms[norms == 0] = 1.0
    x = nnls(aw / norms, np.asarray(seconds, dtype=float) * w) / norms
    return {c: float(v) for c, v in zip(columns, x)}


def fit_correction(predicted: list[float], measured: list[float]) -> dict[str, float]:
    """scale and per_pass_s >= 0 with measured ≈ scale · predicted + per_pass_s, on relative error."""
    p, t = np.asarray(predicted, dtype=float), np.asarray(measured, dtype=float)
    a = np.stack([p / t, 1.0 / t], axis=1)
    norms = np.linalg.norm(a, axis=0)
    norms[norms == 0] = 1.0
    scale, per_pass = nnls(a / norms, np.ones_like(t)) / norms
    return {"scale": float(scale), "per_pass_s": float(per_pass)}
