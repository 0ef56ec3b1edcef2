"""Clients for the web and the API: searching the list, reading one client's page, and
adding, changing or deleting a client by hand.

Values typed by hand go through the very parser a CSV import uses (`keepwarm.ingest.records`),
so a phone becomes E.164 in the configured region, an email is validated and normalised, and a
date, status or tag list is read exactly as the import reads it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from keepwarm.domain import values
from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.domain.fields import CLIENT_FIELD, CLIENT_FIELD_NAMES, FieldKind
from keepwarm.domain.model import (
    Client,
    ClientCard,
    ClientStatus,
    ImportKind,
    ImportProblem,
    ProblemCode,
    ProblemLog,
    Rhythm,
    SignalCode,
)
from keepwarm.domain.policy import Policy
from keepwarm.domain.search import fold
from keepwarm.ingest.columns import ColumnMap
from keepwarm.ingest.records import AS_WRITTEN, ParseOptions, RowParser
from keepwarm.ingest.values import DateOrderNeeded
from keepwarm.services import audit, rhythms
from keepwarm.services.daily_job import local_today
from keepwarm.store import client_pages as store
from keepwarm.store import contact_flags, reading, writing
from keepwarm.store import households as household_store
from keepwarm.store import queries as q
from keepwarm.store.policy import load_policy_data
from keepwarm.store.queries import list_staff as list_staff_rows
from keepwarm.store.rhythms import client_rhythm as client_rhythm_row

SORTS = ("name", "last_activity", "attention", "value")
STATUSES = tuple(s.value for s in ClientStatus)
SIGNALS = tuple(s.value for s in SignalCode)
MAX_PAGE = 500
# Up to this many matches, sorting them beats walking the name index to find them.
FEW = 20_000

FIELDS = frozenset(CLIENT_FIELD_NAMES)  # the register's (keepwarm.domain.fields)


class InvalidValues(InvalidInput):
    """One or more typed values are not acceptable: `errors` maps each field to its reason."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in self.errors.items()))


@dataclass(frozen=True)
class ClientRow:
    """One line of the Clients list."""

    id: str
    name: str
    email: str | None
    phone: str | None
    status: str
    owner: str | None
    tags: tuple[str, ...]
    last_activity: dt.date | None
    p_alive: float | None
    usual_gap_days: float | None
    clv_cents: int | None
    open_signals: tuple[str, ...]
    attention_after: dt.date | None = None
    yearly_value_cents: int | None = None  # keepwarm.domain.values, like every surface
    at_risk_cents: int | None = None


@dataclass(frozen=True)
class ClientNumbers:
    """A client's yearly value, money at risk (a month) and chance of being active: computed
    once, by keepwarm.domain.values, for every page and answer that shows them."""

    yearly_value_cents: int
    at_risk_cents: int
    chance_active: float


@dataclass(frozen=True)
class _Stored:
    """The stored rhythm's money columns, for keepwarm.domain.values."""

    monthly_value_cents: int
    at_risk_cents: int
    p_alive: float


def client_numbers(rhythm: values.Numbers) -> ClientNumbers:
    return ClientNumbers(
        values.yearly_value_cents(rhythm),
        values.at_risk_cents(rhythm),
        values.chance_active(rhythm),
    )


@dataclass(frozen=True)
class TimelineEntry:
    """An activity (`kind` "activity": a visit, purchase...) or a touch (`kind` "touch")."""

    date: dt.date
    kind: str
    activity_kind: str | None = None
    amount_cents: int | None = None
    quantity: float | None = None
    channel: str | None = None
    staff: str | None = None
    note: str | None = None
    outcome: str | None = None
    personal: bool = False


@dataclass(frozen=True)
class OpenAction:
    id: int
    day: dt.date
    staff: str | None
    channel: str
    why: str
    signals: tuple[dict[str, str], ...]


def _phone_digits(text: str) -> list[str]:
    """A phone typed in any format, as digit runs to look for inside the stored E.164: the
    digits as typed, and without a national trunk prefix (07700 900123 -> 7700900123). Text
    with letters is no phone."""
    if any(ch.isalpha() for ch in text):  # words: a name, an email or an id, not a phone
        return []
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 4:
        return []
    found = [digits]
    trimmed = digits.lstrip("0")
    if trimmed != digits and len(trimmed) >= 4:
        found.append(trimmed)
    return found


