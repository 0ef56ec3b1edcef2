"""Erasing one client at their request, or every client the retention policy says to.

In one transaction: keyed hashes of the client's normalised identifiers go into
`erased_identities` (with the `erasures` row saying when, why and by whom), every row about the
client goes from every table (keepwarm.store.erasure), their audit entries are redacted, and an
"erase" entry records the fact. After the commit the deleted bytes are made unrecoverable: on
SQLite, deleted content is zeroed as it goes (PRAGMA secure_delete, keepwarm.store.engine), the
search index is optimised so no old segment keeps the terms, and the WAL is checkpointed and
truncated; on PostgreSQL the touched tables are vacuumed (see docs/reliability.md for what
PostgreSQL's WAL and backups keep)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, func, select, union_all
from sqlalchemy.exc import SQLAlchemyError

from keepwarm.domain.errors import InvalidInput, NotFound
from keepwarm.services import audit
from keepwarm.store import erasure as store
from keepwarm.store import reading, writing
from keepwarm.store.audit import REDACTED
from keepwarm.store.tables import activities, client_aliases, clients, touches

log = logging.getLogger(__name__)

SECRET, CARRIED = store.SECRET, store.CARRIED
REASONS = {"request": "at the client's request", "retention": "by the retention policy"}
RETENTION_ACTOR = "keepwarm (retention policy)"
CHECKPOINT_TRIES = 5


@dataclass(frozen=True)
class Erasure:
    external_id: str
    erasure_id: int
    rows: dict[str, int] = field(default_factory=dict)
    cleanup: str = ""  # what was done after the commit, in words


def client_id_of(conn: Connection, ref: str) -> int | None:
    """The internal id of the client with business id (or merged-in id) `ref`."""
    found = conn.execute(
        select(clients.c.id).where(clients.c.external_id == ref)
    ).scalar_one_or_none()
    if found is None:
        found = conn.execute(
            select(client_aliases.c.client_id).where(client_aliases.c.external_id == ref)
        ).scalar_one_or_none()
    return None if found is None else int(found)


def erase_client(
    engine: Engine, ref: str, *, actor: str, now: dt.datetime, reason: str = "request"
) -> Erasure:
    """Erase the client with business id `ref` (see the module's docstring)."""
    if reason not in REASONS:
        raise InvalidInput(f"reason: one of {', '.join(REASONS)}, not {reason!r}")
    started = time.perf_counter()
    with writing(engine) as conn:
        internal = client_id_of(conn, ref)
        if internal is None:
            raise NotFound(f"no client with id {ref!r}")
        erasure_id, rows = _erase(conn, internal, actor=actor, now=now, reason=reason)
    cleanup = make_unrecoverable(engine, sorted(rows))
    log.info(
        "erasure %s: one client erased (%s), %d rows in %d tables, %.2fs; %s",
        erasure_id,
        reason,
        sum(rows.values()),
        len(rows),
        time.perf_counter() - started,
        cleanup,
    )
    return Erasure(ref, erasure_id, rows, cleanup)


def _erase(
    conn: Connection, internal: int, *, actor: str, now: dt.datetime, reason: str
) -> tuple[int, dict[str, int]]:
    who = store.person(conn, internal)
    assert who is not None
    key = store.secret(conn, now)
    erasure_id = store.record_erasure(conn, who, reason=reason, erased_by=actor, now=now, key=key)
    rows = store.delete_client(conn, who, now)
    audit.record(
        conn,
        actor=actor,
        action="erase",
        now=now,
        client_id=internal,
        subject=REDACTED,
        details={"reason": reason},
    )
    return erasure_id, rows


@dataclass(frozen=True)
class KnownErasures:
    """What a database knows of its erasures, to carry into another one (a restore): its
    erasure secrets and every erasure with the keyed hashes it recorded."""

    keys: tuple[str, ...] = ()
    records: tuple[store.ErasureRecord, ...] = ()


def known_erasures(conn: Connection) -> KnownErasures:
    return KnownErasures(tuple(store.keys(conn)), tuple(store.records(conn)))


def erase_again(
    conn: Connection, known: KnownErasures, *, actor: str, now: dt.datetime, why: str
) -> tuple[list[str], list[str]]:
    """Carry `known` (another database's erasures, with the secrets their hashes need) into
    this database, and erase again each client here that one of those erasures erased and
    this database did not know of (store.erased_by says who that is); returns their business
    ids and the tables touched. In the caller's transaction; make_unrecoverable after it."""
    for key in known.keys:
        store.carry_key(conn, key, now)
    new = store.carry_records(conn, known.records)
    if not new:
        return [], []
    erased: list[str] = []
    touched: set[str] = set()
    for who, record in store.erased_by(store.people(conn), known.keys, new):
        touched.update(store.delete_client(conn, who, now))
        audit.record(
            conn,
            actor=actor,
            action="erase",
            now=now,
            client_id=who.id,
            subject=REDACTED,
            details={"reason": record.reason, "again": why},
        )
        erased.append(who.external_id)
    return erased, sorted(touched)


def make_unrecoverable(engine: Engine, touched: list[str]) -> str:
    """After the commit: leave no copy of the deleted rows in the database's files."""
    if engine.dialect.name == "sqlite":
        with writing(engine) as conn:
            conn.exec_driver_sql("INSERT INTO clients_fts(clients_fts) VALUES ('optimize')")
        for attempt in range(CHECKPOINT_TRIES):
            with engine.connect() as conn:
                busy, _, _ = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
            if not busy:
                return "search index optimised, WAL checkpointed and truncated"
            time.sleep(0.2 * (attempt + 1))
        return (
            "search index optimised; the WAL could not be truncated (readers were busy): "
            "it is overwritten as the database is used, or run keepwarm erase again later"
        )
    names = [t.split(" ")[0] for t in touched if not t.startswith("audit_log")]
    tables = sorted({*names, "clients", "audit_log"})
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name in tables:
                conn.exec_driver_sql(f'VACUUM "{name}"')
    except SQLAlchemyError as exc:  # the erasure is committed whatever happens here
        log.warning("erasure: VACUUM failed: %s", type(exc).__name__)
        return "erased; VACUUM could not run (run VACUUM on the database yourself)"
    return f"vacuumed {len(tables)} tables"


def inactive_clients(conn: Connection, years: int, today: dt.date) -> list[tuple[int, str]]:
    """(internal id, business id) of the clients whose last activity or touch (else their
    "since" date) is more than `years` years before `today`, oldest first; a client with none
    of these dates is never chosen."""
    if years < 1:
        raise InvalidInput(f"years: a whole number of at least 1, not {years}")
    cutoff = _years_before(today, years)
    seen = union_all(
        select(
            activities.c.client_id.label("cid"), func.max(activities.c.date).label("d")
        ).group_by(activities.c.client_id),
        select(touches.c.client_id.label("cid"), func.max(touches.c.date).label("d")).group_by(
            touches.c.client_id
        ),
    ).subquery()
    last = select(seen.c.cid, func.max(seen.c.d).label("last")).group_by(seen.c.cid).subquery()
    query = (
        select(clients.c.id, clients.c.external_id)
        .select_from(clients.outerjoin(last, last.c.cid == clients.c.id))
        .where(func.coalesce(last.c.last, clients.c.since) < cutoff)
        .order_by(func.coalesce(last.c.last, clients.c.since), clients.c.id)
    )
    return [(int(r.id), str(r.external_id)) for r in conn.execute(query)]


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class RetentionResult:
    erased: list[str]
    cleanup: str = ""


def apply_retention(
    engine: Engine, years: int, *, today: dt.date, now: dt.datetime, dry_run: bool = False
) -> RetentionResult:
    """Erase (or, dry run, list) every client inactive for `years` years, reason
    "retention", one transaction per client."""
    with reading(engine) as conn:
        due = inactive_clients(conn, years, today)
    if dry_run or not due:
        return RetentionResult([ref for _, ref in due])
    erased: list[str] = []
    touched: set[str] = set()
    for internal, ref in due:
        with writing(engine) as conn:
            if conn.execute(select(clients.c.id).where(clients.c.id == internal)).first() is None:
                continue
            _, rows = _erase(conn, internal, actor=RETENTION_ACTOR, now=now, reason="retention")
        erased.append(ref)
        touched.update(rows)
    cleanup = make_unrecoverable(engine, sorted(touched))
    log.info(
        "retention: %d clients erased (no activity for %d years); %s", len(erased), years, cleanup
    )
    return RetentionResult(erased, cleanup)


def daily_retention(engine: Engine, *, day: dt.date, now: dt.datetime) -> int:
    """The daily job's step: apply the policy's erase_inactive_years (0 is off); returns how
    many clients were erased. A failure is logged and the day's plan goes on."""
    from keepwarm.services.policy import get_policy  # policy reads settings widely

    years = get_policy(engine).erase_inactive_years
    if not years:
        return 0
    started = time.perf_counter()
    try:
        result = apply_retention(engine, years, today=day, now=now)
    except Exception:
        log.exception("daily job %s: the retention policy was not applied", day)
        return 0
    log.info(
        "daily job %s: retention: %d clients erased (no activity for %d years), %.2fs",
        day,
        len(result.erased),
        years,
        time.perf_counter() - started,
        extra={"day": str(day), "step": "retention", "erased": len(result.erased)},
    )
    return len(result.erased)
