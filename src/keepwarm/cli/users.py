"""`keepwarm user` (who may sign in to the web app) and `keepwarm serve` (run it)."""

from __future__ import annotations

import errno
import os
import secrets
import socket
import sys
from typing import Annotated

import typer

from keepwarm.cli.common import (
    DbOption,
    console,
    engine_for,
    fail,
    now,
    settings_for,
    user_errors,
)
from keepwarm.services import users as service
from keepwarm.services.morning import set_morning_email

user_app = typer.Typer(
    help="People who sign in to the web app: the owner and staff.\n\n"
    "Example: keepwarm user add owner@example.com --role owner",
    no_args_is_help=True,
)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)  # type: ignore[no-any-return]


@user_app.command("add")
def add(
    email: Annotated[str, typer.Argument(help="Their email: what they sign in with.")],
    role: Annotated[str, typer.Option(help="owner (everything) or staff (their lists).")] = "staff",
    staff: Annotated[
        str | None, typer.Option(help="The member of staff whose list they see.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Add a user who can sign in (asks for the password twice).

    Example: keepwarm user add dana@example.com --role staff --staff "Dana Reyes"
    """
    if role == "staff" and not (staff or "").strip():  # before asking for the password
        raise fail(
            "--staff: a user with the staff role needs the member of staff whose list they "
            'work, e.g. --staff "Dana Reyes" (see `keepwarm staff list`)'
        )
    with user_errors(), engine_for(db) as (_, engine):
        user = service.add_user(
            engine, email, _password(password_stdin), role, staff_name=staff, now=now()
        )
    console.print(f"Added {user.email} ({user.role.value}).", markup=False)


@user_app.command("list")
def list_users(db: DbOption = None) -> None:
    """Every user, their role and whether they may sign in.

    Example: keepwarm user list
    """
    with user_errors(), engine_for(db) as (_, engine):
        found = service.list_users(engine)
    if not found:
        console.print("No users yet: add the owner with keepwarm user add EMAIL --role owner.")
    for u in found:
        state = "" if u.active else "  (disabled)"
        console.print(f"{u.email}  {u.role.value}  {u.staff or '-'}{state}", markup=False)


@user_app.command("password")
def password(
    email: Annotated[str, typer.Argument(help="Whose password.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Set a user's password (they are signed out everywhere).

    Example: keepwarm user password dana@example.com
    """
    with user_errors(), engine_for(db) as (_, engine):
        user = service.user_by_email(engine, email)
        service.set_password(
            engine,
            user.id,
            _password(password_stdin),
            now=now(),
            actor="command line",
            how="set on the command line",
        )
    console.print(f"Password set for {user.email}; their sessions have ended.", markup=False)


@user_app.command("disable")
def disable(
    email: Annotated[str, typer.Argument(help="Who may no longer sign in.")],
    db: DbOption = None,
) -> None:
    """Stop a user signing in; their sessions and API tokens end at once.

    Example: keepwarm user disable former@example.com
    """
    with user_errors(), engine_for(db) as (_, engine):
        user = service.user_by_email(engine, email)
        service.update_user(engine, user.id, active=False, now=now())
    console.print(f"{user.email} can no longer sign in.", markup=False)


@user_app.command("morning-email")
def morning_email(
    email: Annotated[str, typer.Argument(help="Whose morning email.")],
    on: Annotated[bool, typer.Option("--on/--off", help="Send it each morning, or stop.")],
    db: DbOption = None,
) -> None:
    """Email the user their list each morning once the day's plan is made (the owner: the
    team's summary). Needs email set up: KEEPWARM_SMTP_URL, KEEPWARM_MAIL_FROM and
    KEEPWARM_BASE_URL (the email links to the list).

    Example: keepwarm user morning-email dana@example.com --on
    """
    with user_errors(), engine_for(db) as (_, engine):
        set_morning_email(engine, email, on)
    said = "gets their list by email each morning" if on else "no longer gets the morning email"
    console.print(f"{email.strip().lower()} {said}.", markup=False)


@user_app.command("token")
def token(
    email: Annotated[str, typer.Argument(help="Whose API token (it acts as them).")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "script",
    db: DbOption = None,
) -> None:
    """Create an API token for scripts; it is shown once (revoke it in Settings).

    Example: keepwarm user token owner@example.com --name "nightly export"
    """
    with user_errors(), engine_for(db) as (_, engine):
        user = service.user_by_email(engine, email)
        secret = service.create_token(engine, user.id, name, now=now(), actor="command line")
    console.print(secret, markup=False, soft_wrap=True)


def _check_port(host: str, port: int) -> None:
    """Fail before anything is printed when the server could not listen: bind the address
    once, as the server will (with SO_REUSEADDR, so a port left in TIME_WAIT by a stopped
    server counts as free), then let it go."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        raise fail(f"cannot listen on {host!r}: not an address of this computer") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise fail(f"port {port} is in use: stop the other program or use --port") from None
            if exc.errno in (errno.EACCES, errno.EPERM):
                raise fail(
                    f"port {port} needs administrator rights: use --port with a number above 1023"
                ) from None
            raise fail(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (only this computer).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    db: DbOption = None,
) -> None:
    """Run the web app (and make each day's plan every morning).

    Example: keepwarm serve --port 8000
    """
    import uvicorn

    _check_port(host, port)
    with user_errors():
        settings = settings_for(db)
        with engine_for(db) as (_, engine):
            first_run = service.user_count(engine) == 0
    code = f"{secrets.randbelow(10**8):08d}" if first_run else None
    # The app is started by name (as any ASGI server would), with its settings in the
    # environment: the CLI and the web app stay separate layers.
    os.environ["KEEPWARM_DATABASE_URL"] = settings.database_url
    if code:
        os.environ["KEEPWARM_SETUP_CODE"] = code
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    console.print(f"keepwarm is running at {url}  (Ctrl+C stops it)", markup=False)
    if code:
        console.print(
            f"No one can sign in yet. Open {url}/setup and enter this one-time code: "
            f"{code[:4]} {code[4:]}",
            markup=False,
            soft_wrap=True,
        )
    uvicorn.run(
        "keepwarm.web.serve:app_from_environment",
        factory=True,
        host=host,
        port=port,
        log_config=None,  # the app configures logging from the settings (keepwarm.logs)
        log_level=None,
        access_log=False,  # the app logs each request itself
    )
