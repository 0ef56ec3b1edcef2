"""Printed cards, letters and labels: batches list who is in them and who is left out, the PDF
has the address block, the text and the signature (accents intact), labels sit on the
published grid, one per address, and touches are recorded once, only on confirmation. On
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from reportlab.lib.units import inch, mm

from conftest import NOW, TODAY
from keepwarm.config import Settings
from keepwarm.domain.errors import InvalidInput, NotAllowed
from keepwarm.domain.model import ImportKind
from keepwarm.messaging import print_pdf as pdf
from keepwarm.services import printing as svc
from keepwarm.services.consent import set_consent
from keepwarm.services.daily_job import run_daily
from keepwarm.services.importing import import_file
from keepwarm.services.staff import add_staff
from keepwarm.services.users import add_user
from keepwarm.store.tables import action_events, actions, clients, print_items, touches
from web_support import PASSWORD

# P1 and P2 share a home (written differently), P3 has no address.
PEOPLE = [
    ("P0", "José Müller", "12 Elm Street, Portland OR 97201"),
    ("P1", "Ann Morris", "3 Oak Lane, Salem OR 97301"),
    ("P2", "Bob Morris", "3 oak lane  salem or 97301"),
    ("P3", "Cy Noaddress", ""),
    ("P4", "Di Nopost", "9 Pine Road, Eugene OR 97401"),
]


def printing_practice(engine: sa.Engine, settings: Settings, folder: Path) -> dict[str, int]:
    """Dana with five clients on her list, every action suggesting a card; returns the
    action ids by client id."""
    add_staff(engine, "Dana Reyes", email=None, daily_capacity=10, now=NOW)
    rows = ["id,name,owner,email,address"]
    visits = ["client_id,date,amount,kind"]
    for i, (ref, name, address) in enumerate(PEOPLE):
        rows.append(f'{ref},{name},Dana Reyes,{ref.lower()}@example.com,"{address}"')
        visits.append(f"{ref},2025-01-0{i + 1},50.00,visit")
    for kind, lines in ((ImportKind.CLIENTS, rows), (ImportKind.ACTIVITIES, visits)):
        path = folder / f"{kind.value}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        assert import_file(engine, settings, kind, path, today=TODAY, now=NOW).ok
    run_daily(engine, settings, day=TODAY, now=NOW)
    with engine.begin() as conn:
        conn.execute(sa.update(actions).values(channel="card"))
        found = conn.execute(
            sa.select(clients.c.external_id, actions.c.id).join(
                clients, clients.c.id == actions.c.client_id
            )
        ).all()
    ids = {ref: action_id for ref, action_id in found}
    assert set(ids) == {p[0] for p in PEOPLE}
    return ids


@pytest.fixture
def practice(engine: sa.Engine, settings: Settings, tmp_path: Path) -> dict[str, int]:
    return printing_practice(engine, settings, tmp_path)


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def _touches(engine: sa.Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        return [
            (r.channel, r.outcome)
            for r in conn.execute(sa.select(touches.c.channel, touches.c.outcome))
        ]


def _status(engine: sa.Engine, action_id: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(sa.select(actions.c.status).where(actions.c.id == action_id)).scalar_one()
        )


def test_a_letters_batch_holds_the_cards_and_lists_who_is_left_out_and_why(  # type: ignore[no-untyped-def]
    engine, practice
) -> None:
    set_consent(engine, "P4", "post", False, actor="Dana Reyes", now=NOW)
    made = svc.make_batch(engine, kind="letters", by=None, day=TODAY, now=NOW)
    assert sorted(i.client for i in made.to_print) == ["P0", "P1", "P2"]
    assert [(i.client, i.state) for i in made.no_address] == [("P3", "no_address")]
    assert [(x.client, x.why) for x in made.left_out] == [
        ("P4", "the client asked not to be contacted this way (24 Nov 2026)")
    ]
    # In the batch: done, waiting for the touch; without an address or refused: still open.
    for ref in ("P0", "P1", "P2"):
        assert _status(engine, practice[ref]) == "done"
    assert _status(engine, practice["P3"]) == "open"
    assert _status(engine, practice["P4"]) == "open"
    assert _touches(engine) == []
    # Making it again adds nobody twice; who is left out is still listed on the page.
    again = svc.make_batch(engine, kind="letters", by=None, day=TODAY, now=NOW)
    assert (again.id, again.items) == (made.id, made.items)
    assert [x.client for x in again.left_out] == ["P4"]
    assert {x.client for x in svc.left_out(engine)} == {"P3", "P4"}


def test_a_do_not_contact_client_is_never_printed(engine, practice) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(
            sa.update(clients).where(clients.c.external_id == "P0").values(do_not_contact=True)
        )
    made = svc.make_batch(engine, kind="letters", by=None, day=TODAY, now=NOW)
    assert "P0" not in {i.client for i in made.items}
    assert ("P0", "the client is marked do not contact") in {
        (x.client, x.why) for x in made.left_out
    }
    assert "Müller" not in _text(svc.render_pdf(engine, made.id))
    with pytest.raises(InvalidInput, match="do not contact"):
        svc.queue_letter(engine, practice["P0"], by=None, day=TODAY, now=NOW)


def test_letters_carry_the_practice_the_address_block_the_text_and_the_signature(  # type: ignore[no-untyped-def]
    engine, practice
) -> None:
    item = svc.queue_letter(
        engine, practice["P0"], body="Dear José,\nthank you.", by=None, day=TODAY, now=NOW
    )
    made = svc.batches(engine)[0]
    assert [i.id for i in made.items] == [item]
    data = svc.render_pdf(engine, made.id, practice="Northside Physio")
    text = _text(data)
    assert "Northside Physio" in text
    assert "José Müller" in text  # the accents survive (DejaVu Sans)
    assert "12 Elm Street" in text and "Portland OR 97201" in text
    assert "Dear José," in text and "thank you." in text
    assert "Dana Reyes, Northside Physio" in text
    assert "24 November 2026" in text
    assert len(PdfReader(io.BytesIO(data)).pages) == 1


def test_the_address_block_sits_in_the_envelope_window(engine, practice) -> None:  # type: ignore[no-untyped-def]
    svc.queue_letter(engine, practice["P0"], by=None, day=TODAY, now=NOW)
    data = svc.render_pdf(engine, svc.batches(engine)[0].id)
    page = PdfReader(io.BytesIO(data)).pages[0]
    height = float(page.mediabox.height)
    assert round(height) == round(11 * inch)  # US policy: US Letter
    found: list[tuple[float, float]] = []

    def visit(text, cm, tm, font, size) -> None:  # type: ignore[no-untyped-def]
        if "José Müller" in text:
            found.append((tm[4], tm[5]))

    page.extract_text(visitor_text=visit)
    [(x, y)] = found
    left, top, _, box_height = pdf.PAGES["letter"].address
    assert x == pytest.approx(left)
    assert height - top - box_height <= y <= height - top


def test_queue_letter_marks_the_action_done_in_the_same_transaction(engine, practice) -> None:  # type: ignore[no-untyped-def]
    item = svc.queue_letter(engine, practice["P1"], by=None, day=TODAY, now=NOW)
    with engine.connect() as conn:
        event = conn.execute(
            sa.select(action_events.c.step, action_events.c.details).where(
                action_events.c.action_id == practice["P1"]
            )
        ).one()
    assert _status(engine, practice["P1"]) == "done"
    assert event.step == "done"
    assert json.loads(event.details) == {"channel": "card", "print_item": item, "queued": True}
    with pytest.raises(InvalidInput, match="already done"):
        svc.queue_letter(engine, practice["P1"], by=None, day=TODAY, now=NOW)
    # A refusal changes nothing: the action stays open, no batch item is written.
    with pytest.raises(InvalidInput, match="no usable address: call instead"):
        svc.queue_letter(engine, practice["P3"], by=None, day=TODAY, now=NOW)
    assert _status(engine, practice["P3"]) == "open"
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(print_items)).scalar() == 1


def test_confirming_records_each_touch_once_and_only_then(engine, practice) -> None:  # type: ignore[no-untyped-def]
    made = svc.make_batch(engine, kind="letters", by=None, day=TODAY, now=NOW)
    assert _touches(engine) == []
    first = made.to_print[0]
    later = NOW + dt.timedelta(days=1)
    assert svc.confirm(engine, made.id, sheets=[first.sheet], by=None, now=later) == 1
    assert _touches(engine) == [("card", "sent")]
    assert svc.batch(engine, made.id).state == "open"  # three sheets still wait
    assert svc.confirm(engine, made.id, by=None, now=later) == 3
    with pytest.raises(InvalidInput, match="confirmed: nothing to confirm"):
        svc.confirm(engine, made.id, by=None, now=later)
    assert _touches(engine) == [("card", "sent")] * 4
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(touches.c.date, touches.c.staff_id.is_not(None), actions.c.touch_id).join(
                actions, actions.c.touch_id == touches.c.id
            )
        ).all()
    assert len(rows) == 4
    assert {r[0] for r in rows} == {TODAY + dt.timedelta(days=1)}  # the day printed
    assert all(r[1] for r in rows)  # by Dana, on her quota
    done = svc.batch(engine, made.id)
    assert done.state == "confirmed"
    assert [i.state for i in done.no_address] == ["no_address"]


def test_one_label_per_address_on_the_published_grid(engine, practice) -> None:  # type: ignore[no-untyped-def]
    svc.make_batch(engine, kind="letters", by=None, day=TODAY, now=NOW)
    labels = svc.make_batch(
        engine, kind="labels", label_format="l7160", by=None, day=TODAY, now=NOW
    )
    assert labels.label_format == "l7160"
    blocks = sorted(i.address.splitlines()[0] for i in labels.items)
    assert blocks == ["Di Nopost", "José Müller", "The Morris household"]
    assert [(i.sheet, i.position) for i in labels.items] == [(1, 1), (1, 2), (1, 3)]
    text = _text(svc.render_pdf(engine, labels.id))
    assert "The Morris household" in text and "José Müller" in text
    assert svc.confirm(engine, labels.id, by=None, now=NOW) == 3
    assert _touches(engine) == []  # a label is not a contact: the letter is


def test_avery_5160_positions_match_the_published_dimensions() -> None:
    fmt = pdf.LABEL_FORMATS["avery5160"]
    assert fmt.per_sheet == 30 and fmt.page == (8.5 * inch, 11 * inch)
    assert fmt.box(1) == pytest.approx((0.1875 * inch, 9.5 * inch, 2.625 * inch, 1 * inch))
    assert fmt.box(2)[0] == pytest.approx((0.1875 + 2.625 + 0.125) * inch)
    x, y, w, _ = fmt.box(30)
    assert x + w == pytest.approx((8.5 - 0.1875) * inch)  # symmetric side margins
    assert y == pytest.approx(0.5 * inch)  # symmetric top and bottom margins


def test_l7160_positions_match_the_published_dimensions() -> None:
    fmt = pdf.LABEL_FORMATS["l7160"]
    assert fmt.per_sheet == 21 and fmt.page == pytest.approx((210 * mm, 297 * mm))
    assert fmt.box(1) == pytest.approx(
        (7.2 * mm, 297 * mm - 15.15 * mm - 38.1 * mm, 63.5 * mm, 38.1 * mm)
    )
    assert fmt.box(3)[0] == pytest.approx((7.2 + 2 * 66.0) * mm)
    _, y, _, _ = fmt.box(21)
    assert y == pytest.approx(15.15 * mm)
    with pytest.raises(ValueError, match="1 to 21"):
        fmt.box(22)


def test_labels_fill_a_second_sheet_past_thirty(tmp_path: Path) -> None:
    fmt = pdf.LABEL_FORMATS["avery5160"]
    labels = [
        pdf.Label(
            f"C{n}", (f"Person {n}", f"{n} Long Street Name Avenue", "Portland"), *divmod(n, 30)
        )
        for n in range(31)
    ]
    labels = [pdf.Label(lb.client, lb.lines, lb.sheet + 1, lb.position + 1) for lb in labels]
    reader = PdfReader(io.BytesIO(pdf.labels_pdf(labels, fmt)))
    assert len(reader.pages) == 2
    assert "Person 30" in (reader.pages[1].extract_text() or "")


def test_a_long_address_is_shrunk_or_wrapped_never_cut() -> None:
    fmt = pdf.LABEL_FORMATS["avery5160"]
    long_line = "Apartment 1234, The Very Long Building Name of the Northern Quarter"
    data = pdf.labels_pdf([pdf.Label("C1", ("Ann Lee", long_line, "Portland"), 1, 1)], fmt)
    text = _text(data).replace("\n", " ")
    assert long_line in text
    too_long = tuple(f"line {n}" for n in range(40))
    with pytest.raises(pdf.DoesNotFit, match="client C2"):
        pdf.labels_pdf([pdf.Label("C2", too_long, 1, 1)], fmt)


def test_cancelling_a_batch_puts_its_actions_back_on_the_list(engine, practice) -> None:  # type: ignore[no-untyped-def]
    made = svc.make_batch(engine, kind="letters", by=None, day=TODAY, now=NOW)
    svc.confirm(engine, made.id, sheets=[made.to_print[0].sheet], by=None, now=NOW)
    assert svc.cancel_batch(engine, made.id, by=None, now=NOW) == 3
    states = {i.client: i.state for i in svc.batch(engine, made.id).items}
    assert sorted(states.values()) == ["printed"] + ["skipped"] * 4
    back = [ref for ref in ("P0", "P1", "P2", "P4") if _status(engine, practice[ref]) == "open"]
    assert len(back) == 3
    assert len(_touches(engine)) == 1
    with pytest.raises(InvalidInput, match="cancelled"):
        svc.confirm(engine, made.id, by=None, now=NOW)


def test_staff_see_and_print_only_their_own_batches(engine, practice) -> None:  # type: ignore[no-untyped-def]
    add_staff(engine, "Sam", email=None, now=NOW)
    dana = add_user(engine, "dana@example.com", PASSWORD, "staff", staff_name="Dana Reyes", now=NOW)
    sam = add_user(engine, "sam@example.com", PASSWORD, "staff", staff_name="Sam", now=NOW)
    made = svc.make_batch(engine, kind="letters", by=dana, day=TODAY, now=NOW)
    assert made.staff == "Dana Reyes"
    assert svc.batches(engine, by=sam) == []
    with pytest.raises(NotAllowed):
        svc.render_pdf(engine, made.id, by=sam)
    with pytest.raises(NotAllowed):
        svc.confirm(engine, made.id, by=sam, now=NOW)
    assert [b.id for b in svc.batches(engine, by=dana)] == [made.id]


def test_the_cli_prints_lists_confirms_and_cancels(cli, engine, practice, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "today.pdf"
    result = cli("print", "--labels", "avery5160", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "José Müller" in _text(out.read_bytes())
    labels = tmp_path / "today-labels.pdf"
    assert "The Morris household" in _text(labels.read_bytes())
    assert "P3 Cy Noaddress: no usable address" in result.output
    listed = cli("print", "list")
    assert listed.exit_code == 0
    assert "letters" in listed.output and "labels (avery5160)" in listed.output
    letters_id = svc.batches(engine, states=("open",))[-1].id
    confirmed = cli("print", "confirm", str(letters_id), "--sheet", "1")
    assert confirmed.exit_code == 0, confirmed.output
    assert "1 confirmed printed" in confirmed.output
    assert len(_touches(engine)) == 1
    again = cli("print", "confirm", str(letters_id), "--sheet", "1")
    assert again.exit_code == 1 and "nothing waiting" in again.output
    cancelled = cli("print", "cancel", str(letters_id))
    assert cancelled.exit_code == 0 and "3 back on the list" in cancelled.output
    missing = cli("print", "--labels", "nope")
    assert missing.exit_code != 0 and "avery5160" in missing.output


def test_print_prints_a_letter_waiting_in_a_members_batch_with_nothing_on_the_list(  # type: ignore[no-untyped-def]
    cli, engine, practice, tmp_path, monkeypatch
) -> None:
    svc.queue_letter(engine, practice["P1"], by=None, day=TODAY, now=NOW)  # send --channel letter
    with engine.begin() as conn:  # nothing else on the list suggests a card
        conn.execute(sa.update(actions).where(actions.c.status == "open").values(channel="call"))
    [waiting] = svc.waiting_letters(engine)
    assert waiting.staff == "Dana Reyes"
    monkeypatch.chdir(tmp_path)
    result = cli("print")
    assert result.exit_code == 0, result.output
    assert f"Batch {waiting.id}: letters for Dana Reyes" in result.output
    assert "Ann Morris" in _text((tmp_path / f"letters-{waiting.id}.pdf").read_bytes())
    assert f"keepwarm print confirm {waiting.id}" in result.output
    assert cli("print", "confirm", str(waiting.id)).exit_code == 0
    assert _touches(engine) == [("card", "sent")]
    again = cli("print")  # nothing waits now, nothing on the list
    assert again.exit_code == 1 and "nothing to print" in again.output


def test_print_makes_the_lists_batch_and_prints_every_batch_waiting_with_labels_for_all(  # type: ignore[no-untyped-def]
    cli, engine, practice, tmp_path
) -> None:
    svc.queue_letter(engine, practice["P1"], by=None, day=TODAY, now=NOW)
    [dana] = svc.waiting_letters(engine)
    out = tmp_path / "today.pdf"
    result = cli("print", "--labels", "avery5160", "--out", str(out))
    assert result.exit_code == 0, result.output
    made = next(b for b in svc.waiting_letters(engine) if b.id != dana.id)
    assert made.staff is None  # the list's batch, the practice's
    assert "José Müller" in _text(out.read_bytes()) and "Ann Morris" not in _text(out.read_bytes())
    assert "Ann Morris" in _text((tmp_path / f"today-{dana.id}.pdf").read_bytes())
    labels = _text((tmp_path / "today-labels.pdf").read_bytes())
    assert "The Morris household" in labels  # Ann (Dana's batch) and Bob (the list's): one label
    for batch_id in (made.id, dana.id):
        assert f"keepwarm print confirm {batch_id}" in result.output


def test_print_pdf_writes_an_existing_batchs_pdf_again(cli, engine, practice, tmp_path) -> None:  # type: ignore[no-untyped-def]
    made = svc.make_batch(engine, kind="letters", by=None, day=TODAY, now=NOW)
    out = tmp_path / "again.pdf"
    result = cli("print", "pdf", str(made.id), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "José Müller" in _text(out.read_bytes()) and str(out) in result.output
    missing = cli("print", "pdf", "999", "--out", str(out))
    assert missing.exit_code == 1 and "no print batch 999" in missing.output
    assert cli("print", "pdf").exit_code != 0  # the batch's number is needed


def test_the_print_page_lists_downloads_and_confirms_for_its_owner_only(  # type: ignore[no-untyped-def]
    web, engine, practice
) -> None:
    set_consent(engine, "P4", "post", False, actor="Dana Reyes", now=NOW)
    owner = web()
    assert owner.get("/print").status_code == 200
    made = owner.post("/print/letters", {})
    assert made.status_code == 303 and made.headers["location"].startswith("/print?note=made")
    [batch] = svc.batches(engine)
    page = owner.get("/print").text
    assert "José Müller" in page and "Cy Noaddress</a>: no usable address" in page
    assert "Di Nopost</a>: the client asked not to be contacted this way" in page
    assert f'href="/print/{batch.id}.pdf"' in page
    download = owner.get(f"/print/{batch.id}.pdf")
    assert download.headers["content-type"] == "application/pdf"
    assert "attachment" in download.headers["content-disposition"]
    assert "José Müller" in _text(download.content)
    assert _touches(engine) == []  # downloading records nothing
    twin = owner.get("/print.json").json()
    assert [b["id"] for b in twin["batches"]] == [batch.id]
    assert [x["client"] for x in twin["left_out"]] == ["P4"]  # P3: under the batch
    assert [i["state"] for i in twin["batches"][0]["items"]].count("no_address") == 1

    sam = web("sam@example.com", role="staff", staff="Sam")
    assert f"batch {batch.id}" not in sam.get("/print").text
    assert sam.get(f"/print/{batch.id}.pdf").status_code == 403
    assert sam.post(f"/print/{batch.id}/confirm", {}).status_code == 403
    assert _touches(engine) == []

    sheet = owner.post(f"/print/{batch.id}/confirm", {"sheet": str(batch.to_print[0].sheet)})
    assert sheet.status_code == 303
    assert len(_touches(engine)) == 1
    labels = owner.post("/print/labels", {"letters": str(batch.id), "label_format": "l7160"})
    assert labels.status_code == 303
    assert [b.kind for b in svc.batches(engine)] == ["labels", "letters"]


def test_a_today_card_adds_its_letter_to_the_print_batch(web, engine, practice) -> None:  # type: ignore[no-untyped-def]
    dana = web("dana@example.com", role="staff", staff="Dana Reyes")
    today = dana.get("/today").text
    assert f'action="/actions/{practice["P0"]}/print-batch"' in today
    added = dana.post(f"/actions/{practice['P0']}/print-batch", {})
    assert added.status_code == 303 and added.headers["location"] == "/print?note=queued"
    assert _status(engine, practice["P0"]) == "done"
    [batch] = svc.batches(engine, by=None)
    assert batch.staff == "Dana Reyes" and [i.client for i in batch.items] == ["P0"]
    refused = dana.post(f"/actions/{practice['P3']}/print-batch", {})
    assert refused.status_code == 400 and "no usable address" in refused.text


def test_two_confirmations_at_once_record_each_touch_once(engine, practice) -> None:  # type: ignore[no-untyped-def]
    import threading

    made = svc.make_batch(engine, kind="letters", by=None, day=TODAY, now=NOW)
    start = threading.Barrier(2)
    counts: list[int] = []
    refused: list[str] = []

    def confirm() -> None:
        start.wait()
        try:
            counts.append(svc.confirm(engine, made.id, by=None, now=NOW))
        except InvalidInput as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == len(made.to_print) == 4
    assert len(counts) + len(refused) == 2
    assert len(_touches(engine)) == 4


def test_two_batches_made_at_once_print_each_letter_once(engine, practice) -> None:  # type: ignore[no-untyped-def]
    import threading

    start = threading.Barrier(2)
    errors: list[Exception] = []

    def make() -> None:
        start.wait()
        try:
            svc.make_batch(engine, kind="letters", by=None, day=TODAY, now=NOW)
        except InvalidInput as exc:  # the other took every letter
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        printed = (
            conn.execute(sa.select(print_items.c.action_id).where(print_items.c.state == "pending"))
            .scalars()
            .all()
        )
    assert sorted(printed) == sorted(practice[ref] for ref in ("P0", "P1", "P2", "P4"))


def test_a_letter_whose_done_was_undone_is_skipped_not_touched(engine, practice) -> None:  # type: ignore[no-untyped-def]
    from keepwarm.services.actions import undo

    svc.queue_letter(engine, practice["P0"], by=None, day=TODAY, now=NOW)
    assert undo(engine, practice["P0"], by=None, now=NOW) == "done"
    [batch] = svc.batches(engine)
    assert svc.confirm(engine, batch.id, by=None, now=NOW) == 0
    assert _touches(engine) == []
    assert [i.state for i in svc.batch(engine, batch.id).items] == ["skipped"]
    assert _status(engine, practice["P0"]) == "open"
