"""Learning every client's rhythm from the store, and saving it.

One pass reads the activities as arrays; the rhythm engine summarises, fits the population
model (choosing BG/NBD or Pareto/NBD on the business's own holdout) and scores every client;
one write transaction replaces the stored rhythms. `as_of` makes any past date reproducible:
only activities on or before it are used.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from keepwarm import rhythm
from keepwarm.domain.errors import NotFound
from keepwarm.domain.model import Rhythm, RhythmFit
from keepwarm.domain.rhythm_table import RhythmTable
from keepwarm.services.policy import get_policy
from keepwarm.store import reading, writing
from keepwarm.store import rhythms as store
from keepwarm.store.activity_snapshot import Packed
from keepwarm.store.queries import client_internal_id

log = logging.getLogger(__name__)
UNIT_DAYS = 7.0
TIME_UNIT = "week"
HOLDOUT_WEEKS = 26
MIN_HOLDOUT_DAYS = 28
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ActivityArrays:
    """Every client (in the engine's index order) and their activities up to `as_of`."""

    as_of: dt.date
    client_ids: NDArray[np.int64]
    client: NDArray[np.int64]
    day: NDArray[np.int64]
    amount_cents: NDArray[np.int64]

    @property
    def as_of_day(self) -> int:
        return store.day_number(self.as_of)

    def ordered(self) -> ActivityArrays:
        """The same activities sorted by client, then day: every summary after the first (the
        daily run makes four: today, the calibration day and two lapse steps back) then
        skips its own sort."""
        if self.day.size < 2:
            return self
        low = int(self.day.min())
        key = self.client * (int(self.day.max()) - low + 1) + (self.day - low)
        if bool(np.all(key[1:] >= key[:-1])):
            return self
        order = np.argsort(key, kind="stable")
        return dataclasses.replace(
            self,
            client=self.client[order],
            day=self.day[order],
            amount_cents=self.amount_cents[order],
        )

    def summarise(self, as_of_day: int | None = None) -> rhythm.ClientSummary:
        return rhythm.summarise(
            self.client,
            self.day,
            self.amount_cents,
            len(self.client_ids),
            self.as_of_day if as_of_day is None else as_of_day,
            unit_days=UNIT_DAYS,
        )


@dataclass(frozen=True)
class RhythmRun:
    fit: RhythmFit
    clients: int
    activities: int
    with_history: int
    needing_attention: int
    seconds: dict[str, float]
    # What was saved, by internal client id, so the daily job need not read it back.
    rhythms: RhythmTable = field(default_factory=RhythmTable.empty, repr=False, compare=False)


def load_activities(
    engine: Engine, as_of: dt.date, progress: Progress | None = None
) -> ActivityArrays:
    with reading(engine) as conn:
        ids = store.client_ids(conn)
        total = store.activity_count(conn, as_of) if progress else 0
        step = (lambda done: progress("Reading activities", done, total)) if progress else None
        client, day, amount = store.activity_arrays(conn, ids, as_of, step)
    return ActivityArrays(as_of, ids, client, day, amount).ordered()


def _holdout_days(data: ActivityArrays, weeks: int | None) -> int | None:
    if data.day.size == 0:
        return None
    return holdout_days(int(data.day.min()), data.as_of_day, weeks)


def holdout_days(first_day: int, as_of_day: int, weeks: int | None) -> int | None:
    """Days held out to choose the model (26 weeks, or a third of the history), or None when
    the history is too short."""
    history = as_of_day - first_day
    days = weeks * 7 if weeks else min(HOLDOUT_WEEKS * 7, history // 3)
    return days if days >= MIN_HOLDOUT_DAYS and days < history else None


def fit(
    data: ActivityArrays, holdout_weeks: int | None = None, *, check: bool = True
) -> tuple[rhythm.ClientSummary, rhythm.PopulationFit, dict[str, Any] | None]:
    """Summarise and fit the population, choosing the model on a holdout when the history is
    long enough; with `check`, also report how the chosen model predicted that holdout."""
    summary = data.summarise()
    days = _holdout_days(data, holdout_weeks)
    if days is None:
        return summary, rhythm.fit_population(summary), None
    calibration = data.summarise(data.as_of_day - days)
    population = rhythm.fit_population(summary, calibration=calibration)
    if not check:
        return summary, population, None
    return summary, population, holdout_check(calibration, summary, population.model_name, days)


LAPSE_CALIBRATION_STEPS = 2
"""How many horizons back the lapse score learns from the business's own history."""


def with_calibrated_lapse(
    data: ActivityArrays,
    summary: rhythm.ClientSummary,
    population: rhythm.PopulationFit,
    scores: rhythm.Scores,
) -> rhythm.Scores:
    """`scores` with the lapse score calibrated on the business's own recent history
    (:mod:`keepwarm.rhythm.lapse`): the clients as they stood one and two horizons before the
    scoring day, and whether they came back within the horizon. Unchanged when the history is
    too short or either outcome too rare."""
    calibration = lapse_calibration(data, summary, population)
    return apply_lapse_calibration(summary, population, scores, calibration)


def lapse_calibration(
    data: ActivityArrays, summary: rhythm.ClientSummary, population: rhythm.PopulationFit
) -> rhythm.LapseCalibration | None:
    """The lapse score's calibration on the business's own recent history (None when the
    history is too short or either outcome too rare): see `with_calibrated_lapse`."""
    typical = float(population.typical_gap_days)
    first = int(data.day.min()) if data.day.size else summary.as_of_day
    found = rhythm.merge_lapse_examples(
        [
            rhythm.lapse_examples(then, risk, not_back)
            for then, risk, not_back in lapse_history(data.summarise, summary, population, first)
        ]
    )
    return rhythm.calibrate_lapse_examples(found, summary.unit_days, typical)


def lapse_history(
    summarise: Callable[[int], rhythm.ClientSummary],
    summary: rhythm.ClientSummary,
    population: rhythm.PopulationFit,
    first_day: int,
) -> list[tuple[rhythm.ClientSummary, NDArray[np.float64], NDArray[np.bool_]]]:
    """The clients as they stood one and two horizons before the scoring day (while the
    history reaches that far), each with the model's lapse score then and whether they
    stayed away for the horizon after."""
    horizon = int(rhythm.LAPSE_DAYS)
    steps = []
    later = summary
    for step in range(1, LAPSE_CALIBRATION_STEPS + 1):
        day = summary.as_of_day - step * horizon
        if day - first_day < horizon:
            break
        then = summarise(day)
        risk = rhythm.score(then, population).lapse_risk
        steps.append((then, risk, later.n_days == then.n_days))
        later = then
    return steps


def apply_lapse_calibration(
    summary: rhythm.ClientSummary,
    population: rhythm.PopulationFit,
    scores: rhythm.Scores,
    calibration: rhythm.LapseCalibration | None,
) -> rhythm.Scores:
    """`scores` with the calibrated lapse score for the clients with activity (unchanged
    without a calibration)."""
    if calibration is None:
        return scores
    typical = float(population.typical_gap_days)
    now = calibration.apply(rhythm.lapse_features(summary, scores.lapse_risk, typical))
    return dataclasses.replace(
        scores, lapse_risk=np.where(summary.has_activity, now, scores.lapse_risk)
    )


def holdout_check(
    calibration: rhythm.ClientSummary, full: rhythm.ClientSummary, model_name: str, days: int
) -> dict[str, Any]:
    """Fit on the history up to `days` before the end, predict each client's visits in those
    last days, and compare with what they really did (FHL 2005, figure 3's check)."""
    models = (model_name,) if model_name in rhythm.MODELS else rhythm.MODELS
    population = rhythm.fit_population(calibration, models=models)
    mask = calibration.has_activity
    module = rhythm.bgnbd if isinstance(population.model, rhythm.BGNBDParams) else rhythm.paretonbd
    predicted = module.conditional_expected_transactions(
        population.model,
        days / calibration.unit_days,
        calibration.frequency[mask],
        calibration.t_x[mask],
        calibration.T[mask],
    )
    actual = (full.n_days - calibration.n_days)[mask].astype(float)
    x = calibration.frequency[mask]
    by_frequency = []
    for low, high, label in [(k, k, str(k)) for k in range(7)] + [(7, 10**9, "7+")]:
        chosen = (x >= low) & (x <= high)
        if chosen.any():
            by_frequency.append(
                {
                    "repeat_visits_before": label,
                    "clients": int(chosen.sum()),
                    "predicted_mean": round(float(predicted[chosen].mean()), 3),
                    "actual_mean": round(float(actual[chosen].mean()), 3),
                }
            )
    return {
        "weeks": round(days / 7, 1),
        "calibration_end": store.day_from_number(calibration.as_of_day).isoformat(),
        "model": population.model_name,
        "clients": int(mask.sum()),
        "predicted_visits": round(float(predicted.sum()), 1),
        "actual_visits": int(actual.sum()),
        "mean_absolute_error": round(float(np.abs(predicted - actual).mean()), 3)
        if mask.any()
        else 0.0,
        "by_frequency": by_frequency,
    }


def describe_fit(
    population: rhythm.PopulationFit,
    n_clients: int,
    as_of: dt.date,
    now: dt.datetime,
    holdout: dict[str, Any] | None,
) -> RhythmFit:
    model = population.model
    return RhythmFit(
        as_of=as_of,
        computed_at=now,
        model=population.model_name,
        time_unit=TIME_UNIT,
        fallback=population.fallback,
        reason=population.reason,
        population=population.to_dict(),
        log_likelihood=None if population.fallback else float(model.log_likelihood),
        converged=bool(model.diagnostics.converged) if not population.fallback else False,
        clients=int(n_clients),
        holdout=holdout,
    )


REFIT_DAYS = 7
"""The daily job refits the population model at least this often."""
REFIT_CHANGE = 0.05
"""... and as soon as the activities or the clients changed by more than this share."""


def compute_rhythms(
    engine: Engine,
    *,
    as_of: dt.date,
    now: dt.datetime,
    progress: Progress | None = None,
    refit: bool | None = True,
    activities: tuple[NDArray[np.int64], Packed] | None = None,
) -> RhythmRun:
    """Recompute and save every client's rhythm as of `as_of`.

    `refit`: True fits the population model (and the lapse calibration) now; None scores with
    the newest stored fit while it is recent and the business has not changed much since
    (`reusable_fit`: the daily job), else fits. `activities`: every client's id and every
    activity, packed (keepwarm.services.activity_snapshot), instead of reading them back."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    if activities is None:
        data = load_activities(engine, as_of, progress)
    else:
        data = arrays_from(*activities, as_of)
    seconds["read"] = time.perf_counter() - started
    if progress:
        progress("Learning rhythms", 0, 1)
    started = time.perf_counter()
    policy = get_policy(engine)
    reuse = None if refit else reusable_fit(engine, as_of, data)
    if reuse is not None:
        summary = data.summarise()
        population = rhythm.PopulationFit.from_dict(dict(reuse.fit.population))
        calibration = _calibration_from(reuse.lapse_calibration)
        holdout = reuse.fit.holdout
    else:
        summary, population, holdout = fit(data, check=False)
    scores = rhythm.score(summary, population, trend_min_change=policy.trend_min_change)
    if reuse is None:
        calibration = lapse_calibration(data, summary, population)
    scores = apply_lapse_calibration(summary, population, scores, calibration)
    seconds["learn"] = time.perf_counter() - started
    return save_rhythms(
        engine,
        Learned(data.client_ids, summary.n_days, summary.last_day, scores),
        population,
        as_of=as_of,
        now=now,
        activities=int(data.day.size),
        seconds=seconds,
        holdout=holdout,
        progress=progress,
        reuse=reuse,
        lapse=calibration,
    )


def arrays_from(ids: NDArray[np.int64], packed: Packed, as_of: dt.date) -> ActivityArrays:
    """The rhythm engine's arrays from every activity, packed: those up to `as_of` of the
    clients `ids` (a client deleted since the activities were read is left out)."""
    index = np.searchsorted(ids, packed.client_id)
    known = index < ids.size
    known[known] = ids[index[known]] == packed.client_id[known]
    keep = known & (packed.day <= store.day_number(as_of))
    client = index[keep].astype(np.int64)
    return ActivityArrays(as_of, ids, client, packed.day[keep], packed.cents[keep]).ordered()


def reusable_fit(engine: Engine, as_of: dt.date, data: ActivityArrays) -> store.StoredFit | None:
    """The newest stored fit, when the daily job may score with it on `as_of`: fitted on a day
    at most `REFIT_DAYS` before (never after), with its lapse calibration stored, and the
    activities and clients changed by at most `REFIT_CHANGE` since. None: fit again."""
    with reading(engine) as conn:
        stored = store.latest_stored_fit(conn)
    if stored is None or stored.activities is None or stored.lapse_calibration is None:
        return None
    age = (as_of - stored.fit.as_of).days
    if not 0 <= age < REFIT_DAYS:
        return None
    for now_count, then in (
        (int(data.day.size), stored.activities),
        (len(data.client_ids), stored.fit.clients),
    ):
        if abs(now_count - then) > REFIT_CHANGE * max(then, 1):
            return None
    return stored


def _calibration_from(text: str | None) -> rhythm.LapseCalibration | None:
    found = json.loads(text) if text else None
    return None if found is None else rhythm.LapseCalibration.from_dict(found)


@dataclass(frozen=True)
class Learned:
    """What either engine learned, per client in `client_ids` order: their distinct activity
    days, last activity day (-1 for none) and scores."""

    client_ids: NDArray[np.int64]
    n_days: NDArray[np.int64]
    last_day: NDArray[np.int64]
    scores: rhythm.Scores


def save_rhythms(
    engine: Engine,
    learned: Learned,
    population: rhythm.PopulationFit,
    *,
    as_of: dt.date,
    now: dt.datetime,
    activities: int,
    seconds: dict[str, float],
    holdout: dict[str, Any] | None = None,
    progress: Progress | None = None,
    reuse: store.StoredFit | None = None,
    lapse: rhythm.LapseCalibration | None = None,
) -> RhythmRun:
    """Replace the stored rhythms with what an engine learned, in one transaction: with a new
    fit (its activity count and lapse calibration `lapse` stored with it), or with the stored
    fit `reuse` they were scored with."""
    started = time.perf_counter()
    n_clients = len(learned.client_ids)
    fit_row = reuse.fit if reuse else describe_fit(population, n_clients, as_of, now, holdout)
    learned_rhythms = rhythm_table(as_of, learned)
    if progress:
        progress("Saving rhythms", 0, 1)
    with writing(engine) as conn:
        if reuse is not None:
            fit_id = reuse.id
        else:
            calibration = json.dumps(None if lapse is None else lapse.to_dict())
            fit_id = store.save_fit(
                conn, fit_row, activities=activities, lapse_calibration=calibration
            )
        store.replace_rhythms(conn, fit_id, learned_rhythms)
    seconds["save"] = time.perf_counter() - started
    attention = learned.scores.attention_after_day
    as_of_day = store.day_number(as_of)
    return RhythmRun(
        fit=fit_row,
        clients=n_clients,
        activities=activities,
        with_history=int(np.count_nonzero(learned.n_days)),
        needing_attention=int(((attention >= 0) & (attention <= as_of_day)).sum()),
        seconds=seconds,
        rhythms=learned_rhythms,
    )


def activity_mark(engine: Engine) -> int:
    """The newest activity's id now: `learn_new_clients` later learns the clients with an
    activity stored after it."""
    with reading(engine) as conn:
        return store.latest_activity_id(conn)


def learn_new_clients(engine: Engine, *, after_activity: int, as_of: dt.date) -> int | None:
    """Learn, right away, the rhythm of the clients who have none yet and of those with an
    activity stored after `after_activity` (added or imported today), with the population
    model of the last daily run and its lapse calibration, instead of waiting for the next
    one. Returns how many; None before the first daily run (no population model yet: they
    get theirs then), or when it failed: what was written before stays, the failure is logged
    and the next daily run learns them anyway."""
    try:
        return _learn_new_clients(engine, after_activity, as_of)
    except (DBAPIError, ValueError, KeyError):
        log.exception("could not learn the new clients' rhythm now; the daily run will")
        return None


def _learn_new_clients(engine: Engine, after_activity: int, as_of: dt.date) -> int | None:
    with reading(engine) as conn:
        stored = store.latest_stored_fit(conn)
        if stored is None:
            return None
        fit_id = stored.id
        ids = store.clients_to_learn(conn, after_activity)
        client, day, amount = store.clients_activity_arrays(conn, ids, as_of)
    if ids.size == 0:
        return 0
    data = ActivityArrays(as_of, ids, client, day, amount)
    population = rhythm.PopulationFit.from_dict(stored.fit.population)
    summary = data.summarise()
    policy = get_policy(engine)
    scores = rhythm.score(summary, population, trend_min_change=policy.trend_min_change)
    # the fit's own lapse calibration, when it was stored with one (fits since migration 0030)
    calibration = _calibration_from(stored.lapse_calibration)
    scores = apply_lapse_calibration(summary, population, scores, calibration)
    learned = Learned(ids, summary.n_days, summary.last_day, scores)
    found = rhythm_table(as_of, learned)
    with writing(engine) as conn:
        store.replace_client_rhythms(conn, fit_id, found)
    log.info("learned the rhythm of %d new or changed client(s)", len(found))
    return len(found)


def rhythm_table(as_of: dt.date, learned: Learned) -> RhythmTable:
    """Every client's rhythm as columns, each value in the field it is for (and, stored, in
    its column): unknown values (no visit yet, one visit: no usual gap; no trend measured; a
    value that is not finite) are None. Computed a column at a time: no `Rhythm` is built
    until one is read (keepwarm.domain.rhythm_table)."""
    s = learned.scores
    n = learned.n_days
    active = n > 0
    known_gap = n > 1
    eligible = s.trend_eligible
    count = len(learned.client_ids)

    def cents(values: NDArray[np.float64]) -> list[Any]:
        found: list[Any] = np.rint(values).astype(np.int64).tolist()
        return found

    def known(values: NDArray[Any], where: NDArray[np.bool_]) -> list[Any]:
        """`values` where `where` holds and the value is finite, else None."""
        keep = where & np.isfinite(values) if values.dtype.kind == "f" else where
        out = values.astype(object)
        out[~keep] = None
        found: list[Any] = out.tolist()
        return found

    def dates(days: NDArray[np.int64], where: NDArray[np.bool_]) -> list[Any]:
        at = np.datetime64(store.DAY_ZERO, "D") + np.where(where, days, 0)
        out = at.astype(object)  # datetime.date
        out[~where] = None
        found: list[Any] = out.tolist()
        return found

    columns: dict[str, Sequence[Any]] = {
        "as_of": [as_of] * count,
        "activities": n.tolist(),
        "last_activity": dates(learned.last_day, active),
        "days_since_last": known(s.days_since_last, active),
        "usual_gap_days": known(s.usual_gap_days, known_gap),
        "silence_ratio": known(s.silence_ratio, known_gap),
        "p_alive": s.p_alive.tolist(),
        "expected_30": s.expected_30.tolist(),
        "expected_90": s.expected_90.tolist(),
        "expected_365": s.expected_365.tolist(),
        "expected_spend_cents": cents(s.expected_spend_cents),
        "monthly_value_cents": cents(s.monthly_value_cents),
        "at_risk_cents": cents(s.revenue_at_risk_per_month_cents),
        "clv_cents": cents(s.clv_cents),
        "attention_after": dates(s.attention_after_day, s.attention_after_day >= 0),
        "trend_direction": s.trend_direction.tolist(),
        "usage_change": known(s.usage_change, eligible),
        "visits_change": known(s.visits_change, eligible),
        "spend_change": known(s.spend_per_visit_change, eligible),
        "trend_p_value": known(s.trend_p_value, eligible),
        "lapse_risk": known(s.lapse_risk, active),
    }
    return RhythmTable(learned.client_ids, columns)


def rhythm_report(
    engine: Engine,
    *,
    as_of: dt.date,
    now: dt.datetime,
    holdout_weeks: int | None = None,
    progress: Progress | None = None,
) -> RhythmFit:
    """The population fit as of `as_of` with its holdout check, computed now and not saved."""
    data = load_activities(engine, as_of, progress)
    summary, population, holdout = fit(data, holdout_weeks)
    return describe_fit(population, summary.n_clients, as_of, now, holdout)


def client_rhythm(engine: Engine, client_id: str) -> Rhythm | None:
    """The stored rhythm of one client, or None before the first `keepwarm rhythm`."""
    with reading(engine) as conn:
        if client_internal_id(conn, client_id) is None:
            raise NotFound(f"no client with id {client_id!r}")
        return store.client_rhythm(conn, client_id)


def latest_fit(engine: Engine) -> RhythmFit | None:
    with reading(engine) as conn:
        return store.latest_fit(conn)
