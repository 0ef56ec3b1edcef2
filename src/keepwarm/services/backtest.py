"""Can the owner trust the list? Replay the rhythm engine at a past date on the business's own
history, rank the clients by keepwarm's lapse score and by what practice software already
does, and see which ranking best found the clients who then did not come back.

A client "did not come back" when they had no activity in the ``days`` after ``as_of``. Every
ranking is judged on the clients with at least two visits by ``as_of`` (the ones whose own
rhythm is known) and on all clients with a visit, by

- ``auc``: the ROC AUC of the ranking for "did not come back" (the chance that a random
  client who did not come back ranks above a random client who did; 0.5 is a coin toss),
  computed as the Mann-Whitney U statistic with tied scores counted as half;
- ``precision_at``: the share of clients who did not come back among the top ``k`` of the
  ranking, for lists of realistic size (20, 50, and 1% of the clients). Tied scores at the
  cut are counted at their expected share under a random order among them (a 0/1 flag lists
  its flagged clients in no particular order).

The rankings:

- ``keepwarm``: the lapse score exactly as on the list, ``lapse_risk``: the model's chance of
  no activity in the next 90 days (:mod:`keepwarm.rhythm.score`) calibrated on the history
  before the day (:mod:`keepwarm.rhythm.lapse`), whatever horizon is tested.
- ``days_since_last``: days since the last visit, the "last seen" column of any software.
- ``overdue_fixed_interval``: a recall list with one fixed interval for everyone: 1 if the
  days since the last visit exceed the interval, else 0, listed in no particular order.
  (Sorted by how long overdue it would be ``days_since_last`` again, so the flag is what a
  fixed recall interval adds.) The interval is ``recall_days`` or, by default, the
  business's typical gap (the median of the clients' own median gaps).
- ``overdue_own_gap``: days since the last visit over the client's own median gap between
  visits (the fixed interval for a client with one visit).

For reference, not as baselines: the model's ``p_alive`` (low first) and its expected number
of visits in the next 365 days (low first).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine

from keepwarm import rhythm
from keepwarm.domain.errors import InvalidInput
from keepwarm.services.rhythms import (
    ActivityArrays,
    fit,
    load_activities,
    with_calibrated_lapse,
)
from keepwarm.store import reading
from keepwarm.store.rhythms import activity_span, day_number

KEEPWARM = "keepwarm"
BASELINES = {
    "days_since_last": "days since the last visit",
    "overdue_fixed_interval": "overdue against one fixed recall interval (0/1)",
    "overdue_own_gap": "days since the last visit over the client's own median gap",
}
REFERENCE = {
    "p_alive": "the model's chance the client is still active (low first)",
    "expected_365": "the model's expected visits in the next 365 days (low first)",
}
GROUPS = ("repeat", "all")
LIST_SIZES = (20, 50)
MIN_HISTORY_DAYS = 90
MIN_REPEAT_CLIENTS = 20

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Ranking:
    """One way to order clients, judged on one group of clients."""

    auc: float | None
    precision_at: dict[str, float]


@dataclass(frozen=True)
class Backtest:
    as_of: dt.date
    days: int
    model: str
    recall_days: float
    clients: int  # clients with at least two visits by `as_of`: the ones a rhythm is known for
    all_clients: int  # clients with at least one visit by `as_of`
    not_returned: dict[str, int]  # per group
    flagged: int  # clients with two visits past their attention date on `as_of`
    flagged_gone: int
    others_gone: int
    list_sizes: dict[str, tuple[int, ...]]  # per group: the k of precision_at
    rankings: dict[str, dict[str, Ranking]] = field(default_factory=dict)  # group -> name

    @property
    def flagged_rate(self) -> float:
        return self.flagged_gone / self.flagged if self.flagged else 0.0

    @property
    def base_rate(self) -> float:
        return (self.flagged_gone + self.others_gone) / self.clients if self.clients else 0.0

    @property
    def lift(self) -> float | None:
        return self.flagged_rate / self.base_rate if self.base_rate else None

    def behind(self, group: str) -> list[tuple[str, str, float, float]]:
        """Where keepwarm's lapse score does not beat a baseline on `group`: (baseline,
        measure, keepwarm's value, the baseline's value) for an AUC not above the baseline's
        and for a precision at a list size below it."""
        ranks = self.rankings[group]
        ours = ranks[KEEPWARM]
        out = []
        for name in BASELINES:
            theirs = ranks[name]
            if ours.auc is not None and theirs.auc is not None and ours.auc <= theirs.auc:
                out.append((name, "auc", ours.auc, theirs.auc))
            for k, share in ours.precision_at.items():
                if share < theirs.precision_at[k]:
                    out.append((name, f"top {k}", share, theirs.precision_at[k]))
        return out

    def beats_baselines(self, group: str) -> bool | None:
        """Whether keepwarm's lapse score beats every baseline on `group`: a higher AUC, and
        at every list size a precision at least as high (None when AUC is undefined)."""
        if self.rankings[group][KEEPWARM].auc is None:
            return None
        return not self.behind(group)


def auc(score: FloatArray, positive: BoolArray) -> float | None:
    """ROC AUC of `score` for `positive` (Mann-Whitney U, ties as half); None when one of the
    two classes is empty."""
    n_pos = int(positive.sum())
    n_neg = int(positive.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return None
    from scipy.stats import rankdata  # SciPy's stats take 0.3 s to import: not for every command

    ranks = rankdata(score)
    u = float(ranks[positive].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def precision_at(score: FloatArray, positive: BoolArray, k: int) -> float:
    """Share of positives among the `k` highest scores; clients tied at the cut count at
    their expected share under a random order among the tied ones."""
    n = score.size
    k = min(k, n)
    if k <= 0:
        return 0.0
    cut = np.partition(score, n - k)[n - k]  # the k-th highest score
    above = score > cut
    tied = score == cut
    taken = float(positive[above].sum())
    room = k - int(above.sum())
    taken += room * float(positive[tied].sum()) / int(tied.sum())
    return taken / k


def list_sizes(n: int) -> tuple[int, ...]:
    """20, 50 and 1% of `n` clients (at least 1), each at most `n`."""
    return tuple(min(k, n) for k in (*LIST_SIZES, max(round(n / 100), 1)))


SIZE_LABELS = (*(str(k) for k in LIST_SIZES), "1%")


def backtest(
    engine: Engine,
    *,
    as_of: dt.date,
    days: int = 90,
    today: dt.date | None = None,
    recall_days: float | None = None,
) -> Backtest:
    """Replay the engine on `as_of` with only the activities up to then, and judge its lapse
    score and the baselines on who had no activity in the next `days` (module docstring).

    Raises:
        InvalidInput: for a horizon under a day, a date in the future or after the last
            activity, a horizon running past the last activity, or too little history before
            `as_of` (under 90 days, or fewer than 20 clients with two visits).
    """
    if days < 1:
        raise InvalidInput("--days must be at least 1")
    if recall_days is not None and recall_days <= 0:
        raise InvalidInput("--recall-days must be positive")
    if today is not None and as_of >= today:
        raise InvalidInput(f"{as_of} is not in the past: a backtest replays a day already over")
    later = as_of + dt.timedelta(days=days)
    with reading(engine) as conn:
        first, last = activity_span(conn)
    if first is None or last is None:
        raise InvalidInput("there are no activities to replay")
    if as_of >= last:
        raise InvalidInput(
            f"{as_of} is on or after the last recorded activity ({last}): nothing after it "
            "can show who came back"
        )
    if later > last:
        raise InvalidInput(
            f"{as_of} plus {_days(days)} is {later}, after the last recorded activity "
            f"({last}): whether clients came back is not known yet; choose an earlier "
            "--as-of or fewer --days"
        )
    if (as_of - first).days < MIN_HISTORY_DAYS:
        raise InvalidInput(
            f"only {_days((as_of - first).days)} of history before {as_of} (the first activity "
            f"is on {first}); a backtest needs at least {MIN_HISTORY_DAYS}"
        )
    data = load_activities(engine, later)
    # `then` is the history as it stood on `as_of`: what the engine would have seen.
    history = _until(data, as_of)
    then, population, _ = fit(history, check=False)
    known = then.n_days >= 2
    if int(known.sum()) < MIN_REPEAT_CLIENTS:
        raise InvalidInput(
            f"only {_clients(int(known.sum()))} had two visits by {as_of}; a backtest needs "
            f"at least {MIN_REPEAT_CLIENTS}"
        )
    after = data.summarise()
    # The lapse score exactly as the daily job computes it on `as_of`: the model's, then
    # calibrated on the history before `as_of` (nothing after it).
    scores = with_calibrated_lapse(history, then, population, rhythm.score(then, population))
    gone = then.has_activity & (after.n_days == then.n_days)
    interval = float(recall_days) if recall_days else float(population.typical_gap_days)
    candidates = _rankings(then, scores, interval)
    groups = {"repeat": known, "all": then.has_activity}
    rankings: dict[str, dict[str, Ranking]] = {}
    sizes: dict[str, tuple[int, ...]] = {}
    for group, mask in groups.items():
        positive = gone[mask]
        ks = list_sizes(int(mask.sum()))
        sizes[group] = ks
        rankings[group] = {
            name: Ranking(
                auc=auc(values[mask], positive),
                precision_at={
                    label: precision_at(values[mask], positive, k)
                    for label, k in zip(SIZE_LABELS, ks, strict=True)
                },
            )
            for name, values in candidates.items()
        }
    attention = scores.attention_after_day
    flagged = known & (attention >= 0) & (attention <= then.as_of_day)
    return Backtest(
        as_of=as_of,
        days=days,
        model=population.model_name,
        recall_days=interval,
        clients=int(known.sum()),
        all_clients=int(then.has_activity.sum()),
        not_returned={group: int((gone & mask).sum()) for group, mask in groups.items()},
        flagged=int(flagged.sum()),
        flagged_gone=int((flagged & gone).sum()),
        others_gone=int((known & ~flagged & gone).sum()),
        list_sizes=sizes,
        rankings=rankings,
    )


def _rankings(
    then: rhythm.ClientSummary, scores: rhythm.Scores, interval: float
) -> dict[str, FloatArray]:
    """Every ranking's score per client, higher meaning "more likely gone"."""
    since = then.days_since_last.astype(np.float64)
    own_gap = np.where(then.gap_count > 0, np.maximum(then.gap_median_days, 1.0), interval)
    return {
        KEEPWARM: scores.lapse_risk,
        "days_since_last": since,
        "overdue_fixed_interval": (since > interval).astype(np.float64),
        "overdue_own_gap": since / own_gap,
        "p_alive": -scores.p_alive,
        "expected_365": -scores.expected_365,
    }


def _days(n: int) -> str:
    return f"{n:,} day" if n == 1 else f"{n:,} days"


def _clients(n: int) -> str:
    return f"{n:,} client" if n == 1 else f"{n:,} clients"


def _until(data: ActivityArrays, as_of: dt.date) -> ActivityArrays:
    """The same clients with only the activities up to `as_of`."""
    keep = data.day <= day_number(as_of)
    return ActivityArrays(
        as_of, data.client_ids, data.client[keep], data.day[keep], data.amount_cents[keep]
    )


__all__ = ["BASELINES", "GROUPS", "KEEPWARM", "REFERENCE", "Backtest", "Ranking", "auc", "backtest"]
