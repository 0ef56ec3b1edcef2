"""Synthetic client histories drawn from BG/NBD, Pareto/NBD and Gamma-Gamma parameters.

Used by tests (simulate-then-recover) and benchmarks. Every function takes a
``numpy.random.Generator`` so results are reproducible with a fixed seed; nothing global is
touched. The draws follow the models' stories exactly (FHL 2005; SMC 1987;
Fader, Hardie & Lee 2005b for spend):

- BG/NBD: ``lambda ~ Gamma(r, alpha)``, ``p ~ Beta(a, b)``; the client makes ``N`` purchases
  in ``(0, T]`` if immortal (Poisson), dies after the ``K``-th repeat purchase
  (``K ~ Geometric(p)``), so ``x = min(N, K)`` and ``t_x`` is the ``x``-th of ``N`` sorted
  uniform times: ``T * Beta(x, N - x + 1)``.
- Pareto/NBD: ``mu ~ Gamma(s, beta)``, lifetime ``tau ~ Exp(mu)``; ``x ~ Poisson(lambda
  min(tau, T))`` and ``t_x = min(tau, T) * U^(1/x)`` (the largest of ``x`` uniforms).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from keepwarm.rhythm.bgnbd import BGNBDParams
from keepwarm.rhythm.paretonbd import ParetoNBDParams

__all__ = ["SimulatedActivities", "simulate_activities", "simulate_bgnbd", "simulate_paretonbd"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _times(T: ArrayLike) -> FloatArray:
    ts = np.asarray(T, dtype=np.float64)
    if ts.ndim != 1 or (ts.size and ts.min() < 0):
        raise ValueError("T must be a one-dimensional array of non-negative ages")
    return ts


def _bgnbd_draw(
    params: BGNBDParams | tuple[float, float, float, float],
    ts: FloatArray,
    rng: np.random.Generator,
) -> tuple[IntArray, FloatArray, IntArray]:
    """``x``, ``t_x`` and the immortal count ``N`` (needed to place earlier purchases)."""
    if isinstance(params, BGNBDParams):
        r, alpha, a, b = params.r, params.alpha, params.a, params.b
    else:
        r, alpha, a, b = params
    n = ts.size
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = np.clip(rng.beta(a, b, n), 1e-12, 1.0)
    immortal = rng.poisson(lam * ts).astype(np.int64)
    dies_after = rng.geometric(p).astype(np.int64)
    x = np.minimum(immortal, dies_after)
    t_x = np.zeros(n)
    some = x > 0
    t_x[some] = ts[some] * rng.beta(x[some], immortal[some] - x[some] + 1)
    return x, t_x, immortal


def simulate_bgnbd(
    params: BGNBDParams | tuple[float, float, float, float],
    T: ArrayLike,
    rng: np.random.Generator,
) -> tuple[IntArray, FloatArray]:
    """Draw ``(x, t_x)`` for clients of ages ``T`` from BG/NBD ``(r, alpha, a, b)``."""
    x, t_x, _ = _bgnbd_draw(params, _times(T), rng)
    return x, t_x


def _paretonbd_draw(
    params: ParetoNBDParams | tuple[float, float, float, float],
    ts: FloatArray,
    rng: np.random.Generator,
) -> tuple[IntArray, FloatArray, FloatArray]:
    if isinstance(params, ParetoNBDParams):
        r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    else:
        r, alpha, s, beta = params
    n = ts.size
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    lifetime = rng.exponential(1.0, n) / np.maximum(mu, 1e-300)
    observed = np.minimum(lifetime, ts)
    x = rng.poisson(lam * observed).astype(np.int64)
    t_x = np.zeros(n)
    some = x > 0
    t_x[some] = observed[some] * rng.random(int(some.sum())) ** (1.0 / x[some])
    return x, t_x, observed


def simulate_paretonbd(
    params: ParetoNBDParams | tuple[float, float, float, float],
    T: ArrayLike,
    rng: np.random.Generator,
) -> tuple[IntArray, FloatArray]:
    """Draw ``(x, t_x)`` for clients of ages ``T`` from Pareto/NBD ``(r, alpha, s, beta)``."""
    x, t_x, _ = _paretonbd_draw(params, _times(T), rng)
    return x, t_x


@dataclass(frozen=True, slots=True, eq=False)
class SimulatedActivities:
    """Activity arrays in the shape :func:`keepwarm.rhythm.summarise` takes, plus the truth."""

    client: IntArray
    day: IntArray
    amount_cents: IntArray
    n_clients: int
    as_of_day: int
    first_day: IntArray


def simulate_activities(
    params: BGNBDParams | ParetoNBDParams,
    n_clients: int,
    rng: np.random.Generator,
    *,
    as_of_day: int = 545,
    cohort_days: int = 84,
    spend: tuple[float, float, float] = (6.25, 3.74, 15.44),
    unit_days: float = 7.0,
) -> SimulatedActivities:
    """Draw whole activity histories: first purchases uniform over days
    ``[0, cohort_days)``, repeat purchases from the model up to ``as_of_day``, amounts from
    Gamma-Gamma ``spend = (p, q, gamma)`` in dollars, returned as integer cents.

    Purchases falling on the same day are separate records (as in real exports); the summary
    merges them, so simulated clients have slightly fewer distinct purchase days than draws.
    Records come out in random order.
    """
    first = rng.integers(0, cohort_days, n_clients).astype(np.int64)
    ts = (as_of_day - first) / unit_days
    if isinstance(params, BGNBDParams):
        x, t_x, _ = _bgnbd_draw(params, ts, rng)
    else:
        x, t_x, _ = _paretonbd_draw(params, ts, rng)
    # In both models, given x and the last purchase time t_x, the x - 1 earlier repeat
    # purchases are independent uniforms on (0, t_x).
    owner = np.repeat(np.arange(n_clients, dtype=np.int64), x)
    starts = np.cumsum(x) - x
    rank = np.arange(owner.size, dtype=np.int64) - np.repeat(starts, x)
    times = np.where(rank == 0, 1.0, rng.random(owner.size)) * t_x[owner]
    repeat_day = first[owner] + np.floor(times * unit_days).astype(np.int64)
    client = np.concatenate([np.arange(n_clients, dtype=np.int64), owner])
    day = np.minimum(np.concatenate([first, repeat_day]), as_of_day)
    p, q, gamma = spend
    nu = rng.gamma(q, 1.0 / gamma, n_clients)
    amount = rng.gamma(p, 1.0, client.size) / nu[client]
    order = rng.permutation(client.size)
    return SimulatedActivities(
        client=client[order],
        day=day[order],
        amount_cents=np.rint(amount * 100.0).astype(np.int64)[order],
        n_clients=int(n_clients),
        as_of_day=int(as_of_day),
        first_day=first,
    )
