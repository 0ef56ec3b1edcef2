"""Which column of an export means which field: case-insensitive, with the aliases practice,
POS and accounting software commonly use."""

from __future__ import annotations

import re
from dataclasses import dataclass

from keepwarm.domain.model import ImportKind, ImportProblem


def normalise_header(name: str) -> str:
    """'Customer ID', 'customer_id' and 'CUSTOMER-ID' all become 'customerid'."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


_CLIENT_ID = (
    "clientid",
    "customerid",
    "customer",
    "client",
    "customerno",
    "customernumber",
    "clientnumber",
    "clientno",
    "patientid",
    "patientnumber",
    "patient",
    "accountid",
    "accountnumber",
    "memberid",
    "membernumber",
)

ALIASES: dict[ImportKind, dict[str, tuple[str, ...]]] = {
    ImportKind.CLIENTS: {
        "id": ("id", "externalid", "reference", "ref", *_CLIENT_ID),
        "name": (
            "name",
            "fullname",
            "clientname",
            "customername",
            "patientname",
            "displayname",
            "contactname",
            "contact",
        ),
        "first_name": ("firstname", "first", "givenname", "forename"),
        "last_name": ("lastname", "last", "surname", "familyname"),
        "email": ("email", "emailaddress", "mail", "emails"),
        "phone": (
            "phone",
            "phonenumber",
            "telephone",
            "tel",
            "mobile",
            "cell",
            "cellphone",
            "mobilephone",
            "mobilenumber",
        ),
        "address": ("address", "streetaddress", "postaladdress", "street", "mailingaddress"),
        "birthday": ("birthday", "dob", "dateofbirth", "birthdate", "born"),
        "since": (
            "since",
            "clientsince",
            "customersince",
            "patientsince",
            "joined",
            "joindate",
            "startdate",
            "created",
            "createdon",
            "firstvisit",
        ),
        "owner": (
            "owner",
            "staff",
            "accountmanager",
            "assignedto",
            "provider",
            "advisor",
            "adviser",
            "agent",
            "clientowner",
        ),
        "tags": ("tags", "tag", "labels", "segment", "segments", "groups", "group"),
        "status": ("status", "state", "clientstatus"),
        "cancelled_on": (
            "cancelledon",
            "canceledon",
            "cancellationdate",
            "cancelleddate",
            "canceldate",
            "noticedate",
            "terminationdate",
        ),
        "next_due": (
            "nextdue",
            "recall",
            "recalldate",
            "nextrecall",
            "duedate",
            "nextduedate",
            "renewal",
            "renewaldate",
            "nextcheckup",
        ),
        "do_not_contact": ("donotcontact", "dnc", "optout", "nocontact", "optedout"),
        "notes": ("notes", "note", "comments", "comment", "remarks"),
    },
    ImportKind.ACTIVITIES: {
        "client_id": _CLIENT_ID,
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
        "client_id": _CLIENT_ID,
        "date": ("date", "contactdate", "touchdate", "contactedon", "when"),
        "channel": ("channel", "method", "medium", "contacttype", "via", "type", "kind"),
        "staff": ("staff", "by", "user", "employee", "contactedby", "owner", "who"),
        "note": ("note", "notes", "comment", "comments", "description", "summary"),
        "outcome": ("outcome", "result", "status", "response"),
    },
}

REQUIRED: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.CLIENTS: ("id",),
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
                    1, written, f"means {field}, like column {fields[field][1]!r}: keep only one"
                )
            )
        else:
            fields[field] = (index, written)
    for field in REQUIRED[kind]:
        if field not in fields:
            known = ", ".join(ALIASES[kind][field][:4])
            problems.append(
                ImportProblem(1, None, f"no {field} column (a column named e.g. {known})")
            )
    # A clients file without a name column is fine for updates (id, phone); rows that would
    # add a client are checked against the store once staged (merging.nameless_new_clients).
    return ColumnMap(fields, tuple(ignored)), problems
