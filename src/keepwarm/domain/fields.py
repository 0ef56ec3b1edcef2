"""A client's fields, declared once: the register everything else is derived from.

`Client` is the register. Each attribute's annotation carries its `ClientField`: the kind of
value, the label people read, the CSV column names an import understands, whether an export
writes it and whether the client page's form edits it. From it come the `clients` table and the
import's staging table (keepwarm.store), the header aliases and the row parser
(keepwarm.ingest), the merge SQL, the export's columns, the API's client models and the client
page's form. Adding a field is one attribute here plus an Alembic migration adding its column
(tests/test_store.py checks that the two agree).
"""

# No `from __future__ import annotations`: the register reads the annotations as objects.

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Annotated, get_type_hints


class ClientStatus(StrEnum):
    ACTIVE = "active"
    PROSPECT = "prospect"
    CANCELLED = "cancelled"


class FieldKind(StrEnum):
    """What a field holds, which decides how it is read, stored, exported and edited."""

    ID = "id"  # the business's own id for the client: text, unique, never changed
    TEXT = "text"  # text; up to `max_length` characters, or any length without one
    EMAIL = "email"  # an email address, checked and normalised
    PHONE = "phone"  # a phone number, stored as E.164 (read in the configured region)
    DATE = "date"
    BIRTHDAY = "birthday"  # a date, never in the future
    STAFF = "staff"  # a member of staff by name (stored as their id)
    TAGS = "tags"  # labels separated by ";" (stored sorted, without repeats)
    STATUS = "status"  # active, prospect or cancelled
    FLAG = "flag"  # yes or no
    HOUSEHOLD = "household"  # a household by name or id (stored as its id)


# Kinds that always have a value (stored NOT NULL, with a default).
ALWAYS_SET = (FieldKind.TAGS, FieldKind.STATUS, FieldKind.FLAG)
DATE_KINDS = (FieldKind.DATE, FieldKind.BIRTHDAY)
# Kinds whose unusable values (a phone without its area code, an email without its @) an
# import keeps as written and flags on the client, rather than refusing the file or guessing.
AS_WRITTEN_KINDS = (FieldKind.PHONE, FieldKind.EMAIL)


def as_written(field: str) -> str:
    """The name under which an import carries `field`'s value as written, when kept."""
    return f"{field}_as_written"


def flag_reason(field: str) -> str:
    """The name under which an import carries why `field`'s value was kept as written."""
    return f"{field}_flag"


