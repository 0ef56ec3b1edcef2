"""Fit a business's population once: choose BG/NBD or Pareto/NBD, fit spend, or fall back.

``fit_population`` fits both repeat-purchase models on the compressed statistics and keeps
the one with the higher log-likelihood (both have four parameters, so this is also the AIC
and BIC choice), or, when a calibration summary is given, the one that better predicts each
client's repeat purchase days after the calibration date (mean absolute error; when any model
cannot be fitted on the calibration days, the log-likelihood decides and ``notes`` says so). It
then fits Gamma-Gamma on the repeat buyers' mean repeat spend.

A population fit is not trusted when there are too few clients or repeat buyers, when it did
not converge (the criterion is in :class:`~keepwarm.rhythm.FitDiagnostics`: a small
gradient of the mean log-likelihood per client, whatever the optimiser's own message), when a
parameter runs to the edge of the search box (``r`` or ``alpha`` at either edge, the mean
dropout at either edge, its concentration at the lower edge), when it gives non-finite
predictions, or when its expected repeat purchases over the clients' observed time are off
from what they did by more than a factor of two. A dropout concentration at its *upper* edge
is not a reason: that is the homogeneous-dropout limit (BG/NBD ``a, b -> inf`` with
``a/(a+b)`` fixed, Pareto/NBD ``s, beta -> inf`` with ``s/beta`` fixed), a well-defined model
in which every client has the same dropout; it is used, and ``notes`` says so. Likewise a
Gamma-Gamma ``p`` at its upper edge is the limit in which each client spends the same on
every visit. Otherwise the engine falls back to each client's own gaps, expressed as a
BG/NBD model with fixed, weakly informative parameters: ``r = 1`` and ``alpha`` = the
business's typical gap (one pseudo-gap of typical length, so a few of the client's own gaps
dominate it) and ``a = 1, b = 3`` (a 25% chance of leaving after each purchase, close to the
0.25 that FHL 2005 estimated on CDNOW). Spend falls back to each client's own mean spend
shrunk towards the business's mean with the weight of one purchase. Every fallback is
stated in ``notes`` and ``reason``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from keepwarm.rhythm import bgnbd, gammagamma, paretonbd
from keepwarm.rhythm._optim import FitDiagnostics, wsum
from keepwarm.rhythm.bgnbd import BGNBDParams
from keepwarm.rhythm.compress import Compressed
from keepwarm.rhythm.fitstats import FitStats, Holdout, fit_stats
from keepwarm.rhythm.gammagamma import GammaGammaParams
from keepwarm.rhythm.paretonbd import ParetoNBDParams
from keepwarm.rhythm.summary import ClientSummary

__all__ = ["MODELS", "PopulationFit", "fit_population", "fit_population_from", "model_from_dict"]

RepeatModel = BGNBDParams | ParetoNBDParams
MODELS = (bgnbd.NAME, paretonbd.NAME)
_LABEL = {bgnbd.NAME: "BG/NBD", paretonbd.NAME: "Pareto/NBD"}
FALLBACK_NAME = "own_gaps"
DEFAULT_GAP_DAYS = 90.0
FALLBACK_DROPOUT = (1.0, 3.0)


@dataclass(frozen=True, slots=True)
class PopulationFit:
    """What the engine learned about a business's clients as a whole.

    ``model`` is the repeat-purchase model used for scoring (the chosen fit, or the fixed
    fallback model when ``fallback`` is true). ``spend`` is ``None`` when spend falls back to
    clients' own means. ``candidates`` holds every model fitted, chosen or not.
    """

    model: RepeatModel
    spend: GammaGammaParams | None
    fallback: bool
    reason: str
    notes: tuple[str, ...]
    candidates: tuple[RepeatModel, ...]
    typical_gap_days: float
    mean_spend_cents: float
    n_clients: int
    n_repeat_buyers: int
    holdout_mae: tuple[tuple[str, float], ...] = ()

    @property
    def model_name(self) -> str:
        return FALLBACK_NAME if self.fallback else self.model.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.to_dict(),
            "spend": None if self.spend is None else self.spend.to_dict(),
            "fallback": self.fallback,
            "reason": self.reason,
            "notes": list(self.notes),
            "candidates": [c.to_dict() for c in self.candidates],
            "typical_gap_days": self.typical_gap_days,
            "mean_spend_cents": self.mean_spend_cents,
            "n_clients": self.n_clients,
            "n_repeat_buyers": self.n_repeat_buyers,
            "holdout_mae": [[name, mae] for name, mae in self.holdout_mae],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PopulationFit:
        spend = data.get("spend")
        return cls(
            model=model_from_dict(data["model"]),
            spend=None if spend is None else GammaGammaParams.from_dict(spend),
            fallback=bool(data["fallback"]),
            reason=str(data["reason"]),
            notes=tuple(str(n) for n in data["notes"]),
            candidates=tuple(model_from_dict(c) for c in data["candidates"]),
            typical_gap_days=float(data["typical_gap_days"]),
            mean_spend_cents=float(data["mean_spend_cents"]),
            n_clients=int(data["n_clients"]),
            n_repeat_buyers=int(data["n_repeat_buyers"]),
            holdout_mae=tuple((str(n), float(m)) for n, m in data.get("holdout_mae", [])),
        )


def model_from_dict(data: dict[str, Any]) -> RepeatModel:
    """Rebuild BG/NBD or Pareto/NBD parameters from their ``to_dict()``."""
    if data.get("model") == paretonbd.NAME:
        return ParetoNBDParams.from_dict(data)
    return BGNBDParams.from_dict(data)


def _extreme_patterns(data: Compressed, per_kind: int = 500) -> NDArray[np.int64]:
    """Patterns where predictions are most likely to break (largest x, shortest recency,
    shortest and longest age) plus an even spread of the rest; a few thousand at most."""
    n = data.n_patterns
    by_age = np.argsort(data.T)
    parts = [
        np.argsort(data.x)[-per_kind:],
        np.argsort(data.t_x)[:per_kind],
        by_age[-per_kind:],
        by_age[:per_kind],
        np.arange(0, n, max(n // (4 * per_kind), 1)),
    ]
    return np.unique(np.concatenate(parts))


def _distrust(model: RepeatModel, data: Compressed) -> str | None:
    """Why a fitted model should not be used, or None if it can be."""
    label = _LABEL[model.name]
    diag = model.diagnostics
    if diag.at_bound:
        return f"{label} parameters ran to the edge of the search range (degenerate fit)"
    if not diag.converged:
        return (
            f"{label} fit did not converge (largest gradient {diag.gradient_max:.2g}; "
            f"optimiser: {diag.message.strip() or 'no message'})"
        )
    pick = _extreme_patterns(data)
    x, t_x, T = data.x[pick], data.t_x[pick], data.T[pick]
    ages, count = np.unique(data.T, return_inverse=True)
    with np.errstate(all="ignore"):
        alive = model.p_alive(x, t_x, T)
        checks = [
            alive,
            model.conditional_expected_transactions(30.0 / model.unit_days, x, t_x, T),
            np.asarray([model.log_likelihood]),
        ]
        by_age = model.expected_transactions(ages)
        per_age = np.bincount(count.ravel(), weights=data.weight).astype(np.float64, copy=False)
        expected = wsum(per_age, by_age)
    if not all(np.all(np.isfinite(c)) for c in checks) or not np.isfinite(expected):
        return f"{label} gives non-finite predictions on this data (degenerate fit)"
    if np.any((alive < 0) | (alive > 1)):
        return f"{label} gives probabilities outside [0, 1] on this data (degenerate fit)"
    actual = wsum(data.weight, data.x)
    if actual > 0 and not 0.5 <= expected / actual <= 2.0:
        return (
            f"{label} expects {expected:.0f} repeat visits over the clients' observed time "
            f"where they made {actual:.0f} (implausible fit)"
        )
    return None


# Gamma(r, alpha) purchase rates vary between clients with a coefficient of variation of
# 1/sqrt(r): above this r they differ by under 3%, i.e. the mixture has collapsed.
RATE_SPREAD_LIMIT = 1000.0


def _no_rate_spread(model: RepeatModel) -> bool:
    return model.r > RATE_SPREAD_LIMIT


def _limit_note(model: RepeatModel) -> str | None:
    """The note for a model fitted at its homogeneous-dropout limit, or None."""
    if not model.diagnostics.at_limit:
        return None
    label = _LABEL[model.name]
    if isinstance(model, BGNBDParams):
        share = model.a / (model.a + model.b)
        return (
            f"{label}: dropout is about the same for every client (a/(a+b) = {share:.2g} "
            "chance of leaving after each repeat visit), so its spread was fitted at its "
            "limit (a + b at the edge of its range; every client gets the same dropout)"
        )
    rate = model.s / model.beta
    years = model.unit_days / (rate * 365.25)
    unit = "week" if model.unit_days == 7.0 else f"{model.unit_days:g} days"
    return (
        f"{label}: dropout is about the same for every client (s/beta = {rate:.2g} per "
        f"{unit}, a mean client lifetime of about {years:.2g} years), so its spread was "
        "fitted at its limit (s at the edge of its range; every client gets the same dropout)"
    )


def _fit_one(name: str, data: Compressed, start: RepeatModel | None) -> RepeatModel:
    if name == bgnbd.NAME:
        return bgnbd.fit(data)
    initial = None
    if start is not None and start.diagnostics.converged:
        mean_age = wsum(data.weight, data.T) / data.n_clients
        initial = (start.r, start.alpha, 1.0, max(mean_age, 1e-3))
    return paretonbd.fit(data, initial=initial)


def _fallback_model(unit_days: float, gap_days: float, data: Compressed) -> BGNBDParams:
    r = 1.0
    alpha = gap_days / unit_days
    a, b = FALLBACK_DROPOUT
    ll = 0.0
    if data.n_patterns:
        ll = wsum(data.weight, bgnbd.log_likelihood((r, alpha, a, b), data.x, data.t_x, data.T))
    diag = FitDiagnostics(
        converged=False,
        iterations=0,
        function_evaluations=0,
        message="fixed fallback parameters from the clients' own gaps; not fitted",
        gradient_max=0.0,
        n_clients=data.n_clients,
        n_patterns=data.n_patterns,
        at_bound=False,
    )
    return BGNBDParams(r, alpha, a, b, ll if np.isfinite(ll) else 0.0, unit_days, diag)


def _holdout_mae(model: RepeatModel, holdout: Holdout) -> float:
    """Mean absolute error per client of the repeat days predicted after the calibration day."""
    if not holdout.weight.size:
        return 0.0
    predicted = model.conditional_expected_transactions(
        holdout.horizon, holdout.x, holdout.t_x, holdout.T
    )
    return wsum(holdout.weight, np.abs(predicted - holdout.actual)) / float(holdout.weight.sum())


def _typical_gap(stats: FitStats) -> float:
    median = stats.typical_gap_days
    return DEFAULT_GAP_DAYS if median is None else float(max(median, 1.0))


def _fit_spend(stats: FitStats, min_buyers: int) -> tuple[GammaGammaParams | None, str | None]:
    x, m, w = stats.spend_x, stats.spend_mean, stats.spend_weight
    buyers = int(np.rint(w[m > 0].sum()))
    if buyers < min_buyers:
        return None, (
            f"spend uses each client's own average: only {buyers} repeat buyers with a "
            f"positive spend (at least {min_buyers} are needed to fit Gamma-Gamma)"
        )
    fitted = gammagamma.fit(x, m, w)
    diag = fitted.diagnostics
    if diag.at_bound or fitted.q <= 1.0 or not diag.converged:
        return None, (
            "spend uses each client's own average: the Gamma-Gamma fit "
            f"{'was degenerate' if diag.at_bound or fitted.q <= 1.0 else 'did not converge'}"
        )
    if diag.at_limit:
        return fitted, (
            "Gamma-Gamma: each client spends about the same on every visit, so the spread of "
            "a client's amounts was fitted at its limit (p at the edge of its range): a repeat "
            "client's expected spend is their own average"
        )
    return fitted, None


def fit_population(
    summary: ClientSummary,
    *,
    models: tuple[str, ...] = MODELS,
    calibration: ClientSummary | None = None,
    min_clients: int = 100,
    min_repeat_buyers: int = 30,
) -> PopulationFit:
    """Fit, judge and choose the business's models (module docstring). Never raises on
    data: degenerate inputs (no clients, one-visit clients, all-zero amounts) fall back.

    Args:
        summary: the clients as of the scoring day.
        models: which repeat-purchase models to try, from :data:`MODELS`.
        calibration: optionally the same clients summarised at an earlier day; both
            models are then also fitted on it and judged by how well they predict the
            repeat purchase days between that day and ``summary.as_of_day`` (by their
            log-likelihood when either cannot be fitted on it).
        min_clients, min_repeat_buyers: below these a population fit is not attempted.

    Raises:
        ValueError: for an unknown model name.
    """
    return fit_population_from(
        fit_stats(summary, calibration),
        models=models,
        min_clients=min_clients,
        min_repeat_buyers=min_repeat_buyers,
    )


def fit_population_from(
    stats: FitStats,
    *,
    models: tuple[str, ...] = MODELS,
    min_clients: int = 100,
    min_repeat_buyers: int = 30,
) -> PopulationFit:
    """:func:`fit_population` on compressed counts (:mod:`keepwarm.rhythm.fitstats`): what
    both engines run, the local one on its own summary's counts, the Spark engine on the
    counts its executors add up."""
    unknown = set(models) - set(MODELS)
    if unknown or not models:
        raise ValueError(f"models must be a non-empty subset of {MODELS}, got {models}")
    data = stats.patterns
    n_clients = int(np.rint(data.n_clients))
    n_repeat = stats.n_repeat_buyers
    gap = _typical_gap(stats)
    mean_spend = max(stats.mean_spend_cents, 0.0)
    notes: list[str] = []
    spend, spend_note = _fit_spend(stats, min_repeat_buyers)
    if spend_note:
        notes.append(spend_note)

    def fallback(why: str, candidates: tuple[RepeatModel, ...] = ()) -> PopulationFit:
        notes.append(why)
        reason = (
            f"Using each client's own visit gaps (typical gap {gap:.0f} days) instead of a "
            f"population model: {why}."
        )
        return PopulationFit(
            model=_fallback_model(stats.unit_days, gap, data),
            spend=spend,
            fallback=True,
            reason=reason,
            notes=tuple(notes),
            candidates=candidates,
            typical_gap_days=gap,
            mean_spend_cents=mean_spend,
            n_clients=n_clients,
            n_repeat_buyers=n_repeat,
        )

    if n_clients < min_clients:
        return fallback(f"only {n_clients} clients have activity (need {min_clients})")
    if n_repeat < min_repeat_buyers:
        return fallback(f"only {n_repeat} clients came back (need {min_repeat_buyers})")

    fitted: list[RepeatModel] = []
    for name in models:
        if fitted and _no_rate_spread(fitted[0]):
            # Both models mix purchase rates with the same Gamma(r, alpha); when one fit finds
            # no spread at all the other degenerates the same way, only far more slowly.
            notes.append(
                f"{_LABEL[name]} not fitted: purchase rates show no spread between clients "
                f"({_LABEL[fitted[0].name]} r = {fitted[0].r:.3g})"
            )
            continue
        try:
            fitted.append(_fit_one(name, data, fitted[0] if fitted else None))
        except (ValueError, FloatingPointError, ArithmeticError) as exc:
            notes.append(f"{_LABEL[name]} could not be fitted: {exc}")
    trusted = []
    for model in fitted:
        problem = _distrust(model, data)
        if problem:
            notes.append(problem)
        else:
            trusted.append(model)
            limit = _limit_note(model)
            if limit:
                notes.append(limit)
    if not trusted:
        return fallback("no population model could be trusted", tuple(fitted))

    scores: list[tuple[str, float]] = []
    holdout = stats.holdout
    if holdout is not None and len(trusted) > 1 and holdout.patterns.n_patterns:
        cal_data = holdout.patterns
        for model in trusted:
            try:
                cal_model = _fit_one(model.name, cal_data, None)
            except (ValueError, ArithmeticError) as exc:
                notes.append(
                    f"{_LABEL[model.name]} could not be fitted on the calibration days: {exc}"
                )
                continue
            scores.append((model.name, _holdout_mae(cal_model, holdout)))
        if len(scores) < 2:
            # One refit alone compares nothing: choose as without a calibration day.
            notes.append(
                "no holdout check: not every model could be fitted on the calibration days, "
                "so the model was chosen by log-likelihood"
            )
            scores = []
    if scores:
        best_name = min(scores, key=lambda item: item[1])[0]
        chosen = next(m for m in trusted if m.name == best_name)
        others = ", ".join(f"{_LABEL[n]} {e:.3f}" for n, e in scores)
        reason = (
            f"{_LABEL[chosen.name]} chosen: it best predicted repeat visits after the "
            f"calibration day (mean absolute error per client: {others})."
        )
    else:
        chosen = max(trusted, key=lambda m: m.log_likelihood)
        rivals = [m for m in trusted if m is not chosen]
        if rivals:
            rival = rivals[0]
            reason = (
                f"{_LABEL[chosen.name]} chosen: its log-likelihood ({chosen.log_likelihood:.1f})"
                f" beats {_LABEL[rival.name]}'s ({rival.log_likelihood:.1f}) on "
                f"{n_clients} clients, with the same number of parameters."
            )
        else:
            reason = f"{_LABEL[chosen.name]} chosen: the only model fitted and trusted."
    return PopulationFit(
        model=chosen,
        spend=spend,
        fallback=False,
        reason=reason,
        notes=tuple(notes),
        candidates=tuple(fitted),
        typical_gap_days=gap,
        mean_spend_cents=mean_spend,
        n_clients=n_clients,
        n_repeat_buyers=n_repeat,
        holdout_mae=tuple(scores),
    )