def search_clients(
    engine: Engine,
    text: str | None = None,
    *,
    signal: str | None = None,
    tag: str | None = None,
    owner: str | None = None,
    status: str | None = None,
    sort: str = "name",
    descending: bool = False,
    limit: int = 50,
    offset: int = 0,
    now: dt.datetime | None = None,
    flagged: bool = False,
) -> tuple[list[ClientRow], int]:
    """A page of clients matching every filter given, and how many match in all.

    `text` matches when each of its words is inside the client's name, email or id, in any
    order, accents and case ignored (keepwarm.domain.search), or the phone in any format;
    `signal` a signal code on the client's open action; `tag` one of their tags; `owner` a
    staff name; `status` active, prospect or cancelled. `sort` is name, last_activity,
    attention (when their silence becomes unusual) or value (lifetime value); the rhythm
    sorts use the rhythm stored by the last `keepwarm rhythm` / daily run. `signal` lapsing
    ("Gone quiet") lists exactly the clients Reports counts as lapsing
    (keepwarm.store.report_queries.lapsing_clause), as of today (`now`) in the policy's zone.
    `flagged`: only clients with a phone or email an import kept as written."""
    text = (text or "").strip() or None
    tag = (tag or "").strip() or None
    owner = (owner or "").strip() or None
    status = (status or "").strip().lower() or None
    signal = (signal or "").strip().lower() or None
    if sort not in SORTS:
        raise InvalidInput(f"sort: {sort!r} is not one of {', '.join(SORTS)}")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    if signal is not None and signal not in SIGNALS:
        raise InvalidInput(f"signal: {signal!r} is not a signal ({', '.join(SIGNALS)})")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit: between 1 and {MAX_PAGE}, not {limit}")
    if offset < 0:
        raise InvalidInput(f"offset: cannot be negative ({offset})")
    with reading(engine) as conn:
        policy = q.policy_in(conn)
        where = store.client_filters(
            engine.dialect.name,
            text=text,
            phone_digits=_phone_digits(text) if text else [],
            signal=signal,
            tag=tag,
            owner=owner,
            status=status,
            today=local_today(policy, now or dt.datetime.now(dt.UTC)),
            policy=policy,
            kept_as_written=flagged,
        )
        total = store.count_clients(conn, where)
        rows = (
            store.page_of_clients(
                conn,
                where,
                sort=sort,
                descending=descending,
                limit=limit,
                offset=offset,
                few=bool(where) and total <= FEW,
            )
            if offset < total
            else []
        )
    return [_row(r) for r in rows], total


def _row(r: dict[str, Any]) -> ClientRow:
    numbers = (
        None
        if r["monthly_value_cents"] is None
        else client_numbers(
            _Stored(r["monthly_value_cents"], r["at_risk_cents"] or 0, r["p_alive"] or 0.0)
        )
    )
    return ClientRow(
        id=r["external_id"],
        name=r["name"],
        email=r["email"],
        phone=r["phone"],
        status=r["status"],
        owner=r["owner_name"],
        tags=tuple(t for t in (r["tags"] or "").split(";") if t),
        last_activity=r["last_activity"],
        p_alive=r["p_alive"],
        usual_gap_days=r["usual_gap_days"],
        clv_cents=r["clv_cents"],
        open_signals=r["open_signals"],
        attention_after=r["attention_after"],
        yearly_value_cents=numbers.yearly_value_cents if numbers else None,
        at_risk_cents=numbers.at_risk_cents if numbers else None,
    )


def numbers_of(engine: Engine, client_id: str) -> ClientNumbers | None:
    """The client's numbers from their stored rhythm; None before one is learned."""
    with reading(engine) as conn:
        rhythm = client_rhythm_row(conn, client_id)
    return client_numbers(rhythm) if rhythm else None


def get_client(engine: Engine, client_id: str) -> Client:
    with reading(engine) as conn:
        client = q.get_client(conn, client_id)
    if client is None:
        raise NotFound(f"no client with id {client_id!r}")
    return client


# --- writing ----------------------------------------------------------------------------------


