"""The store: migrations on both backends, SQLite connection set-up, schema drift."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from keepwarm.domain.errors import DatabaseError
from keepwarm.services.backup import schema_differences
from keepwarm.store import connect, current_revision, head_revision, migrate, require_current


def test_migrations_build_the_newest_schema_from_an_empty_database(db_url: str) -> None:
    engine = connect(db_url, create=True)
    assert current_revision(engine) is None
    before, after = migrate(engine)
    assert (before, after) == (None, head_revision())
    assert current_revision(engine) == head_revision()
    names = set(sa.inspect(engine).get_table_names())
    assert {"staff", "clients", "activities", "touches", "imports"} <= names
    engine.dispose()


def test_migrating_twice_changes_nothing(engine: sa.Engine) -> None:
    before, after = migrate(engine)
    assert before == after == head_revision()


def test_the_migrations_create_exactly_the_tables_the_code_declares(engine: sa.Engine) -> None:
    # keepwarm.services.backup.schema_differences is `keepwarm db check`: Alembic's
    # compare_metadata between the database and tables.py, leaving out each database's own
    # search indexes (SQLite's full-text table of migration 0008, PostgreSQL's trigram indexes
    # of 0009) and, on SQLite, the foreign key of clients.household_id: it was added by ALTER
    # TABLE ADD COLUMN (migration 0024: rebuilding `clients` would drop its full-text
    # triggers), and SQLAlchemy reads neither the name nor ON DELETE of such an inline
    # REFERENCES (the test below checks its behaviour).
    assert schema_differences(engine) == []


def test_deleting_a_household_leaves_its_members_without_one(engine: sa.Engine) -> None:
    from keepwarm.store.tables import clients, households

    at = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(sa.insert(households).values(id=1, key="morris", name="Morris", created_at=at))
        conn.execute(
            sa.insert(clients).values(
                external_id="C1", name="Kim Morris", household_id=1, created_at=at, updated_at=at
            )
        )
        conn.execute(sa.delete(households).where(households.c.id == 1))
        assert conn.execute(sa.select(clients.c.household_id)).scalar_one() is None


def test_the_client_name_index_is_on_lower_name(engine: sa.Engine) -> None:
    """The index the client search sorts by: reflection cannot compare it on SQLite."""
    if engine.dialect.name == "sqlite":
        query = "SELECT sql FROM sqlite_master WHERE name = 'ix_clients_lower_name'"
    else:
        query = (
            "SELECT indexdef FROM pg_indexes "
            "WHERE indexname = 'ix_clients_lower_name' AND schemaname = current_schema()"
        )
    with engine.connect() as conn:
        definition = conn.exec_driver_sql(query).scalar_one()
    plain = definition.lower().replace("(name)::text", "name").replace("((name))", "(name)")
    assert "lower(name)" in plain and plain.rstrip(")").endswith("id")


def test_every_sqlite_connection_is_set_up_for_safety(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = connect(f"sqlite:///{tmp_path / 'a.db'}", create=True, pool_size=3)
    conns = [engine.connect() for _ in range(3)]
    for conn in conns:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
        assert pragmas == {
            "journal_mode": "wal",
            "synchronous": 2,
            "foreign_keys": 1,
            "busy_timeout": 10000,
        }
    for conn in conns:
        conn.close()
    engine.dispose()


def test_a_missing_sqlite_file_is_an_error_and_is_not_created(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "nowhere.db"
    try:
        connect(f"sqlite:///{target}")
    except DatabaseError as exc:
        assert "keepwarm init" in str(exc)
    else:
        raise AssertionError("expected DatabaseError")
    assert not target.exists()


def test_a_database_without_tables_asks_for_init(db_url: str) -> None:
    engine = connect(db_url, create=True)
    try:
        require_current(engine)
    except DatabaseError as exc:
        assert "keepwarm init" in str(exc)
    else:
        raise AssertionError("expected DatabaseError")
    finally:
        engine.dispose()


def test_client_search_has_its_text_index_on_each_backend(engine: sa.Engine) -> None:
    if engine.dialect.name == "postgresql":
        names = {ix["name"] for ix in sa.inspect(engine).get_indexes("clients")}
        # the folded search text's (migration 0014) and the phone's (0009)
        assert {"ix_clients_search_text_trgm", "ix_clients_phone_trgm"} <= names
    else:
        with engine.connect() as conn:
            hit = conn.exec_driver_sql(
                "SELECT count(*) FROM clients_fts WHERE clients_fts MATCH 'search_text : \"ann\"'"
            ).scalar()
        assert hit == 0  # the full-text table exists and answers


def test_a_read_transaction_is_one_snapshot_on_every_backend(engine: sa.Engine) -> None:
    """A page reading several queries never mixes states: a write committed between two reads
    of one `reading` block is not seen by the second (REPEATABLE READ on PostgreSQL)."""
    import datetime as dt

    from keepwarm.store import reading, writing
    from keepwarm.store.tables import staff

    count = sa.select(sa.func.count()).select_from(staff)
    add = sa.insert(staff).values(name="Dana", created_at=dt.datetime.now(dt.UTC))
    with reading(engine) as conn:
        before = conn.execute(count).scalar_one()
        with writing(engine) as other:
            other.execute(add)
        during = conn.execute(count).scalar_one()
    with reading(engine) as conn:
        after = conn.execute(count).scalar_one()
    assert (before, during, after) == (0, 0, 1)


def test_one_snapshot_shares_one_read_transaction_until_a_write(engine: sa.Engine) -> None:
    """Inside `one_snapshot`, every `reading` is the block's one transaction: a write by
    someone else is not seen, on every backend. After a `writing` in the block, readings have
    their own transactions again and see what was written."""
    import datetime as dt

    from keepwarm.store import one_snapshot, reading, writing
    from keepwarm.store.tables import staff

    count = sa.select(sa.func.count()).select_from(staff)

    def add(name: str) -> None:
        with writing(engine) as conn:
            conn.execute(sa.insert(staff).values(name=name, created_at=dt.datetime.now(dt.UTC)))

    with one_snapshot(engine):
        with reading(engine) as first:
            before = first.execute(count).scalar_one()
        with engine.begin() as other:  # someone else's write, not through `writing`
            other.execute(sa.insert(staff).values(name="Eve", created_at=dt.datetime.now(dt.UTC)))
        with reading(engine) as second:
            shared = second is first
            during = second.execute(count).scalar_one()
        add("Dana")  # this block's own write: later reads must see it
        with reading(engine) as third:
            own = third is first
            after = third.execute(count).scalar_one()
    with reading(engine) as outside:
        assert outside is not first
    assert (before, during, after) == (0, 0, 2) and shared and not own


def test_a_client_s_page_reads_in_one_transaction(  # type: ignore[no-untyped-def]
    web, web_app, engine: sa.Engine
) -> None:
    """The client page asks a dozen services (26 read transactions before); it now opens one
    for all of them. Counted as connections checked out of the pool (the signed-in session's
    own are two more)."""
    import datetime as dt

    from keepwarm.services.clients import create_client

    now = dt.datetime.now(dt.UTC)
    create_client(engine, {"id": "C1", "name": "Ann Lee", "email": "ann@example.org"}, now=now)
    client = web()
    checkouts: list[object] = []
    sa.event.listen(web_app.state.engine.pool, "checkout", lambda *args: checkouts.append(args))
    answer = client.get("/clients/C1")
    assert answer.status_code == 200 and "Ann Lee" in answer.text
    assert len(checkouts) == 3
