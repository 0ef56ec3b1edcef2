"""Turning one CSV row into one typed record, collecting every problem in the row.

A record is a dict keyed by the columns of the store's staging table for its kind
(`keepwarm.store.staging`), "line" (the row's line in the file) first: named, so a value can
only land in the column it is for. A client record's keys are the client's fields (the
register, `keepwarm.domain.fields`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from keepwarm.domain.fields import (
    AS_WRITTEN_KINDS,
    CLIENT_FIELD,
    CLIENT_FIELDS,
    DATE_KINDS,
    FieldKind,
    as_written,
    flag_reason,
)
from keepwarm.domain.model import (
    BULK_CHANNELS,
    PERSONAL_CHANNELS,
    ClientStatus,
    ImportKind,
    ImportProblem,
    ProblemCode,
    ProblemLog,
)
from keepwarm.ingest.columns import ColumnMap
from keepwarm.ingest.values import (
    DateOrder,
    Unusable,
    is_empty_marker,
    numeric_date_parts,
    parse_amount,
    parse_bool,
    parse_date,
    parse_email,
    parse_phone,
    parse_quantity,
    restore,
    shown,
)

Record = dict[str, Any]

# The longest text each kind's plain text fields may hold (clients': the register's).
TEXT_LIMITS: dict[ImportKind, dict[str, int]] = {
    ImportKind.CLIENTS: {
        f.name: f.max_length
        for f in CLIENT_FIELDS
        if f.max_length is not None
        and f.kind in (FieldKind.ID, FieldKind.TEXT, FieldKind.STAFF, FieldKind.HOUSEHOLD)
    },
    ImportKind.ACTIVITIES: {"client_id": 200, "id": 200, "kind": 200},
    ImportKind.TOUCHES: {"client_id": 200, "staff": 200, "outcome": 200},
}
NAME_LIMIT = CLIENT_FIELD["name"].max_length or 0
# Client fields whose unusable values an import keeps as written (phone, email).
AS_WRITTEN = tuple(f.name for f in CLIENT_FIELDS if f.kind in AS_WRITTEN_KINDS)

_STATUS = {
    "active": ClientStatus.ACTIVE,
    "current": ClientStatus.ACTIVE,
    "client": ClientStatus.ACTIVE,
    "prospect": ClientStatus.PROSPECT,
    "lead": ClientStatus.PROSPECT,
    "cancelled": ClientStatus.CANCELLED,
    "canceled": ClientStatus.CANCELLED,
    "terminated": ClientStatus.CANCELLED,
    "closed": ClientStatus.CANCELLED,
}

CHANNEL_ALIASES = {
    "phone": "call",
    "phone call": "call",
    "telephone": "call",
    "call back": "call",
    "e-mail": "email",
    "mail": "email",
    "text": "sms",
    "text message": "sms",
    "postcard": "card",
    "letter": "card",
    "handwritten card": "card",
    "in person": "visit",
    "drop-in": "visit",
    "lunch": "meeting",
    "coffee": "meeting",
    "present": "gift",
}


@dataclass(frozen=True)
class ParseOptions:
    today: dt.date
    region: str = "US"
    date_order: DateOrder | None = None
    allow_future: bool = False
    # SQLite stores dates as ISO text: producing that directly saves a conversion per row.
    dates_as_text: bool = False
    # An import keeps a phone or email it cannot use as written, flagged on the client; a
    # value typed on a form is refused instead, so the person can correct it there and then.
    keep_as_written: bool = False


# The longest phone or email kept as written (a longer cell is junk, and refused).
MAX_AS_WRITTEN = 320


class FutureDate(ValueError):
    """A date after today where only past dates make sense."""


def not_in_future(value: dt.date, today: dt.date) -> dt.date:
    """`value`, or FutureDate when it is after `today`: the one rule for the date of an
    activity or a touch, whether imported or recorded by hand."""
    if value > today:
        raise FutureDate(f"{value.isoformat()} is in the future (today is {today.isoformat()})")
    return value


# What a client record holds for a field the row leaves empty, by kind (others: None).
_EMPTY: dict[FieldKind, Any] = {
    FieldKind.TAGS: "",
    FieldKind.STATUS: ClientStatus.ACTIVE,
    FieldKind.FLAG: False,
}


class RowParser:
    """Parses rows of one file once its columns are known."""

    def __init__(self, kind: ImportKind, columns: ColumnMap, options: ParseOptions) -> None:
        self.kind = kind
        self.columns = columns
        self.options = options
        convert = self._client_converters() if kind is ImportKind.CLIENTS else self._converters()
        self._finish: Callable[[int, dict[str, Any], ProblemLog], Record | None] = getattr(
            self, f"_{kind.value}"
        )
        self._has_name = bool({"name", "first_name", "last_name"} & columns.fields.keys())
        limits = TEXT_LIMITS[kind]
        self._specs = [
            (field, index, header, convert.get(field), limits.get(field))
            for field, (index, header) in columns.fields.items()
        ]
        self._contacts = frozenset(AS_WRITTEN) if kind is ImportKind.CLIENTS else frozenset()

    def _converters(self) -> dict[str, Callable[[str], Any]]:
        return {
            "date": self._event_date,
            "amount": parse_amount,
            "quantity": parse_quantity,
            "channel": parse_channel,
        }

    def _client_converters(self) -> dict[str, Callable[[str], Any]]:
        region = self.options.region
        by_kind: dict[FieldKind, Callable[[str], Any]] = {
            FieldKind.EMAIL: parse_email,
            FieldKind.PHONE: lambda raw: parse_phone(raw, region),
            FieldKind.DATE: self._any_date,
            FieldKind.BIRTHDAY: self._birthday,
            FieldKind.TAGS: _tags,
            FieldKind.STATUS: _status,
            FieldKind.FLAG: parse_bool,
        }
        return {f.name: by_kind[f.kind] for f in CLIENT_FIELDS if f.kind in by_kind}

    def parse(self, line: int, row: list[str], problems: ProblemLog) -> Record | None:
        """The typed record for `row`, or None after appending its problems."""
        values: dict[str, Any] = {}
        before = len(problems)
        for field, index, header, convert, limit in self._specs:
            raw = row[index].strip()
            if not raw:
                values[field] = None
                continue
            if raw[0] == "'":
                raw = restore(raw)
            if field in self._contacts and is_empty_marker(raw):
                values[field] = None  # "n/a", "none", "-": there is none
                continue
            if convert is None:
                if limit is not None and len(raw) > limit:
                    problems.append(
                        ImportProblem(
                            line, header, f"longer than {limit} characters", ProblemCode.TOO_LONG
                        )
                    )
                    continue
                values[field] = raw
                continue
            try:
                values[field] = convert(raw)
            except Unusable as exc:
                if not self.options.keep_as_written:
                    problems.append(
                        ImportProblem(line, header, str(exc), ProblemCode.INVALID_VALUE, raw)
                    )
                    continue
                if len(raw) > MAX_AS_WRITTEN:
                    problems.append(
                        ImportProblem(
                            line,
                            header,
                            f"longer than {MAX_AS_WRITTEN} characters",
                            ProblemCode.TOO_LONG,
                        )
                    )
                    continue
                values[field] = None
                values[as_written(field)] = raw
                values[flag_reason(field)] = exc.reason
            except ValueError as exc:
                code = (
                    ProblemCode.FUTURE_DATE
                    if isinstance(exc, FutureDate)
                    else ProblemCode.INVALID_VALUE
                )
                problems.append(ImportProblem(line, header, str(exc), code, raw))
        if len(problems) > before:
            return None
        return self._finish(line, values, problems)

    # --- per kind -------------------------------------------------------------------------

    def _clients(self, line: int, v: dict[str, Any], problems: ProblemLog) -> Record | None:
        if v.get("id") is None:
            problems.append(
                ImportProblem(line, self.columns.header("id"), "is empty", ProblemCode.EMPTY_VALUE)
            )
            return None
        parts = (v.get("first_name"), v.get("last_name"))
        name = v.get("name") or " ".join(p for p in parts if p) or None
        field = "name" if "name" in self.columns.fields else "first_name"
        if not name and self._has_name:
            problems.append(
                ImportProblem(
                    line, self.columns.header(field), "no name given", ProblemCode.NO_NAME
                )
            )
            return None
        if name and len(name) > NAME_LIMIT:
            # first_name and last_name fit their own limits but not, together, the name's.
            problems.append(
                ImportProblem(
                    line,
                    self.columns.header(field),
                    f"the name is longer than {NAME_LIMIT} characters",
                    ProblemCode.TOO_LONG,
                )
            )
            return None
        record: Record = {"line": line}
        for f in CLIENT_FIELDS:
            value = v.get(f.name)
            record[f.name] = _EMPTY.get(f.kind) if value is None else value
        for contact in AS_WRITTEN:
            record[as_written(contact)] = v.get(as_written(contact))
            record[flag_reason(contact)] = v.get(flag_reason(contact))
        record["name"] = name
        if v.get("status") is None and v.get("cancelled_on") is not None:
            record["status"] = ClientStatus.CANCELLED  # notice given: no longer a client
        record["status"] = record["status"].value
        return record

    def _activities(self, line: int, v: dict[str, Any], problems: ProblemLog) -> Record | None:
        if not self._required(line, v, ("client_id", "date"), problems):
            return None
        external_id = v.get("id")
        if external_id is None:
            fingerprint = fingerprint_of(
                v["client_id"],
                v["date"],
                v.get("amount"),
                v.get("quantity"),
                v.get("kind"),
                v.get("note"),
            )
            key = fingerprint_key(fingerprint, 1)
        else:
            fingerprint, key = None, "id:" + external_id
        return {
            "line": line,
            "client_ext": v["client_id"],
            "external_id": external_id,
            "fingerprint": fingerprint,
            "date": v["date"],
            "amount_cents": v.get("amount"),
            "quantity": v.get("quantity"),
            "kind": v.get("kind"),
            "note": v.get("note"),
            "key": key,
        }

    def _touches(self, line: int, v: dict[str, Any], problems: ProblemLog) -> Record | None:
        if not self._required(line, v, ("client_id", "date", "channel"), problems):
            return None
        channel = v["channel"]
        fingerprint = fingerprint_of(
            v["client_id"], v["date"], channel, v.get("staff"), v.get("note"), v.get("outcome")
        )
        return {
            "line": line,
            "client_ext": v["client_id"],
            "fingerprint": fingerprint,
            "date": v["date"],
            "channel": channel,
            "staff": v.get("staff"),
            "note": v.get("note"),
            "outcome": v.get("outcome"),
            "personal": channel in PERSONAL_CHANNELS,
            "key": fingerprint_key(fingerprint, 1),
        }

    def _required(
        self, line: int, v: dict[str, Any], fields: tuple[str, ...], problems: ProblemLog
    ) -> bool:
        missing = [f for f in fields if v.get(f) is None]
        for field in missing:
            problems.append(
                ImportProblem(line, self.columns.header(field), "is empty", ProblemCode.EMPTY_VALUE)
            )
        return not missing

    # --- converters that need the options ----------------------------------------------------

    def _out(self, value: dt.date) -> dt.date | str:
        return value.isoformat() if self.options.dates_as_text else value

    def _any_date(self, raw: str) -> dt.date | str:
        return self._out(parse_date(raw, self.options.date_order))

    def _event_date(self, raw: str) -> dt.date | str:
        value = parse_date(raw, self.options.date_order)
        if not self.options.allow_future:
            try:
                not_in_future(value, self.options.today)
            except FutureDate as exc:
                raise FutureDate(
                    f"{exc}; use --allow-future if the file lists booked appointments"
                ) from None
        if self.options.dates_as_text and len(raw) == 10 and raw[4] == "-" and raw[7] == "-":
            return raw  # already the canonical ISO text
        return self._out(value)

    def _birthday(self, raw: str) -> dt.date | str:
        value = parse_date(raw, self.options.date_order)
        if value > self.options.today:
            raise FutureDate(f"{value.isoformat()} is in the future")
        return self._out(value)


def fingerprint_key(fingerprint: str, occurrence: int) -> str:
    """The stored key of the `occurrence`-th identical row (counting from 1, in file order)."""
    return f"fp:{fingerprint}:{occurrence}"


def fingerprint_of(*parts: Any) -> str:
    """A short stable digest of a record's content, for rows that carry no id of their own."""
    text = "\x1f".join(["" if p is None else str(p) for p in parts])
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


