"""`keepwarm campaign ...`: create a campaign from a starting point, preview its audience,
send its waves, list and show campaigns (and their results: `keepwarm campaign results`)."""

from __future__ import annotations

import typer

campaign_app = typer.Typer(
    help="Campaigns: win-back, holiday cards, welcome series, with a holdout.\n\n"
    "Example: keepwarm campaign create --from win-back spring-winback --wave 2027-02-01",
    no_args_is_help=True,
)


# `keepwarm campaign results` lives with the attribution code (keepwarm.cli.campaign_results).
from keepwarm.cli.campaign_results import results_command  # noqa: E402

campaign_app.command("results")(results_command)
