"""`keepwarm feedback send | report`: ask the clients due for it how their visit went now, and
the NPS of the answers (the same numbers as the Reports page and its CSV)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from keepwarm.cli.common import (
    DbOption,
    console,
    engine_for,
    now,
    parse_date_option,
    user_errors,
)
from keepwarm.domain.errors import InvalidInput
from keepwarm.services import feedback as svc
from keepwarm.services.daily_job import local_today
from keepwarm.services.policy import get_policy

feedback_app = typer.Typer(
    help="Ask clients how their last visit went, and read the answers (NPS).\n\n"
    "Example: keepwarm feedback report --format csv",
    no_args_is_help=True,
)


@feedback_app.command("send")
def send(db: DbOption = None) -> None:
    """Queue the feedback requests due today (the daily job does this by itself); each client
    is asked once about a visit and at most once per `feedback_period_days`.

    Example: keepwarm feedback send
    """
    with user_errors(), engine_for(db) as (settings, engine):
        if not svc.ready(settings):
            raise InvalidInput(
                "feedback: set up email (KEEPWARM_SMTP_URL, KEEPWARM_MAIL_FROM) or texts "
                "(KEEPWARM_SMS_URL), and KEEPWARM_BASE_URL for the link"
            )
        at = now()
        queued = svc.send_requests(
            engine, settings, day=local_today(get_policy(engine), at), now=at
        )
    console.print(
        f"Queued {queued} feedback request{'s' if queued != 1 else ''}; "
        "`keepwarm outbox send` delivers them.",
        markup=False,
    )


@feedback_app.command("report")
def report(
    from_: Annotated[
        str | None, typer.Option("--from", help="First day of answers (YYYY-MM-DD).")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last day (YYYY-MM-DD).")] = None,
    format_: Annotated[str, typer.Option("--format", help="text, json or csv.")] = "text",
    db: DbOption = None,
) -> None:
    """NPS (% of 9-10 minus % of 0-6) of the answers, in total, by month and by member of
    staff (the client's owner when asked).

    Example: keepwarm feedback report --from 2026-01-01 --format json
    """
    with user_errors(), engine_for(db) as (_, engine):
        if format_ not in ("text", "json", "csv"):
            raise InvalidInput(f"--format: text, json or csv, not {format_!r}")
        since = parse_date_option(from_, "--from")
        until = parse_date_option(to, "--to")
        result = svc.nps(engine, since=since, until=until)
    if format_ == "json":
        console.print(json.dumps(svc.nps_json(result), indent=2), markup=False)
        return
    if format_ == "csv":
        console.print(svc.nps_csv(result), end="", markup=False)
        return
    for title, lines in (("Total", [result.total]), ("By month", result.by_month)):
        console.print(title, markup=False)
        for x in lines:
            _line(x)
    console.print("By member of staff", markup=False)
    for x in result.by_staff:
        _line(x)


def _line(x: svc.NpsLine) -> None:
    shown = "—" if x.nps is None else f"{x.nps:+d}"
    console.print(
        f"  {x.group}: NPS {shown} from {x.answers} answers ({x.promoters} promoters, "
        f"{x.passives} passives, {x.detractors} detractors)",
        markup=False,
    )