def _parse(values: Mapping[str, str | None], *, now: dt.datetime, region: str) -> dict[str, Any]:
    """The typed values of the fields present in `values`, read as a CSV import reads a row;
    InvalidValues names every field that is wrong."""
    unknown = sorted(set(values) - FIELDS)
    if unknown:
        raise InvalidValues({name: "is not a client field" for name in unknown})
    present = [f for f in CLIENT_FIELD_NAMES if f in values]
    columns = ColumnMap({f: (i, f) for i, f in enumerate(present)}, ())
    parser = RowParser(ImportKind.CLIENTS, columns, ParseOptions(now.date(), region))
    problems = ProblemLog()
    row = [values[f] or "" for f in present]
    try:
        record = parser.parse(1, row, problems)
    except DateOrderNeeded as exc:
        field = next((f for f in present if (values[f] or "").strip() == str(exc).strip()), "date")
        problems.append(
            ImportProblem(
                1,
                field,
                f"{str(exc)!r} could be day/month or month/day: write it as 2024-03-05",
                ProblemCode.INVALID_VALUE,
            )
        )
        record = None
    if record is None:
        errors: dict[str, str] = {}
        for problem in problems.sorted():
            errors.setdefault(problem.field or "id", problem.reason)
        if len(present) > 2:  # a row's checks stop at some problems: name every bad field
            for name in present:
                if name not in ("id", *errors):
                    try:
                        _parse({"id": values.get("id"), name: values[name]}, now=now, region=region)
                    except InvalidValues as exc:
                        errors |= {k: v for k, v in exc.errors.items() if k != "id"}
        raise InvalidValues(errors)
    return {f: record[f] for f in present} | (
        # The import marks a client who gave notice cancelled when no status is given.
        {"status": record["status"]}
        if "status" not in values and record.get("cancelled_on") is not None
        else {}
    )


