"""Generated files never crash the importer and never leave partial data: either the import
succeeded (and a second import of the same file changes nothing), or the database is exactly
as it was. Random bytes, random CSV-ish text, and mutations of valid files (hypothesis)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from conftest import NOW, TODAY, table_snapshot
from keepwarm.config import Settings
from keepwarm.domain.model import ImportKind, ImportReport
from keepwarm.ingest.values import DateOrder
from keepwarm.services.importing import ImportOptions, import_file

# Examples per strategy: every backend gets real fuzzing, SQLite the larger share.
BUDGET = {"sqlite": 100, "postgresql": 40}
VALID = {
    ImportKind.CLIENTS: (
        "id,name,email,phone,birthday,owner,tags,status,do_not_contact,notes\r\n"
        '1,Zoë Müller,zoe@example.com,415 555 0123,1980-05-06,Dana,vip;knee,active,no,"a, b"\r\n'
        "2,Bo Berg,,+44 20 7946 0958,06/05/1981,Eli,,prospect,yes,\r\n"
        "N-3,=Ñúñez,,,,,,,,'@x\r\n"
    ),
    ImportKind.ACTIVITIES: (
        "client_id,date,id,amount,quantity,kind,note\r\n"
        '1,2024-01-05,I-1,"$1,234.50",2,visit,"multi\r\nline"\r\n'
        "2,13/01/2024,,(12.00),,refund,\r\n"
        "1,2024-01-05,,0,,check-up,\r\n"
        "1,2024-01-05,,0,,check-up,\r\n"
    ),
    ImportKind.TOUCHES: (
        "client_id,date,channel,staff,note,outcome\r\n"
        "1,2024-01-06,Phone call,Dana,Asked about her knee,reached\r\n"
        "2,2024-02-01,newsletter,,,\r\n"
    ),
}
ALPHABET = ",;\t|\"'\r\n =+-@0123456789/.:()$€aZéü\x00\x85\u2028\ufeff🦷"
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1")

kinds = st.sampled_from(list(ImportKind))
options = st.builds(
    ImportOptions,
    date_order=st.sampled_from([None, DateOrder.DAY_FIRST, DateOrder.MONTH_FIRST]),
    allow_future=st.booleans(),
    create_missing=st.booleans(),
)


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


random_bytes = st.tuples(kinds, st.binary(max_size=800))


def _text_file(kind: ImportKind, with_header: bool, body: str, encoding: str) -> bytes:
    header = VALID[kind].splitlines(keepends=True)[0] if with_header else ""
    return _encode(header + body, encoding)


random_text = kinds.flatmap(
    lambda kind: st.tuples(
        st.just(kind),
        st.builds(
            _text_file,
            st.just(kind),
            st.booleans(),
            st.text(alphabet=ALPHABET, max_size=400),
            st.sampled_from(ENCODINGS),
        ),
    )
)
edits = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete", "replace", "duplicate line", "cut"]),
        st.floats(min_value=0, max_value=1),
        st.text(alphabet=ALPHABET, min_size=1, max_size=6),
    ),
    max_size=4,
)


def _mutate(kind: ImportKind, changes: list[tuple[str, float, str]], encoding: str) -> bytes:
    text = VALID[kind]
    for op, where, piece in changes:
        at = int(where * len(text))
        if op == "insert":
            text = text[:at] + piece + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + len(piece) :]
        elif op == "replace":
            text = text[:at] + piece + text[at + len(piece) :]
        elif op == "duplicate line":
            lines = text.splitlines(keepends=True) or [""]
            index = min(int(where * len(lines)), len(lines) - 1)
            text = "".join([*lines[: index + 1], lines[index], *lines[index + 1 :]])
        else:
            text = text[:at]
    return _encode(text, encoding)


mutations = kinds.flatmap(
    lambda kind: st.tuples(
        st.just(kind), st.builds(_mutate, st.just(kind), edits, st.sampled_from(ENCODINGS))
    )
)

CHANGED_TABLE = {
    ImportKind.CLIENTS: "clients",
    ImportKind.ACTIVITIES: "activities",
    ImportKind.TOUCHES: "touches",
}


def _check_one(
    engine: sa.Engine,
    settings: Settings,
    path: Path,
    kind: ImportKind,
    content: bytes,
    opts: ImportOptions,
    tally: Counter[str],
) -> None:
    path.write_bytes(content)
    before = table_snapshot(engine)
    report = import_file(engine, settings, kind, path, today=TODAY, now=NOW, options=opts)
    after = table_snapshot(engine)
    tally["files"] += 1
    if not report.ok:
        tally["refused"] += 1
        tally["changed on failure"] += after != before
        assert after == before, report.problems
        _assert_problems_are_readable(report, content)
        return
    tally["imported"] += 1
    if not any(b in content for b in (b"\xef\xbf\xbd", b"\xfd\xff", b"\xff\xfd")):
        assert "\ufffd" not in repr(after)  # undecodable bytes are refused, never replaced
    grew = {table: len(after[table]) - len(before[table]) for table in after}
    assert grew[CHANGED_TABLE[kind]] == report.added + (
        report.new_clients if kind is ImportKind.CLIENTS else 0
    )
    if kind is not ImportKind.CLIENTS:
        assert grew["clients"] == report.new_clients
    assert grew["staff"] == len(report.new_staff)
    again = import_file(engine, settings, kind, path, today=TODAY, now=NOW, options=opts)
    assert again.ok and again.changed == 0, again
    assert table_snapshot(engine) == after


def _assert_problems_are_readable(report: ImportReport, content: bytes) -> None:
    assert report.problems and len(report.problems) <= 50
    assert report.problem_count >= len(report.problems)
    most_lines = content.count(b"\n") + content.count(b"\r") + 2
    for problem in report.problems:
        assert problem.reason
        assert problem.line is None or 1 <= problem.line <= most_lines


def _fuzz(
    strategy: st.SearchStrategy[tuple[ImportKind, bytes]],
    engine: sa.Engine,
    settings: Settings,
    write_csv: Callable[..., Path],
    backend: str,
    label: str,
) -> None:
    seed = write_csv("seed.csv", "id,name\n1,Ann\n2,Bo\n3,Cy\n")
    assert import_file(engine, settings, ImportKind.CLIENTS, seed, today=TODAY, now=NOW).ok
    path = write_csv("fuzz.csv", b"")
    tally: Counter[str] = Counter()

    @hyp_settings(
        max_examples=BUDGET[backend],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=strategy, opts=options)
    def check(case: tuple[ImportKind, bytes], opts: ImportOptions) -> None:
        _check_one(engine, settings, path, case[0], case[1], opts, tally)

    check()
    print(
        f"\nfuzz {label} on {backend}: {tally['files']} files, {tally['imported']} imported, "
        f"{tally['refused']} refused, {tally['changed on failure']} changed the database on failure"
    )
    assert tally["files"] >= BUDGET[backend] // 2
    assert tally["changed on failure"] == 0


def test_random_bytes_never_crash_the_import_or_change_the_database(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path], backend: str
) -> None:
    _fuzz(random_bytes, engine, settings.replace(import_max_field=500), write_csv, backend, "bytes")


def test_random_csv_like_text_never_crashes_the_import_or_half_imports(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path], backend: str
) -> None:
    _fuzz(random_text, engine, settings.replace(import_max_field=500), write_csv, backend, "text")


def test_mutated_valid_files_are_imported_whole_or_not_at_all(
    engine: sa.Engine, settings: Settings, write_csv: Callable[..., Path], backend: str
) -> None:
    _fuzz(mutations, engine, settings, write_csv, backend, "mutations")
