"""MBG/NBD (Batislam, Denizel & Filiztekin 2007, "Empirical validation and comparison of
models for customer base analysis", International Journal of Research in Marketing 24(3),
201-209): BG/NBD in which a client may also drop out at their *first* purchase.

BG/NBD lets a client drop out only after a repeat purchase, so a client seen once, however
long ago, is alive with certainty (``P(alive | x = 0) = 1``): a one-visit client from two
years ago would read "100% chance still active". MBG/NBD gives every purchase, the first
included, the same dropout chance ``p ~ Beta(a, b)``. With the same ``(r, alpha, a, b)``
(time in the model's units):

    L(x, t_x, T) = Γ(r+x) α^r / Γ(r) · [B(a, b+x+1)/B(a, b) (α+T)^-(r+x)
                                        + B(a+1, b+x)/B(a, b) (α+t_x)^-(r+x)],
    P(alive | x, t_x, T) = 1 / (1 + a/(b+x) ((α+T)/(α+t_x))^(r+x)).

keepwarm fits BG/NBD (or Pareto/NBD) and uses these MBG/NBD expressions, with the fitted
BG/NBD parameters, for the clients BG/NBD cannot judge: those without a repeat visit
(``x = 0``, ``t_x = 0``), for whom ``P(alive) = 1 / (1 + a/b ((α+T)/α)^r)``, falling towards
0 as the silence grows long for the population's purchase rates. Everything is in log space
(``a, b`` may be ~1e5 at the homogeneous-dropout limit).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, gammaln

__all__ = ["log_likelihood", "p_alive"]

FloatArray = NDArray[np.float64]
Params = tuple[float, float, float, float]


def _arrays(*values: ArrayLike) -> list[FloatArray]:
    return [np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(*values)]


def _log_odds_dropped(
    params: Params, xs: FloatArray, txs: FloatArray, ts: FloatArray
) -> FloatArray:
    """``log(a/(b+x)) + (r+x) log((α+T)/(α+t_x))``: the odds of "dropped out after the last
    purchase" against "still alive"."""
    r, alpha, a, b = params
    odds = np.log(a) - np.log(b + xs) + (r + xs) * (np.log(alpha + ts) - np.log(alpha + txs))
    return np.asarray(odds, dtype=np.float64)


def p_alive(params: Params, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """P(alive | x, t_x, T) under MBG/NBD (module docstring); below 1 even for ``x = 0``."""
    xs, txs, ts = _arrays(x, t_x, T)
    return np.asarray(expit(-_log_odds_dropped(params, xs, txs, ts)), dtype=np.float64)


def log_likelihood(params: Params, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """Per-client MBG/NBD log-likelihood (module docstring), as
    ``log Γ(r+x) - log Γ(r) + r log α + log(B(a, b+x+1)/B(a, b)) - (r+x) log(α+T)
    + log(1 + odds)`` with the odds of :func:`p_alive`, so that it stays exact for whole ``x``
    and large ``a, b``: ``B(a, b+x+1)/B(a, b) = Π_{j<=x} (b+j)/(a+b+j)``."""
    r, alpha, a, b = params
    xs, txs, ts = _arrays(x, t_x, T)
    top = int(xs.max()) + 1 if xs.size else 1
    j = np.arange(top, dtype=np.float64)
    stay = np.concatenate(([0.0], np.cumsum(np.log1p(-a / (a + b + j)))))
    kept = stay[xs.astype(np.int64) + 1]
    head = gammaln(r + xs) - gammaln(r) + r * np.log(alpha)
    odds = _log_odds_dropped(params, xs, txs, ts)
    return np.asarray(
        head + kept - (r + xs) * np.log(alpha + ts) + np.logaddexp(0.0, odds), dtype=np.float64
    )