def _columns(conn: Any, parsed: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    """Table columns for the parsed fields (a member of staff's id instead of their name; a
    household's id, made if new, instead of its name)."""
    out: dict[str, Any] = {}
    for name, value in parsed.items():
        field = CLIENT_FIELD[name]
        if field.kind is FieldKind.STAFF and value is not None:
            found = store.staff_id(conn, value)
            if found is None:
                raise InvalidValues({name: f"there is no staff member called {value!r}"})
            value = found
        if field.kind is FieldKind.HOUSEHOLD and value is not None:
            known = household_store.named(conn, value)
            value = (
                known.id
                if known is not None
                else household_store.create(conn, key=fold(value), name=value, now=now)
            )
        out[field.column] = value
    return out


def create_client(
    engine: Engine,
    values: Mapping[str, str | None],
    *,
    now: dt.datetime,
    region: str = "US",
    actor: str = "command line",
) -> Client:
    """Add a client. `values` hold text as typed (field -> text); `name` is required, `id`
    is made up when not given. Phones are read in `region` (the configured KEEPWARM_REGION)."""
    given = dict(values)
    if not (given.get("id") or "").strip():
        given["id"] = "K" + secrets.token_hex(4).upper()
    if not (given.get("name") or "").strip() and not (
        (given.get("first_name") or "").strip() or (given.get("last_name") or "").strip()
    ):
        raise InvalidValues({"name": "no name given"})
    if not (given.get("name") or "").strip():  # "Ann" + "Lee" -> "Ann Lee"
        parts = (given.get("first_name"), given.get("last_name"))
        given["name"] = " ".join(p.strip() for p in parts if p and p.strip())
    given.setdefault("status", "active")
    parsed = _parse(given, now=now, region=region)
    mark = rhythms.activity_mark(engine)
    with writing(engine) as conn:
        if q.client_internal_id(conn, parsed["id"]) is not None:
            raise InvalidValues({"id": f"there is already a client with id {parsed['id']!r}"})
        row = _columns(conn, parsed, now)
        row |= {"created_at": now, "updated_at": now}
        store.insert_client(conn, row)
        client = q.get_client(conn, parsed["id"])
        internal = q.client_internal_id(conn, parsed["id"])
        audit.record(
            conn,
            actor=actor,
            action="client-edit",
            now=now,
            client_id=internal,
            subject=audit.client_subject(conn, internal) if internal else None,
            details={"change": "added"},
        )
        today = local_today(q.policy_in(conn), now)
    assert client is not None
    rhythms.learn_new_clients(engine, after_activity=mark, as_of=today)  # today, not tomorrow
    return client


def update_client(
    engine: Engine,
    client_id: str,
    values: Mapping[str, str | None],
    *,
    now: dt.datetime,
    region: str = "US",
    actor: str = "command line",
) -> Client:
    """Change the fields present in `values` (text as typed; empty clears a field). A bad
    value raises InvalidValues naming each wrong field, and nothing changes."""
    if "id" in values and (values["id"] or "").strip() != client_id:
        raise InvalidValues({"id": "a client's id cannot be changed"})
    given = {k: v for k, v in values.items() if k != "id"} | {"id": client_id}
    if "name" in values and not (values["name"] or "").strip():
        raise InvalidValues({"name": "no name given"})
    parsed = _parse(given, now=now, region=region)
    parsed.pop("id")
    with writing(engine) as conn:
        internal = q.client_internal_id(conn, client_id)
        if internal is None:
            raise NotFound(f"no client with id {client_id!r}")
        before = q.get_client(conn, client_id)
        if parsed:
            store.update_client(conn, internal, _columns(conn, parsed, now) | {"updated_at": now})
        # A usable phone or email given: the one an import kept as written is corrected.
        corrected = [f for f in AS_WRITTEN if parsed.get(f) is not None]
        contact_flags.clear_flags(conn, internal, corrected)
        client = q.get_client(conn, client_id)
        _audit_edit(conn, actor, now, internal, before, client)
    assert client is not None
    return client


def _audit_edit(
    conn: Any,
    actor: str,
    now: dt.datetime,
    internal: int,
    before: Client | None,
    after: Client | None,
) -> None:
    """One entry per edit that changed something: each changed field, old and new."""
    if before is None or after is None:
        return
    old, new = dataclasses.asdict(before), dataclasses.asdict(after)
    changed = {
        k: {"old": _plain(old[k]), "new": _plain(new[k])}
        for k in new
        if old.get(k) != new[k] and k not in ("updated_at", "created_at")
    }
    if changed:
        audit.record(
            conn,
            actor=actor,
            action="client-edit",
            now=now,
            client_id=internal,
            subject=audit.client_subject(conn, internal),
            details=changed,
        )


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(v) for v in value)
    return value


def delete_client(
    engine: Engine,
    client_id: str,
    *,
    actor: str = "command line",
    now: dt.datetime | None = None,
) -> None:
    """Delete a client with their activities, touches, actions and rhythm (audited)."""
    with writing(engine) as conn:
        internal = q.client_internal_id(conn, client_id)
        if internal is None:
            raise NotFound(f"no client with id {client_id!r}")
        audit.record(
            conn,
            actor=actor,
            action="client-delete",
            now=now or dt.datetime.now(dt.UTC),
            client_id=internal,
            subject=audit.client_subject(conn, internal),
        )
        store.delete_client(conn, internal)


# --- the client page --------------------------------------------------------------------------


def _internal(conn: Any, client_id: str) -> int:
    internal = q.client_internal_id(conn, client_id)
    if internal is None:
        raise NotFound(f"no client with id {client_id!r}")
    return internal


def client_timeline(engine: Engine, client_id: str, *, limit: int = 200) -> list[TimelineEntry]:
    """Activities and touches merged, newest first (at most `limit`)."""
    with reading(engine) as conn:
        rows = store.timeline(conn, _internal(conn, client_id), limit)
    return _timeline_entries(rows)


def _timeline_entries(rows: list[dict[str, Any]]) -> list[TimelineEntry]:
    out = []
    for r in rows:
        if r["type"] == "activity":
            out.append(
                TimelineEntry(
                    r["date"],
                    "activity",
                    activity_kind=r["kind"],
                    amount_cents=r["amount_cents"],
                    quantity=r["quantity"],
                    note=r["note"],
                )
            )
        else:
            out.append(
                TimelineEntry(
                    r["date"],
                    "touch",
                    channel=r["channel"],
                    staff=r["staff_name"],
                    note=r["note"],
                    outcome=r["outcome"],
                    personal=bool(r["personal"]),
                )
            )
    return out


