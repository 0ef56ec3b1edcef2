"""Can the owner trust the list? Replay the rhythm engine at a past date on the business's own
history and see what became of the clients it would have flagged as lapsing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine

from keepwarm import rhythm
from keepwarm.domain.errors import InvalidInput
from keepwarm.services.rhythms import ActivityArrays, fit, load_activities
from keepwarm.store.rhythms import day_number


@dataclass(frozen=True)
class Backtest:
    as_of: dt.date
    days: int
    model: str
    clients: int  # clients with at least two visits by `as_of`: the ones a rhythm is known for
    flagged: int
    flagged_gone: int
    others_gone: int
    history_short: bool  # the store's history ends before as_of + days

    @property
    def flagged_rate(self) -> float:
        return self.flagged_gone / self.flagged if self.flagged else 0.0

    @property
    def base_rate(self) -> float:
        return (self.flagged_gone + self.others_gone) / self.clients if self.clients else 0.0

    @property
    def lift(self) -> float | None:
        return self.flagged_rate / self.base_rate if self.base_rate else None


def backtest(engine: Engine, *, as_of: dt.date, days: int = 90) -> Backtest:
    """Flag `lapsing` as the engine would have on `as_of` (silence past each client's own
    attention date), using only activities up to then; then count who came back within `days`."""
    if days < 1:
        raise InvalidInput("--days must be at least 1")
    later = as_of + dt.timedelta(days=days)
    data = load_activities(engine, later)
    if data.day.size == 0:
        raise InvalidInput("there are no activities to replay")
    # `then` is the history as it stood on `as_of`: what the engine would have seen.
    then, population, _ = fit(_until(data, as_of), check=False)
    after = data.summarise()
    scores = rhythm.score(then, population)
    known = then.n_days >= 2
    flagged = (
        known & (scores.attention_after_day >= 0) & (scores.attention_after_day <= then.as_of_day)
    )
    gone = known & (after.n_days == then.n_days)
    return Backtest(
        as_of=as_of,
        days=days,
        model=population.model_name,
        clients=int(known.sum()),
        flagged=int(flagged.sum()),
        flagged_gone=int((flagged & gone).sum()),
        others_gone=int((~flagged & gone).sum()),
        history_short=int(data.day.max()) < data.as_of_day,
    )


def _until(data: ActivityArrays, as_of: dt.date) -> ActivityArrays:
    """The same clients with only the activities up to `as_of`."""
    keep = data.day <= day_number(as_of)
    return ActivityArrays(
        as_of, data.client_ids, data.client[keep], data.day[keep], data.amount_cents[keep]
    )


__all__ = ["Backtest", "backtest"]
