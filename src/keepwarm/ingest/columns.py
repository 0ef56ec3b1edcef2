"""Which column of an export means which field: case-insensitive, with the aliases practice,
POS and accounting software commonly use."""

from __future__ import annotations

import re
from dataclasses import dataclass

from keepwarm.domain.fields import CLIENT_FIELDS, CLIENT_ID_ALIASES, FieldKind
from keepwarm.domain.model import ImportKind, ImportProblem, ProblemCode


def normalise_header(name: str) -> str:
    """'Customer ID', 'customer_id' and 'CUSTOMER-ID' all become 'customerid'."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _client_aliases() -> dict[str, tuple[str, ...]]:
    """Each client field's header spellings: its own name, then its aliases (the register's)."""
    out = {}
    for f in CLIENT_FIELDS:
        own = normalise_header(f.name)
        out[f.name] = (own, *(a for a in f.csv_aliases if a != own))
    return out


ALIASES: dict[ImportKind, dict[str, tuple[str, ...]]] = {
    ImportKind.CLIENTS: _client_aliases(),
    ImportKind.ACTIVITIES: {
        "client_id": CLIENT_ID_ALIASES,
        "date": (
            "date",
            "activitydate",
            "visitdate",
            "purchasedate",
            "orderdate",
            "transactiondate",
            "servicedate",
            "invoicedate",
            "appointmentdate",
            "day",
        ),
        "id": (
            "id",
            "activityid",
            "transactionid",
            "orderid",
            "invoiceid",
            "invoicenumber",
            "invoice",  # "Invoice #"
            "invoiceno",
            "invoicenr",
            "invoicenum",
            "visitid",
            "receiptnumber",
            "receiptid",
            "appointmentid",
        ),
        "amount": (
            "amount",
            "total",
            "value",
            "price",
            "revenue",
            "spend",
            "sales",
            "dollarvalue",
            "totalamount",
            "fee",
        ),
        "quantity": ("quantity", "qty", "units", "count", "items", "numberofitems"),
        "kind": (
            "kind",
            "type",
            "service",
            "category",
            "product",
            "activitytype",
            "servicetype",
            "visittype",
        ),
        "note": ("note", "notes", "description", "comment", "comments", "memo"),
    },
    ImportKind.TOUCHES: {
        "client_id": CLIENT_ID_ALIASES,
        "date": ("date", "contactdate", "touchdate", "contactedon", "when"),
        "channel": ("channel", "method", "medium", "contacttype", "via", "type", "kind"),
        "staff": ("staff", "by", "user", "employee", "contactedby", "owner", "who"),
        "note": ("note", "notes", "comment", "comments", "description", "summary"),
        "outcome": ("outcome", "result", "status", "response"),
    },
}

REQUIRED: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.CLIENTS: tuple(f.name for f in CLIENT_FIELDS if f.kind is FieldKind.ID),
    ImportKind.ACTIVITIES: ("client_id", "date"),
    ImportKind.TOUCHES: ("client_id", "date", "channel"),
}


@dataclass(frozen=True)
class ColumnMap:
    """Field name -> (column index, the header as written in the file)."""

    fields: dict[str, tuple[int, str]]
    ignored: tuple[str, ...]

    def index(self, field: str) -> int | None:
        found = self.fields.get(field)
        return found[0] if found else None

    def header(self, field: str) -> str:
        found = self.fields.get(field)
        return found[1] if found else field


def match_columns(
    kind: ImportKind, header: tuple[str, ...]
) -> tuple[ColumnMap, list[ImportProblem]]:
    """Map the file's header to keepwarm's fields; problems for missing or doubled columns."""
    lookup = {alias: field for field, aliases in ALIASES[kind].items() for alias in aliases}
    fields: dict[str, tuple[int, str]] = {}
    ignored: list[str] = []
    problems: list[ImportProblem] = []
    for index, written in enumerate(header):
        field = lookup.get(normalise_header(written))
        if field is None:
            ignored.append(written or f"(column {index + 1} has no name)")
        elif field in fields:
            problems.append(
                ImportProblem(
                    1,
                    written,
                    f"means {field}, like column {fields[field][1]!r}: keep only one",
                    ProblemCode.DUPLICATE_COLUMN,
                )
            )
        else:
            fields[field] = (index, written)
    for field in REQUIRED[kind]:
        if field not in fields:
            known = ", ".join(ALIASES[kind][field][:4])
            problems.append(
                ImportProblem(
                    1,
                    None,
                    f"no {field} column (a column named e.g. {known})",
                    ProblemCode.MISSING_COLUMN,
                )
            )
    # A clients file without a name column is fine for updates (id, phone); rows that would
    # add a client are checked against the store once staged (merging.nameless_new_clients).
    return ColumnMap(fields, tuple(ignored)), problems


def looks_like(kind: ImportKind, header: tuple[str, ...]) -> ImportKind | None:
    """The other kind of file `header` reads better as, if any: one whose required columns are
    all there and which reads more of the file's columns than `kind` does (an activities file
    imported as clients: its client_id is read as the client's id, its date and amount not at
    all). None when `kind` reads the header at least as well as any other."""
    read = {k: match_columns(k, header)[0].fields for k in ImportKind}
    best: ImportKind | None = None
    for other in ImportKind:
        if other is kind or not set(REQUIRED[other]) <= read[other].keys():
            continue
        if len(read[other]) > len(read[best or kind]):
            best = other
    return best


def wrong_kind_problem(
    kind: ImportKind, header: tuple[str, ...], *, only_if_sure: bool = False
) -> ImportProblem | None:
    """A problem saying which kind of file this looks like, or None (see `looks_like`).
    `only_if_sure`: only when a column the other kind requires is one `kind` does not read at
    all (a touches file's channel, imported as activities), so importing it as `kind` would
    drop what makes the file what it is."""
    other = looks_like(kind, header)
    if other is None:
        return None
    if only_if_sure:
        read = {i for i, _ in match_columns(kind, header)[0].fields.values()}
        theirs = match_columns(other, header)[0].fields
        if all(theirs[f][0] in read for f in REQUIRED[other]):
            return None
    article = "an" if other.value[0] in "aeiou" else "a"
    columns = ", ".join(written for _, written in match_columns(other, header)[0].fields.values())
    return ImportProblem(
        None,
        None,
        f"this looks like {article} {other.value} file ({columns}), not {kind.value}: use "
        f"`keepwarm import {other.value} FILE` (on the Import page: choose {other.value})",
        ProblemCode.WRONG_KIND,
        other.value,
    )