# Header spellings (normalised: lower case, letters and digits only) that name a client's id,
# in a clients file and as the client column of activities and touches files.
CLIENT_ID_ALIASES = (
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

Example = str | bool | tuple[str, ...] | None


@dataclass(frozen=True)
class ClientField:
    """One field of a client: declared as the annotation of a `Client` attribute, whose name
    becomes `name` (the name in CSV headers, exports, the API and forms)."""

    kind: FieldKind
    label: str  # what people read: the form's label, the card's
    # Header spellings an import also reads as this field, normalised like
    # keepwarm.ingest.columns.normalise_header ('Date of birth' -> 'dateofbirth'); the name
    # itself always counts.
    csv_aliases: tuple[str, ...] = ()
    max_length: int | None = None  # characters kept; None: any length (a Text column)
    required: bool = False  # every client has one (stored NOT NULL)
    exported: bool = True  # a column of `keepwarm export clients` (and so of a re-import)
    editable: bool = False  # on the client page's Edit form
    help: str = ""  # one line for the API's documentation
    example: Example = None  # the API documentation's example value
    name: str = ""  # set from the attribute's name
    column: str = ""  # the `clients` column; set from the name unless given

    @property
    def optional(self) -> bool:
        """Whether a client may have no value (None)."""
        return not self.required and self.kind not in ALWAYS_SET


@dataclass(frozen=True, slots=True)
class Client:
    """A client or prospect, as the business knows them. `id` is the business's own id."""

    id: Annotated[
        str,
        ClientField(
            FieldKind.ID,
            "Id",
            ("externalid", "reference", "ref", *CLIENT_ID_ALIASES),
            max_length=200,
            required=True,
            column="external_id",
            help="Your own id for the client.",
            example="C-1042",
        ),
    ]
    name: Annotated[
        str,
        ClientField(
            FieldKind.TEXT,
            "Name",
            (
                "fullname",
                "clientname",
                "customername",
                "patientname",
                "displayname",
                "contactname",
                "contact",
            ),
            max_length=400,
            required=True,
            editable=True,
            example="Maria Lopez",
        ),
    ]
    first_name: Annotated[
        str | None,
        ClientField(
            FieldKind.TEXT,
            "First name",
            ("first", "givenname", "forename"),
            max_length=200,
            editable=True,
            example="Maria",
        ),
    ] = None
    last_name: Annotated[
        str | None,
        ClientField(
            FieldKind.TEXT,
            "Last name",
            ("last", "surname", "familyname"),
            max_length=200,
            editable=True,
            example="Lopez",
        ),
    ] = None
    email: Annotated[
        str | None,
        ClientField(
            FieldKind.EMAIL,
            "Email",
            ("emailaddress", "mail", "emails"),
            max_length=320,
            editable=True,
            example="maria@example.com",
        ),
    ] = None
    phone: Annotated[
        str | None,
        ClientField(
            FieldKind.PHONE,
            "Phone",
            (
                "phonenumber",
                "telephone",
                "tel",
                "mobile",
                "cell",
                "cellphone",
                "mobilephone",
                "mobilenumber",
            ),
            max_length=40,
            editable=True,
            example="+15035550101",
        ),
    ] = None
    address: Annotated[
        str | None,
        ClientField(
            FieldKind.TEXT,
            "Address",
            ("streetaddress", "postaladdress", "street", "mailingaddress"),
            editable=True,
            example="12 Elm Street, Portland",
        ),
    ] = None
    birthday: Annotated[
        dt.date | None,
        ClientField(
            FieldKind.BIRTHDAY,
            "Birthday",
            ("dob", "dateofbirth", "birthdate", "born"),
            editable=True,
            example="1984-03-05",
        ),
    ] = None
    since: Annotated[
        dt.date | None,
        ClientField(
            FieldKind.DATE,
            "Client since",
            (
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
            editable=True,
            example="2019-06-01",
        ),
    ] = None
    owner: Annotated[
        str | None,
        ClientField(
            FieldKind.STAFF,
            "Owner",
            (
                "staff",
                "accountmanager",
                "assignedto",
                "provider",
                "advisor",
                "adviser",
                "agent",
                "clientowner",
            ),
            max_length=200,
            editable=True,
            column="owner_id",
            help="The member of staff who looks after them.",
            example="Dana Reyes",
        ),
    ] = None
    tags: Annotated[
        tuple[str, ...],
        ClientField(
            FieldKind.TAGS,
            "Tags",
            ("tag", "labels", "segment", "segments", "groups", "group"),
            editable=True,
            example=("regular", "vip"),
        ),
    ] = ()
    status: Annotated[
        ClientStatus,
        ClientField(
            FieldKind.STATUS,
            "Status",
            ("state", "clientstatus"),
            editable=True,
            example="active",
        ),
    ] = ClientStatus.ACTIVE
    cancelled_on: Annotated[
        dt.date | None,
        ClientField(
            FieldKind.DATE,
            "Cancelled on",
            (
                "canceledon",
                "cancellationdate",
                "cancelleddate",
                "canceldate",
                "noticedate",
                "terminationdate",
            ),
            editable=True,
        ),
    ] = None
    next_due: Annotated[
        dt.date | None,
        ClientField(
            FieldKind.DATE,
            "Next due",
            (
                "recall",
                "recalldate",
                "nextrecall",
                "duedate",
                "nextduedate",
                "renewal",
                "renewaldate",
                "nextcheckup",
            ),
            editable=True,
            example="2027-01-15",
        ),
    ] = None
    do_not_contact: Annotated[
        bool,
        ClientField(
            FieldKind.FLAG,
            "Do not contact",
            ("dnc", "optout", "nocontact", "optedout"),
            editable=True,
            example=False,
        ),
    ] = False
    notes: Annotated[
        str | None,
        ClientField(
            FieldKind.TEXT,
            "Notes",
            ("note", "comments", "comment", "remarks"),
            editable=True,
            example="Prefers mornings",
        ),
    ] = None
    household: Annotated[
        str | None,
        ClientField(
            FieldKind.HOUSEHOLD,
            "Household",
            ("family", "householdname", "householdid", "familyid", "household"),
            max_length=400,
            column="household_id",
            help="The family or company the client belongs to (made if new).",
            example="Morris",
        ),
    ] = None


def _register() -> tuple[ClientField, ...]:
    out = []
    for name, hint in get_type_hints(Client, include_extras=True).items():
        spec = next(m for m in hint.__metadata__ if isinstance(m, ClientField))
        out.append(replace(spec, name=name, column=spec.column or name))
    return tuple(out)


CLIENT_FIELDS: tuple[ClientField, ...] = _register()
"""Every field of a client, in the order of `Client` (and of an export's columns)."""

CLIENT_FIELD: dict[str, ClientField] = {f.name: f for f in CLIENT_FIELDS}
CLIENT_FIELD_NAMES: tuple[str, ...] = tuple(CLIENT_FIELD)