def activity_dates(engine: Engine, client_id: str, *, since: dt.date) -> list[dt.date]:
    """The dates of the client's activities from `since` on, oldest first (for the chart)."""
    with reading(engine) as conn:
        return store.activity_dates(conn, _internal(conn, client_id), since)


def client_open_actions(engine: Engine, client_id: str) -> list[OpenAction]:
    """The client's open actions (on someone's Today list), oldest first."""
    with reading(engine) as conn:
        rows = store.client_open_actions(conn, _internal(conn, client_id))
    return _open_action_list(rows)


def _open_action_list(rows: list[dict[str, Any]]) -> list[OpenAction]:
    return [
        OpenAction(r["id"], r["day"], r["staff_name"], r["channel"], r["why"], tuple(r["signals"]))
        for r in rows
    ]


@dataclass(frozen=True)
class ClientView:
    """Everything the client page shows, read in one transaction (one consistent view)."""

    client: Client
    today: dt.date
    rhythm: Rhythm | None
    timeline: list[TimelineEntry]
    chart_dates: list[dt.date]
    actions: list[OpenAction]
    team: list[str]
    numbers: ClientNumbers | None = None  # from the rhythm, as every surface shows them
    symbol: str = "$"  # the policy's currency symbol


def client_view(
    engine: Engine, client_id: str, *, now: dt.datetime, chart_days: int, timeline: int = 200
) -> ClientView:
    """The client, their rhythm, timeline (newest first, at most `timeline` entries), activity
    dates of the last `chart_days` days, open actions, and the team to choose an owner from;
    `today` in the policy's time zone. Raises NotFound."""
    with reading(engine) as conn:
        client = q.get_client(conn, client_id)
        if client is None:
            raise NotFound(f"no client with id {client_id!r}")
        internal = _internal(conn, client_id)
        data = load_policy_data(conn)
        policy = Policy() if data is None else Policy.from_dict(data)
        today = local_today(policy, now)
        rhythm = client_rhythm_row(conn, client_id)
        entries = store.timeline(conn, internal, timeline)
        dates = store.activity_dates(conn, internal, today - dt.timedelta(days=chart_days))
        actions = store.client_open_actions(conn, internal)
        team = [s.name for s in list_staff_rows(conn) if s.active or s.name == client.owner]
    return ClientView(
        client,
        today,
        rhythm,
        _timeline_entries(entries),
        dates,
        _open_action_list(actions),
        team,
        client_numbers(rhythm) if rhythm else None,
        policy.currency_symbol,
    )


@dataclass(frozen=True)
class ClientListItem:
    client: Client
    last_activity: dt.date | None
    activity_count: int


def find_clients(
    engine: Engine, text: str | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[list[ClientListItem], int]:
    """Whole clients matching `text` as the Clients list's search box matches it (through the
    same indexes, see `search_clients`), by name, each with their last activity date and number
    of activities; and how many match in all."""
    text = (text or "").strip() or None
    with reading(engine) as conn:
        where = store.client_filters(
            engine.dialect.name,
            text=text,
            phone_digits=_phone_digits(text) if text else [],
            signal=None,
            tag=None,
            owner=None,
            status=None,
        )
        total = store.count_clients(conn, where)
        rows = (
            store.clients_by_name(
                conn, where, limit=limit, offset=offset, few=bool(where) and total <= FEW
            )
            if offset < total
            else []
        )
    return [ClientListItem(*row) for row in rows], total


def client_card(engine: Engine, client_id: str, *, history: int = 20) -> ClientCard:
    with reading(engine) as conn:
        client = q.get_client(conn, client_id)
        internal = q.client_internal_id(conn, client_id)
        if client is None or internal is None:
            raise NotFound(f"no client with id {client_id!r}")
        count, total, first, last = q.activity_totals(conn, internal)
        return ClientCard(
            client=client,
            activities=tuple(q.client_activities(conn, internal, history)),
            activity_count=count,
            total_cents=total,
            first_activity=first,
            last_activity=last,
            touches=tuple(q.client_touches(conn, internal, history)),
        )
