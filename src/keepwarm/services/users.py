"""People who sign in: users with roles, argon2id passwords, server-side sessions, API tokens
and sign-in throttling. Everything the web app and `keepwarm user` need, and nothing web-shaped.

Secrets (session and API tokens) are random and shown once; the database keeps only their
SHA-256, so a copy of the database does not hand out live sessions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Row,
    Select,
    delete,
    func,
    insert,
    select,
    update,
)
from zxcvbn import zxcvbn

from keepwarm.domain.errors import InvalidInput, NotFound, SignInFailed
from keepwarm.domain.model import Role, User
from keepwarm.logs import printable
from keepwarm.services import audit
from keepwarm.store import reading, writing
from keepwarm.store.tables import api_tokens, login_failures, sessions, staff, users

log = logging.getLogger(__name__)
HASHER = PasswordHasher()  # argon2id with argon2-cffi's current recommended parameters
MIN_PASSWORD_LENGTH = 10
IDLE_TIMEOUT = dt.timedelta(hours=12)
ABSOLUTE_TIMEOUT = dt.timedelta(days=14)
SEEN_EVERY = dt.timedelta(minutes=5)  # how often a session's last-seen time is written
THROTTLE_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
# Verified when an email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = HASHER.hash("not a password anyone uses")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(f"email: {exc}") from None


def check_password(password: str, email: str = "") -> None:
    """Refuse short and guessable passwords (common ones, names, keyboard walks) with a reason."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password: use at least {MIN_PASSWORD_LENGTH} characters")
    verdict = zxcvbn(password[:100], user_inputs=[email, "keepwarm"])
    if verdict["score"] < 3:
        hint = verdict["feedback"].get("warning") or "it is too easy to guess"
        raise InvalidInput(f"password: {hint.rstrip('.')}; try a few unrelated words")


def _user(row: Row[Any]) -> User:
    return User(
        row.id,
        row.email,
        Role(row.role),
        row.staff_name,
        bool(row.active),
    )


def _user_select() -> Select[Any]:
    return select(users, staff.c.name.label("staff_name")).outerjoin(
        staff, staff.c.id == users.c.staff_id
    )


def _staff_id(conn: Connection, name: str | None) -> int | None:
    if not name:
        return None
    found: int | None = conn.execute(select(staff.c.id).where(staff.c.name == name)).scalar()
    if found is None:
        raise NotFound(f"no member of staff called {name!r} (see `keepwarm staff list`)")
    return found


def _check_link(role: Role, staff_id: int | None) -> None:
    """A staff user works a list, so they are linked to the member of staff whose list it is."""
    if role is Role.STAFF and staff_id is None:
        raise InvalidInput(
            "staff member: a user with the staff role needs the member of staff whose list "
            "they work (add them under Settings → Staff or `keepwarm staff add` first)"
        )


def user_count(engine: Engine) -> int:
    with reading(engine) as conn:
        return conn.execute(select(func.count()).select_from(users)).scalar_one()


def list_users(engine: Engine) -> list[User]:
    with reading(engine) as conn:
        return [_user(r) for r in conn.execute(_user_select().order_by(users.c.email))]


def get_user(engine: Engine, user_id: int) -> User:
    with reading(engine) as conn:
        row = conn.execute(_user_select().where(users.c.id == user_id)).first()
    if row is None:
        raise NotFound(f"no user {user_id}")
    return _user(row)


