"""Who is asking: server-side sessions from the cookie, API tokens from the Authorization
header, CSRF on every form, and the role checks every route declares.

`clock()` is the web app's one source of time (tests replace it: the only thing mocked).
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from keepwarm.domain.errors import NotAllowed
from keepwarm.domain.model import User
from keepwarm.logs import loggable_path
from keepwarm.services.daily_job import local_today
from keepwarm.services.policy import get_policy
from keepwarm.services.users import Session, session_for, user_for_token

SESSION_COOKIE = "kw_session"
PRE_COOKIE = "kw_pre"  # the CSRF token of forms shown before signing in (sign-in, setup)

log = logging.getLogger(__name__)


def clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LoginRequired(Exception):
    """No live session: pages redirect to the sign-in page, the API answers 401."""


class CsrfFailed(Exception):
    """A form without the session's CSRF token (forged, or open since before a sign-in)."""


class ApiUnauthorized(Exception):
    """No valid API token (or session) for an API call."""


def engine_of(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def business_today(request: Request) -> dt.date:
    """Today's date where the business is (the policy's time zone), by the web app's clock."""
    return local_today(get_policy(engine_of(request)), clock())


def current_session(request: Request) -> Session | None:
    if "session" not in request.state._state:
        token = request.cookies.get(SESSION_COOKIE)
        found = session_for(engine_of(request), token, now=clock()) if token else None
        request.state.session = found
    return request.state.session  # type: ignore[no-any-return]


def signed_in(request: Request) -> Session:
    session = current_session(request)
    if session is None:
        raise LoginRequired
    return session


# --- who may do what ---------------------------------------------------------------------------
# The README's "Who may do what" table, enforced here for the pages and the API alike: the
# owner may do everything; staff work their own list, record touches as themselves, see every
# client and change the clients they look after (the client's owner is their member of staff).
# Importing, exporting, adding and deleting clients, and the settings are the owner's.


# A staff user always has a member of staff (users.add_user); an old database may hold one who
# has none: they have no list, and are told why.
NOT_LINKED = (
    "Your account is not linked to a member of staff — ask the owner to choose yours under "
    "Settings → Users, and your list will show here."
)


def only_the_owner(user: User, what: str) -> None:
    """Refuse (403) anyone but the owner, saying what only the owner can do."""
    if not user.is_owner:
        raise NotAllowed(f"only the owner can {what}")


def may_change_client(user: User, looked_after_by: str | None) -> bool:
    """The owner may change any client; staff those they look after."""
    return user.is_owner or (user.staff is not None and looked_after_by == user.staff)


def check_may_change_client(user: User, looked_after_by: str | None) -> None:
    if not may_change_client(user, looked_after_by):
        ask = f" or {looked_after_by}, who looks after this client" if looked_after_by else ""
        raise NotAllowed(f"staff change only the clients they look after: ask the owner{ask}")


def _owner_for(what: str) -> Callable[[Session], Session]:
    def owner(session: Annotated[Session, Depends(signed_in)]) -> Session:
        only_the_owner(session.user, what)
        return session

    return owner


SignedIn = Annotated[Session, Depends(signed_in)]
Owner = Annotated[Session, Depends(_owner_for("open settings"))]
Importer = Annotated[Session, Depends(_owner_for("import files"))]


class Form:
    """A submitted form whose CSRF token has been checked: text fields by name."""

    def __init__(self, data: Mapping[str, object]) -> None:
        self._data = data

    def text(self, name: str, default: str = "") -> str:
        value = self._data.get(name)
        return value.strip() if isinstance(value, str) else default

    def raw(self, name: str) -> object:
        return self._data.get(name)


async def checked_form(request: Request) -> Form:
    """The form of a signed-in user's POST, refused unless it carries their session's token."""
    session = signed_in(request)
    form = await request.form()
    if not _same(form.get("csrf_token"), session.csrf):
        refused(request, "a form without its session's CSRF token")
        raise CsrfFailed
    return Form(form)


async def checked_anonymous_form(request: Request) -> Form:
    """A sign-in or setup form: its token must match the cookie set when it was shown."""
    form = await request.form()
    if not _same(form.get("csrf_token"), request.cookies.get(PRE_COOKIE)):
        refused(request, "a sign-in or setup form without its CSRF token")
        raise CsrfFailed
    return Form(form)


def refused(request: Request, why: str) -> None:
    """Log a refusal: the method and path, who asked (when known) and why, in the rule's own
    words; never the value of a token, cookie or form field."""
    state = request.state._state
    user = state["session"].user if state.get("session") else state.get("api_user")
    who = user.email if user is not None else "someone not signed in"
    path = loggable_path(request.url.path)
    log.warning(
        "refused %s %s to %s: %s",
        request.method,
        path,
        who,
        why,
        extra={"method": request.method, "path": path, "user": who, "refusal": why},
    )


def _same(given: object, expected: str | None) -> bool:
    return (
        isinstance(given, str)
        and bool(expected)
        and hmac.compare_digest(given.encode(), (expected or "").encode())
    )


CheckedForm = Annotated[Form, Depends(checked_form)]
AnonymousForm = Annotated[Form, Depends(checked_anonymous_form)]


def pre_token(request: Request) -> str:
    """The anonymous CSRF token: the cookie's, or a new one (set on the response)."""
    return request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)


def api_user(request: Request) -> User:
    """The API caller: a bearer token (`Authorization: Bearer kw_...`), else a browser session
    (then only for GET: a browser's writes go through the CSRF-checked pages)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        user = user_for_token(engine_of(request), header[7:].strip())
        if user is None:
            refused(request, "an unknown or revoked API token")
            raise ApiUnauthorized
        request.state.api_user = user
        return user
    session = current_session(request)
    if session is None or request.method not in ("GET", "HEAD"):
        refused(request, "no API token" if session is None else "a browser session's write")
        raise ApiUnauthorized
    return session.user


ApiUser = Annotated[User, Depends(api_user)]


def client_ip(request: Request) -> str:
    """The peer's address. Forwarded headers are not believed (anyone can send them); behind
    a reverse proxy every request shares the proxy's address for throttling."""
    return request.client.host if request.client else "unknown"