def _status(raw: str) -> ClientStatus:
    try:
        return _STATUS[raw.strip().lower()]
    except KeyError:
        raise ValueError(f"{shown(raw)} is not a status (active, prospect or cancelled)") from None


def _tags(raw: str) -> str:
    seen: dict[str, str] = {}
    for tag in raw.split(";"):
        tag = tag.strip()
        if tag and tag.lower() not in seen:
            seen[tag.lower()] = tag
    return ";".join(sorted(seen.values(), key=str.lower))


def parse_channel(raw: str) -> str:
    """A channel as stored (aliases such as "phone call" read as "call"): a personal one
    (PERSONAL_CHANNELS) or a bulk one (BULK_CHANNELS), the same for an import and a touch
    recorded by hand; ValueError naming the channels otherwise."""
    text = raw.strip().lower()
    text = CHANNEL_ALIASES.get(text, text)
    if text in PERSONAL_CHANNELS or text in BULK_CHANNELS:
        return text
    allowed = ", ".join((*PERSONAL_CHANNELS, *BULK_CHANNELS))
    raise ValueError(f"{shown(raw)} is not a channel ({allowed})")


DATE_FIELDS = ("date", *(f.name for f in CLIENT_FIELDS if f.kind in DATE_KINDS))


def detect_date_order(
    rows: Iterable[tuple[int, list[str]]], columns: ColumnMap
) -> tuple[DateOrder | None, list[ImportProblem]]:
    """Read the file's numeric dates (03/04/2024) to learn whether the day or the month comes
    first. Only a day above 12 proves the order; a file with no such date must be told."""
    indexes = [
        (columns.fields[f][0], columns.fields[f][1]) for f in DATE_FIELDS if f in columns.fields
    ]
    day_first: tuple[int, str, str] | None = None
    month_first: tuple[int, str, str] | None = None
    example: tuple[int, str, str] | None = None
    for line, row in rows:
        for index, header in indexes:
            parts = numeric_date_parts(row[index])
            if parts is None:
                continue
            example = example or (line, header, row[index].strip())
            if parts[0] > 12 and day_first is None:
                day_first = (line, header, row[index].strip())
            elif parts[1] > 12 and month_first is None:
                month_first = (line, header, row[index].strip())
        if day_first and month_first:
            break
    if day_first and month_first:
        return None, [
            ImportProblem(
                day_first[0],
                day_first[1],
                f"{day_first[2]!r} puts the day first",
                ProblemCode.DATE_ORDERS_MIXED,
                day_first[2],
            ),
            ImportProblem(
                month_first[0],
                month_first[1],
                f"{month_first[2]!r} puts the month first: the file mixes date orders",
                ProblemCode.DATE_ORDERS_MIXED,
                month_first[2],
            ),
        ]
    if day_first:
        return DateOrder.DAY_FIRST, []
    if month_first:
        return DateOrder.MONTH_FIRST, []
    found_line: int | None = example[0] if example else None
    found_header: str | None = example[1] if example else None
    value = example[2] if example else ""
    return None, [
        ImportProblem(
            found_line,
            found_header,
            f"{value!r} could be day/month or month/day and no date in the file tells: "
            "run again with --dayfirst or --monthfirst",
            ProblemCode.DATE_ORDER_UNKNOWN,
            value,
        )
    ]
