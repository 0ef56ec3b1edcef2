"""One register of a client's fields (keepwarm.domain.fields): the table, the import's staging
table, the header aliases, the export, the API's models and the client page's form all come
from it, so a field is added in one place (plus its migration)."""

from __future__ import annotations

import dataclasses

from keepwarm.domain.fields import (
    AS_WRITTEN_KINDS,
    CLIENT_FIELDS,
    Client,
    FieldKind,
    as_written,
    flag_reason,
)
from keepwarm.domain.model import ImportKind
from keepwarm.ingest.columns import ALIASES, match_columns
from keepwarm.services.exporting import HEADERS
from keepwarm.store.staging import STAGE_CLIENTS
from keepwarm.store.tables import clients
from keepwarm.web.api_models import ClientFields, ClientIn, ClientOut
from keepwarm.web.clients import FORM_FIELDS

NAMES = [f.name for f in CLIENT_FIELDS]


def test_the_register_is_the_client_and_every_place_a_field_goes_follows_it() -> None:
    assert [f.name for f in dataclasses.fields(Client)] == NAMES
    assert [c.name for c in clients.columns] == [
        "id",
        *(f.column for f in CLIENT_FIELDS),
        "search_text",  # derived from name, email and id (keepwarm.domain.search)
        "created_at",
        "updated_at",
    ]
    kept = [f.name for f in CLIENT_FIELDS if f.kind in AS_WRITTEN_KINDS]
    assert kept == ["email", "phone"]
    assert [c.name for c in STAGE_CLIENTS.columns] == [
        "line",
        *NAMES,
        *(c for f in kept for c in (as_written(f), flag_reason(f))),
    ]
    assert list(ALIASES[ImportKind.CLIENTS]) == NAMES
    assert HEADERS[ImportKind.CLIENTS] == tuple(f.name for f in CLIENT_FIELDS if f.exported)
    assert list(ClientOut.model_fields) == NAMES
    assert list(ClientFields.model_fields) == [n for n in NAMES if n != "id"]
    assert set(ClientIn.model_fields) == set(NAMES)
    assert [f.name for f in FORM_FIELDS] == [f.name for f in CLIENT_FIELDS if f.editable]
    # What import sets; a household has its own form (owner only, audited).
    assert [f.name for f in CLIENT_FIELDS if not f.editable] == ["id", "household"]


def test_each_field_is_read_from_its_own_name_and_its_aliases() -> None:
    for f in CLIENT_FIELDS:
        for header in (f.name, *f.csv_aliases):
            columns, problems = match_columns(ImportKind.CLIENTS, ("id", header))
            if f.kind is FieldKind.ID:
                assert problems, header  # the id twice
            else:
                assert columns.fields[f.name] == (1, header), header


def test_a_field_without_a_value_is_none_unless_its_kind_always_has_one() -> None:
    bare = Client("C-1", "Al")
    for f in CLIENT_FIELDS:
        assert f.optional == (getattr(bare, f.name) is None), f.name