def add_user(
    engine: Engine,
    email: str,
    password: str,
    role: Role | str,
    *,
    staff_name: str | None = None,
    now: dt.datetime,
    first_owner: bool = False,
    actor: str = "command line",
) -> User:
    """A new user; a staff user names their member of staff (`staff_name`). With
    `first_owner`, only while no user exists yet (the first-run setup), checked in the same
    transaction so two setups at once cannot both succeed."""
    address = normalise_email(email)
    check_password(password, address)
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput(f"role: choose owner or staff, not {role!r}") from None
    hashed = HASHER.hash(password)
    with writing(engine) as conn:
        if first_owner and conn.execute(select(func.count()).select_from(users)).scalar_one():
            raise InvalidInput("keepwarm is already set up: sign in instead")
        if conn.execute(select(users.c.id).where(users.c.email == address)).first():
            raise InvalidInput(f"email: a user with {address} already exists")
        staff_id = _staff_id(conn, staff_name)
        _check_link(role, staff_id)
        new_id = conn.execute(
            insert(users).values(
                email=address,
                password_hash=hashed,
                role=role.value,
                staff_id=staff_id,
                active=True,
                created_at=now,
                password_changed_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        audit.record(
            conn,
            actor=address if first_owner else actor,
            action="user",
            now=now,
            subject=address,
            details={"change": "added", "role": role.value, "staff": staff_name or ""},
        )
        return _user(conn.execute(_user_select().where(users.c.id == new_id)).one())


def update_user(
    engine: Engine,
    user_id: int,
    *,
    role: Role | str | None = None,
    staff_name: str | None = None,
    active: bool | None = None,
    actor: str = "command line",
    now: dt.datetime | None = None,
) -> User:
    """Change a user's role, staff member or whether they may sign in; disabling revokes every
    session and token at once. The last active owner cannot be demoted or disabled, and a staff
    user keeps a member of staff."""
    with writing(engine) as conn:
        row = conn.execute(_user_select().where(users.c.id == user_id)).first()
        if row is None:
            raise NotFound(f"no user {user_id}")
        values: dict[str, object] = {}
        new_role = Role(row.role)
        if role is not None:
            try:
                new_role = Role(role)
            except ValueError:
                raise InvalidInput(f"role: choose owner or staff, not {role!r}") from None
            values["role"] = new_role.value
        staff_id = row.staff_id if staff_name is None else _staff_id(conn, staff_name or None)
        if staff_name is not None:
            values["staff_id"] = staff_id
        _check_link(new_role, staff_id)
        if active is not None:
            values["active"] = active
        losing_owner = row.role == "owner" and (
            values.get("role", "owner") != "owner" or values.get("active", True) is False
        )
        if losing_owner:
            owners = conn.execute(
                select(func.count())
                .select_from(users)
                .where(users.c.role == "owner", users.c.active.is_(True))
            ).scalar_one()
            if owners <= 1:
                raise InvalidInput("keep at least one active owner")
        if values:
            conn.execute(update(users).where(users.c.id == user_id).values(**values))
            before = {"role": row.role, "staff_id": row.staff_id, "active": bool(row.active)}
            changed = {k: {"old": before[k], "new": v} for k, v in values.items() if before[k] != v}
            if "staff_id" in changed:
                changed["staff"] = {"old": row.staff_name, "new": staff_name or None}
                del changed["staff_id"]
            if changed:
                audit.record(
                    conn,
                    actor=actor,
                    action="user",
                    now=now or dt.datetime.now(dt.UTC),
                    subject=row.email,
                    details={"change": "changed", **changed},
                )
        if active is False:
            _revoke_everything(conn, user_id)
        return _user(conn.execute(_user_select().where(users.c.id == user_id)).one())


def _revoke_everything(conn: Connection, user_id: int) -> None:
    conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
    conn.execute(
        update(api_tokens)
        .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


def _failures(conn: Connection, column: Column[Any], value: str, since: dt.datetime) -> int:
    return conn.execute(
        select(func.count())
        .select_from(login_failures)
        .where(column == value, login_failures.c.at > since)
    ).scalar_one()


def _serialise_attempts(conn: Connection, account: str, ip: str) -> None:
    """Make concurrent sign-in attempts for one account or one address wait for each other
    until this transaction ends. SQLite needs nothing more: every write transaction starts
    with BEGIN IMMEDIATE, so writers already take turns. PostgreSQL takes transaction-level
    advisory locks on hashes of the address and the account, always in that order (no
    deadlock between two attempts)."""
    if conn.dialect.name != "postgresql":
        return
    for key in (f"keepwarm sign-in ip {ip}", f"keepwarm sign-in account {account}"):
        lock = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        conn.execute(select(func.pg_advisory_xact_lock(lock)))


def _throttled(conn: Connection, account: str, ip: str, now: dt.datetime) -> bool:
    since = now - THROTTLE_WINDOW
    by_account = _failures(conn, login_failures.c.email, account, since)
    by_address = _failures(conn, login_failures.c.ip, ip, since)
    return by_account >= MAX_FAILURES_PER_ACCOUNT or by_address >= MAX_FAILURES_PER_ADDRESS


def _refuse_throttled() -> SignInFailed:
    minutes = int(THROTTLE_WINDOW.total_seconds() // 60)
    return SignInFailed(f"too many failed attempts: try again in {minutes} minutes")


def claim_attempt(engine: Engine, account: str, ip: str, *, now: dt.datetime) -> int:
    """Count the recent failures and record this attempt as one, in one write transaction
    that concurrent attempts for the account or the address wait for: raises SignInFailed
    while throttled, else returns the id of the provisional failure (kept if the attempt
    fails, removed by clear_attempts when it succeeds). So attempts in flight count too, and
    no burst of parallel requests gets more than the limit checked."""
    account, ip = account[:320], ip[:64]
    with writing(engine) as conn:
        _serialise_attempts(conn, account, ip)
        if _throttled(conn, account, ip, now):
            log.warning(
                "refused an attempt for %s from %s: too many failed attempts (throttled)",
                printable(account),
                ip,
                extra={"user": printable(account), "ip": ip, "refusal": "throttled"},
            )
            raise _refuse_throttled()
        conn.execute(delete(login_failures).where(login_failures.c.at < now - dt.timedelta(1)))
        failure_id: int = conn.execute(
            insert(login_failures)
            .values(email=account, ip=ip, at=now)
            .returning(login_failures.c.id)
        ).scalar_one()
        return failure_id


def forgive_attempt(engine: Engine, attempt_id: int) -> None:
    """Drop a provisional failure recorded by claim_attempt: the attempt turned out right."""
    with writing(engine) as conn:
        conn.execute(delete(login_failures).where(login_failures.c.id == attempt_id))


def authenticate(engine: Engine, email: str, password: str, *, ip: str, now: dt.datetime) -> User:
    """The user for these credentials. Raises SignInFailed for a wrong pair, a disabled user,
    or too many recent failures for the account or the address (then even the right password
    waits until the window has passed).

    The attempt is recorded as a failure before the password is verified (claim_attempt,
    serialised per account and address), and the record is dropped only when it succeeds:
    parallel requests cannot all be checked against the same count. The password's argon2
    verification runs outside that write transaction, so no lock is held while it runs."""
    address = email.strip().lower()[:320]
    claim_attempt(engine, address, ip, now=now)
    with reading(engine) as conn:
        row = conn.execute(_user_select().where(users.c.email == address)).first()
    try:
        HASHER.verify(row.password_hash if row else _DUMMY_HASH, password)
        ok = row is not None and bool(row.active)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None:  # ok is False whenever row is None
        why = "no such user" if row is None else "wrong password" if row.active else "disabled"
        log.warning(
            "sign-in failed for %s from %s: %s",
            printable(address),
            ip,
            why,
            extra={"user": printable(address), "ip": ip, "outcome": "failed", "reason": why},
        )
        with writing(engine) as conn:  # the email tried, never the password
            audit.record(
                conn,
                actor=address,
                action="sign-in-failed",
                now=now,
                details={"ip": ip, "why": why},
            )
        raise SignInFailed("wrong email or password")  # the provisional failure stays
    with writing(engine) as conn:
        conn.execute(delete(login_failures).where(login_failures.c.email == address))
        audit.record(conn, actor=address, action="sign-in", now=now, details={"ip": ip})
        if HASHER.check_needs_rehash(row.password_hash):
            rehashed = HASHER.hash(password)
            conn.execute(update(users).where(users.c.id == row.id).values(password_hash=rehashed))
    log.info(
        "signed in: %s from %s",
        address,
        ip,
        extra={"user": address, "ip": ip, "outcome": "signed in"},
    )
    return _user(row)


def change_password(
    engine: Engine, user_id: int, current: str, new: str, *, now: dt.datetime
) -> None:
    """Change a password (the current one required); every session and API token of the
    user ends."""
    with reading(engine) as conn:
        row = conn.execute(select(users).where(users.c.id == user_id)).first()
    if row is None:
        raise NotFound(f"no user {user_id}")
    try:
        HASHER.verify(row.password_hash, current)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise InvalidInput("current password: that is not your current password") from None
    set_password(engine, user_id, new, now=now, how="changed by the user")


def set_password(
    engine: Engine,
    user_id: int,
    new: str,
    *,
    now: dt.datetime,
    actor: str | None = None,
    how: str = "set by the owner",
) -> None:
    """Set a password (owner's reset or the CLI); every session and API token of the user
    ends. The audit log says who (`actor`, default: the user) and `how` — never the
    password."""
    with reading(engine) as conn:
        email = conn.execute(select(users.c.email).where(users.c.id == user_id)).scalar()
    if email is None:
        raise NotFound(f"no user {user_id}")
    check_password(new, email)
    hashed = HASHER.hash(new)
    with writing(engine) as conn:
        conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(password_hash=hashed, password_changed_at=now)
        )
        # A new password is a fresh start: every session and API token of the user ends
        # (tokens made before may have been made by whoever knew the old password).
        _revoke_everything(conn, user_id)
        details = {"change": f"password {how}"}
        audit.record(
            conn, actor=actor or email, action="user", now=now, subject=email, details=details
        )


def user_by_email(engine: Engine, email: str) -> User:
    with reading(engine) as conn:
        row = conn.execute(_user_select().where(users.c.email == email.strip().lower())).first()
    if row is None:
        raise NotFound(f"no user with email {email!r} (see `keepwarm user list`)")
    return _user(row)


# --- sessions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


def start_session(engine: Engine, user: User, *, now: dt.datetime, old: str | None = None) -> str:
    """A new session for `user` (the old one, if any, ends: rotated on sign-in); returns the
    token for the cookie."""
    token = secrets.token_urlsafe(32)
    with writing(engine) as conn:
        if old:
            conn.execute(delete(sessions).where(sessions.c.token_hash == _digest(old)))
        conn.execute(
            insert(sessions).values(
                token_hash=_digest(token),
                user_id=user.id,
                csrf=secrets.token_urlsafe(32),
                created_at=now,
                seen_at=now,
            )
        )
    return token


def session_for(engine: Engine, token: str, *, now: dt.datetime) -> Session | None:
    """The live session for a cookie's token, or None (unknown, expired, or user disabled)."""
    digest = _digest(token)
    with reading(engine) as conn:
        row = conn.execute(
            _user_select()
            .add_columns(sessions.c.csrf, sessions.c.created_at.label("session_created"))
            .add_columns(sessions.c.seen_at)
            .join(sessions, sessions.c.user_id == users.c.id)
            .where(sessions.c.token_hash == digest, users.c.active.is_(True))
        ).first()
    if row is None:
        return None
    created, seen = _aware(row.session_created), _aware(row.seen_at)
    if now - seen > IDLE_TIMEOUT or now - created > ABSOLUTE_TIMEOUT:
        end_session(engine, token)
        return None
    if now - seen > SEEN_EVERY:
        with writing(engine) as conn:
            conn.execute(
                update(sessions).where(sessions.c.token_hash == digest).values(seen_at=now)
            )
    return Session(_user(row), row.csrf)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def end_session(engine: Engine, token: str) -> None:
    with writing(engine) as conn:
        conn.execute(delete(sessions).where(sessions.c.token_hash == _digest(token)))


# --- API tokens -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiToken:
    id: int
    name: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def create_token(
    engine: Engine, user_id: int, name: str, *, now: dt.datetime, actor: str | None = None
) -> str:
    """A new API token for the user; the only time the token itself is seen. `actor`: who made
    it, for the audit log (default: the user themselves)."""
    name = name.strip() or "API token"
    token = "kw_" + secrets.token_urlsafe(32)
    with writing(engine) as conn:
        conn.execute(
            insert(api_tokens).values(
                user_id=user_id, token_hash=_digest(token), name=name[:200], created_at=now
            )
        )
        _audit_token(conn, user_id, "token made", name[:200], now, actor)
    return token


def _audit_token(
    conn: Connection,
    user_id: int,
    change: str,
    name: str,
    now: dt.datetime,
    actor: str | None = None,
) -> None:
    # the token's name, never the token itself
    email = conn.execute(select(users.c.email).where(users.c.id == user_id)).scalar_one()
    details = {"change": change, "token": name}
    who = actor or email
    audit.record(conn, actor=who, action="user", now=now, subject=email, details=details)


def list_tokens(engine: Engine, user_id: int) -> list[ApiToken]:
    with reading(engine) as conn:
        rows = conn.execute(
            select(api_tokens).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.id)
        )
        return [ApiToken(r.id, r.name, r.created_at, r.revoked_at) for r in rows]


def revoke_token(engine: Engine, user_id: int, token_id: int, *, now: dt.datetime) -> None:
    with writing(engine) as conn:
        done = conn.execute(
            update(api_tokens)
            .where(
                api_tokens.c.id == token_id,
                api_tokens.c.user_id == user_id,
                api_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        ).rowcount
        if done:
            name = conn.execute(
                select(api_tokens.c.name).where(api_tokens.c.id == token_id)
            ).scalar_one()
            _audit_token(conn, user_id, "token revoked", name, now)
    if not done:
        raise NotFound(f"no live API token {token_id} of yours")


def user_for_token(engine: Engine, token: str) -> User | None:
    with reading(engine) as conn:
        row = conn.execute(
            _user_select()
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(
                api_tokens.c.token_hash == _digest(token),
                api_tokens.c.revoked_at.is_(None),
                users.c.active.is_(True),
            )
        ).first()
    return _user(row) if row else None
