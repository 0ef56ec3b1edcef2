"""`keepwarm demo`: build the sample practice and show what it holds."""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path

from rich.table import Table
from rich.text import Text

from keepwarm.cli.common import console, err_console, now, settings_for, today, user_errors
from keepwarm.cli.today import print_listing
from keepwarm.services.daily_job import run_daily
from keepwarm.services.database import open_database
from keepwarm.services.demo import DemoSummary, build_demo
from keepwarm.services.todays_list import listing


def run_demo(db: str, seed: int) -> None:
    """Build the demo practice in `db` (a SQLite path or a database URL) and print a summary
    for a practice owner. Refusals (the target holds real data) are one clear error line."""
    with user_errors():
        settings = settings_for(db)
        with (
            err_console.status("Building the demo practice..."),
            tempfile.TemporaryDirectory(prefix="keepwarm-demo-") as folder,
        ):
            summary = build_demo(
                settings, seed=seed, today=today(), now=now(), workdir=Path(folder)
            )
        engine = open_database(settings)
        try:
            run_daily(engine, settings, day=today(), now=now())
            shown = listing(engine, today())
        finally:
            engine.dispose()
    _print_summary(summary, db)
    console.print("\n[bold]Today's list[/] (what each member of staff sees every morning):")
    print_listing(shown)


def _print_summary(summary: DemoSummary, db: str) -> None:
    s = summary
    console.print(f"[bold]Built a demo practice: {s.practice}[/]")
    console.print(_grid(_facts(s), label_style="bold"))
    console.print()
    files = ", ".join(r.filename for r in s.reports)
    console.print(
        f"It came in the way your own data will: three CSV exports ({files}) imported "
        "with no problems.\n",
        markup=False,
    )
    console.print(_highlight_table(s))
    console.print("\nTry next:")
    # Commands on lines of their own, never cut or wrapped, so they can be copied as they are.
    for command, what in _next_steps(s, db):
        console.print(f"  {command}", markup=False, soft_wrap=True)
        console.print(f"      {what}", style="dim", markup=False, soft_wrap=True)


def _grid(rows: list[tuple[str, str]], *, label_style: str, text_style: str = "") -> Table:
    """Two columns: a long second column wraps under itself, not under the first."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style=label_style, no_wrap=True)
    grid.add_column(style=text_style)
    for label, text in rows:
        grid.add_row(Text("  " + label), Text(text))
    return grid


def _facts(s: DemoSummary) -> list[tuple[str, str]]:
    where = s.location + (" (previous demo replaced)" if s.replaced else "")
    low, high = min(s.weekly_quotas), max(s.weekly_quotas)
    each = str(low) if low == high else f"{low}-{high}"
    staff = ", ".join(m.name for m in s.staff)
    active = s.clients - s.prospects - s.cancelled
    since = f" since {s.first_activity:%d %b %Y}" if s.first_activity else ""
    return [
        ("Database", where),
        ("Staff", f"{staff}: each contacts {each} clients a week"),
        (
            "Clients",
            f"{s.clients:,}: {active:,} active, {s.prospects} prospects, {s.cancelled} cancelled;"
            f" {s.with_recall:,} with a recall date; {s.do_not_contact} not to be contacted",
        ),
        ("History", f"{s.activities:,} visits and purchases{since}"),
        (
            "Contacts",
            f"{s.personal_touches:,} personal (calls, cards, emails, texts) and "
            f"{s.bulk_touches:,} newsletters",
        ),
        *_rhythm_facts(s),
    ]


def _rhythm_facts(s: DemoSummary) -> list[tuple[str, str]]:
    if s.rhythms is None:
        return []
    return [
        (
            "Rhythms",
            f"learned for {s.rhythms.with_history:,} clients; {s.rhythms.needing_attention:,} "
            "have been quiet for longer than usual for them",
        )
    ]


def _highlight_table(s: DemoSummary) -> Table:
    table = Table("Id", "Name", "Owner", "Why", title="A few clients worth a look")
    for h in s.highlights:
        table.add_row(Text(h.client_id), Text(h.name), Text(h.owner or ""), Text(h.why))
    return table


def _next_steps(s: DemoSummary, db: str) -> list[tuple[str, str]]:
    option = f"--db {shlex.quote(db)}"
    first = s.highlights[0] if s.highlights else None
    example = first.client_id if first else "P-1001"
    surname = s.highlights[-1].name.split()[-1] if s.highlights else "smith"
    return [
        (f"keepwarm clients {option}", "all clients, last visits"),
        (f"keepwarm client {example} {option}", "one client's history"),
        (f"keepwarm clients {surname} {option}", "search by name or phone"),
        (f"keepwarm staff list {option}", "staff and weekly quotas"),
        (f"keepwarm serve {option}", "the practice in your browser (prints a one-time setup code)"),
    ]
