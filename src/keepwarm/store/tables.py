"""The schema, as SQLAlchemy Core tables. Alembic migrations create exactly these."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    true,
)
from sqlalchemy.types import TypeEngine

from keepwarm.domain.fields import CLIENT_FIELDS, DATE_KINDS, ClientField, ClientStatus, FieldKind

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

staff = Table(
    "staff",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("email", String(320)),
    # NULL: the policy's default (one place decides: keepwarm.domain.quotas).
    Column("weekly_quota", Integer),
    Column("daily_capacity", Integer),
    Column("joined_on", Date),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("weekly_quota >= 0", name="quota_not_negative"),
)


def client_value_type(f: ClientField) -> TypeEngine[Any]:
    """The SQL type of a client field's value as an import reads it (a member of staff by
    name); also the type of its column in the import's staging table."""
    if f.kind in DATE_KINDS:
        return Date()
    if f.kind is FieldKind.FLAG:
        return Boolean()
    if f.kind is FieldKind.STATUS:
        return String(20)
    return String(f.max_length) if f.max_length is not None else Text()


def _client_column(f: ClientField) -> Column[Any]:
    """The `clients` column of a field of the register (keepwarm.domain.fields)."""
    if f.kind is FieldKind.STAFF:
        return Column(f.column, Integer, ForeignKey("staff.id", ondelete="SET NULL"))
    if f.kind is FieldKind.HOUSEHOLD:  # the family or company (migration 0024)
        return Column(f.column, Integer, ForeignKey("households.id", ondelete="SET NULL"))
    defaults: dict[FieldKind, Any] = {
        FieldKind.TAGS: "",
        FieldKind.STATUS: ClientStatus.ACTIVE.value,
        FieldKind.FLAG: false(),
    }
    return Column(
        f.column,
        client_value_type(f),
        nullable=f.optional,
        unique=f.kind is FieldKind.ID or None,
        server_default=defaults.get(f.kind),
    )


_STATUSES = ", ".join(f"'{s.value}'" for s in ClientStatus)

# One column per field of the register, in its order, between the internal id and the times.
clients = Table(
    "clients",
    metadata,
    Column("id", Integer, primary_key=True),
    *(_client_column(f) for f in CLIENT_FIELDS),
    # What the search box matches: name, email and id folded (keepwarm.domain.search); NULL
    # until keepwarm.store.client_search fills it in, in the transaction that wrote the client.
    Column("search_text", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint(f"status IN ({_STATUSES})", name="status_known"),
    Index(None, "owner_id"),
    Index(None, "household_id"),
    Index(None, "status"),
    Index(None, "next_due"),
)
# The Clients list sorts by name, ignoring case (migration 0007).
Index("ix_clients_lower_name", func.lower(clients.c.name), clients.c.id)

activities = Table(
    "activities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    # "id:<the business's id>" when the file has one, else "fp:<fingerprint>": makes re-import
    # idempotent either way.
    Column("key", String(250), nullable=False, unique=True),
    Column("external_id", String(200)),
    Column("date", Date, nullable=False),
    Column("amount_cents", BigInteger),
    Column("quantity", Float),
    Column("kind", String(200)),
    Column("note", Text),
    Index(None, "client_id", "kind", "date"),
)

# Which clients' activities changed (added, edited, moved or deleted) since the rhythm
# engine's activity snapshot was last brought up to date: the database's own triggers write a
# row for every change (migration 0030), whatever path made it, so nothing is missed.
activity_changes = Table(
    "activity_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, nullable=False),
    sqlite_autoincrement=True,
)

# The rhythm engine's packed copy of every activity (client, day, amount, kind), brought up to
# date from `activity_changes` by the daily job instead of reading every activity back each
# morning (keepwarm.services.activity_snapshot). One row per block of clients (by internal id);
# block 0, always there once a copy is stored, carries the `version` that guards two updates.
activity_snapshot = Table(
    "activity_snapshot",
    metadata,
    Column("block", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
    Column("built_at", DateTime(timezone=True), nullable=False),
    Column("activities", Integer, nullable=False),
    Column("payload", LargeBinary, nullable=False),
)

touches = Table(
    "touches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False, unique=True),
    Column("date", Date, nullable=False),
    Column("channel", String(40), nullable=False),
    Column("staff_id", Integer, ForeignKey("staff.id", ondelete="SET NULL")),
    Column("note", Text),
    Column("outcome", String(200)),
    # Personal touches (call, card, visit...) count for cadence and quotas; bulk ones
    # (newsletter, invoice, receipt) never do.
    Column("personal", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(None, "client_id", "date"),
    Index(None, "staff_id", "date"),
)

# A phone or email an import could not use, kept as written (the client's own column stays
# empty): one per client and field, replaced by each import of that column (migration 0015).
contact_flags = Table(
    "contact_flags",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("field", String(40), nullable=False),
    Column("written", Text, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("client_id", "field"),
)

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("filename", String(1000), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("added", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index(None, "sha256"),
)

rhythm_fits = Table(
    "rhythm_fits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Column("model", String(40), nullable=False),
    Column("time_unit", String(20), nullable=False),
    Column("fallback", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    # The whole population fit (parameters, diagnostics, candidates) as JSON text.
    Column("population", Text, nullable=False),
    Column("log_likelihood", Float),
    Column("converged", Boolean, nullable=False),
    Column("clients", Integer, nullable=False),
    Column("holdout", Text),
    # How many activities the fit saw, and the lapse score's calibration learned with it (JSON):
    # the daily job scores with a recent fit until enough has changed (migration 0030).
    Column("activities", BigInteger),
    Column("lapse_calibration", Text),
    Index(None, "as_of"),
)

# One row per client: the rhythm as of the newest computation (replaced each time).
rhythms = Table(
    "rhythms",
    metadata,
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Column("fit_id", Integer, ForeignKey("rhythm_fits.id", ondelete="CASCADE"), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("activities", Integer, nullable=False),
    Column("last_activity", Date),
    Column("days_since_last", Integer),
    Column("usual_gap_days", Float),
    Column("silence_ratio", Float),
    Column("p_alive", Float, nullable=False),
    Column("expected_30", Float, nullable=False),
    Column("expected_90", Float, nullable=False),
    Column("expected_365", Float, nullable=False),
    Column("expected_spend_cents", BigInteger, nullable=False),
    Column("monthly_value_cents", BigInteger, nullable=False),
    Column("at_risk_cents", BigInteger, nullable=False),
    Column("clv_cents", BigInteger, nullable=False),
    # The day from which this client's silence is unusual for them: the daily job only looks
    # at clients whose attention_after has passed.
    Column("attention_after", Date),
    Column("trend_direction", Integer, nullable=False),
    Column("usage_change", Float),
    Column("visits_change", Float),
    Column("spend_change", Float),
    Column("trend_p_value", Float),
    # The score that ranks lapsing clients (see keepwarm.rhythm.score); NULL before it is learned.
    Column("lapse_risk", Float),
    Index(None, "attention_after"),
)

# Where the value tiers and RFM quintiles of the stored rhythms split (one row, id 1: JSON of
# keepwarm.domain.segments.StandingCuts), written with the rhythms and again whenever a client's
# deletion removes one, so a client's standing is a few comparisons instead of a scan.
standing_cuts = Table(
    "standing_cuts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("cuts", Text, nullable=False),
)

# Each member's weekly quota in force from `since` on (their own, else the policy default then),
# so past weeks are judged against the quota of that week.
staff_quota_history = Table(
    "staff_quota_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("staff_id", Integer, ForeignKey("staff.id", ondelete="CASCADE"), nullable=False),
    Column("since", Date, nullable=False),
    Column("weekly_quota", Integer, nullable=False),
    UniqueConstraint("staff_id", "since"),
)

# The business's policy (cadences, quotas, lead times, rules, occasions) as one JSON document;
# a single row, absent until the owner first changes a default.
policy = Table(
    "policy",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("data", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

# One row per local date: inserting it claims the day's plan, `completed_at` marks it built, so
# the daily job runs exactly once per date and resumes after a crash.
plans = Table(
    "plans",
    metadata,
    Column("day", Date, primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Column("actions", Integer, nullable=False, server_default="0"),
    # Per member, how many more real reasons wait beyond their stored queue (JSON).
    Column("overflow", Text),
)

# A to-do for one member of staff about one client: open until done (a touch), snoozed until a
# date, or dismissed for its reasons (`reason_keys`) until those change.
actions = Table(
    "actions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("day", Date, ForeignKey("plans.day", ondelete="CASCADE"), nullable=False),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("staff_id", Integer, ForeignKey("staff.id", ondelete="SET NULL")),
    Column("status", String(20), nullable=False, server_default="open"),
    Column("priority", Float, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("channel", String(40), nullable=False),
    # The signals as JSON: [{"code", "explanation", "reason_key"}, ...], most urgent first.
    Column("signals", Text, nullable=False),
    Column("reason_keys", Text, nullable=False),
    Column("why", Text, nullable=False),
    Column("draft", Text, nullable=False),
    Column("snoozed_until", Date),
    Column("dismissed_reason", Text),
    Column("touch_id", Integer, ForeignKey("touches.id", ondelete="SET NULL")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    CheckConstraint(
        "status IN ('open', 'waiting', 'done', 'snoozed', 'dismissed')", name="status_known"
    ),
    Index(None, "status", "staff_id"),
    Index(None, "client_id", "status"),
    Index(None, "day"),
)

# A dated note a member of staff set for a client ("call about the new glasses"): the daily job
# of its day puts it on that member's list as an action (`action_id`); deleted while pending
# (`deleted_at`), it never comes (migration 0013).
reminders = Table(
    "reminders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("staff_id", Integer, ForeignKey("staff.id", ondelete="SET NULL")),
    Column("on", Date, nullable=False),
    Column("note", Text, nullable=False),
    Column("set_by", String(320), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("action_id", Integer, ForeignKey("actions.id", ondelete="SET NULL")),
    Column("deleted_at", DateTime(timezone=True)),
    Index(None, "on"),
    Index(None, "client_id"),
    Index(None, "action_id"),
)

ACTION_STEPS = (
    "done",
    "snoozed",
    "dismissed",
    "undone",
    "reopened",
    "reminder_set",
    "reminder_deleted",
)
_STEPS = ", ".join(f"'{s}'" for s in ACTION_STEPS)

# Append-only: each step on an action and each reminder set or deleted, with who clicked
# (`actor`: a user's name or email, or "command line"; `user_id` when signed in) and the member
# of staff whose list and quota it counts for (`staff_id`); `details` as JSON (until, reason,
# channel, outcome, note, the touch recorded...) (migration 0013).
action_events = Table(
    "action_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("action_id", Integer, ForeignKey("actions.id", ondelete="SET NULL")),
    Column("reminder_id", Integer, ForeignKey("reminders.id", ondelete="SET NULL")),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("staff_id", Integer, ForeignKey("staff.id", ondelete="SET NULL")),
    Column("step", String(20), nullable=False),
    Column("actor", String(320), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("details", Text, nullable=False, server_default="{}"),
    CheckConstraint(f"step IN ({_STEPS})", name="step_known"),
    Index(None, "action_id"),
    Index(None, "client_id", "at"),
    Index(None, "staff_id", "at"),
    Index(None, "at"),
)

OUTBOX_STATES = ("queued", "sending", "sent", "failed", "retry", "unknown", "cancelled")
_OUTBOX_STATES = ", ".join(f"'{s}'" for s in OUTBOX_STATES)

# Emails and texts to deliver, at most once (migration 0016). A row is written in the same
# transaction as what causes it (an action marked done by sending, a morning list); the sender
# claims it (queued/retry -> sending, a conditional UPDATE whose row count is checked) before
# talking to the server, and records the outcome: sent, failed (permanent), retry (refused
# before the data went out; `next_attempt_at`), unknown (the connection broke after the data
# went out: never resent automatically). `key` makes queuing idempotent ("action:12",
# "morning:2026-12-03:4"); `token` is the unsubscribe link's secret.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(250), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE")),
    Column("staff_id", Integer, ForeignKey("staff.id", ondelete="SET NULL")),
    Column("action_id", Integer, ForeignKey("actions.id", ondelete="SET NULL")),
    Column("to_address", String(320), nullable=False),
    Column("reply_to", String(320)),
    Column("subject", Text),
    Column("body", Text, nullable=False),
    # A message written to the client as a personal touch (from a member's own list).
    Column("personal", Boolean, nullable=False, server_default=false()),
    # Whether the message carries List-Unsubscribe (not on replies and password resets).
    Column("bulk", Boolean, nullable=False, server_default=true()),
    Column("message_id", String(250), nullable=False, unique=True),
    Column("token", String(64), unique=True),
    Column("state", String(10), nullable=False, server_default="queued"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("created_by", String(320), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("claimed_at", DateTime(timezone=True)),
    Column("sent_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("touch_id", Integer, ForeignKey("touches.id", ondelete="SET NULL")),
    CheckConstraint(f"state IN ({_OUTBOX_STATES})", name="state_known"),
    CheckConstraint("channel IN ('email', 'sms')", name="channel_known"),
    Index(None, "state", "next_attempt_at"),
    Index(None, "client_id"),
    Index(None, "staff_id", "created_at"),
    Index(None, "action_id"),
)

CONSENT_CHANNELS = ("email", "sms", "post", "phone")
_CONSENT_CHANNELS = ", ".join(f"'{c}'" for c in CONSENT_CHANNELS)

# Append-only: who allowed or refused contact by a channel, when and from where (`source`:
# import, staff, unsubscribe, bounce, request); the latest event per client and channel is the
# current state. A bounce refuses one `address` only: a corrected address can be used again
# (migration 0016).
consent_events = Table(
    "consent_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("source", String(20), nullable=False),
    Column("address", String(320)),
    Column("actor", String(320), nullable=False),
    Column("note", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    CheckConstraint(f"channel IN ({_CONSENT_CHANNELS})", name="channel_known"),
    CheckConstraint(
        "source IN ('import', 'staff', 'unsubscribe', 'bounce', 'request')", name="source_known"
    ),
    Index(None, "client_id", "channel", "id"),
)

# Bounces read from the sending mailbox (migration 0017): one row per failed recipient of a
# bounce message, so each message is handled once (`message_key`: its Message-ID, else its
# IMAP UID) and soft bounces are on record. A hard bounce also refuses the address (a consent
# event, source 'bounce') and notes the bounced outbox message's last_error.
bounces = Table(
    "bounces",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_key", String(250), nullable=False),
    Column("address", String(320), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("status", String(20), nullable=False),
    Column("diagnostic", Text),
    Column("outbox_id", Integer, ForeignKey("outbox.id", ondelete="SET NULL")),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="SET NULL")),
    Column("at", DateTime(timezone=True), nullable=False),
    CheckConstraint("kind IN ('hard', 'soft')", name="kind_known"),
    UniqueConstraint("message_key", "address"),
    Index(None, "outbox_id"),
    Index(None, "client_id"),
)

PRINT_BATCH_KINDS = ("letters", "labels")
PRINT_BATCH_STATES = ("open", "confirmed", "cancelled")
PRINT_ITEM_STATES = ("pending", "printed", "skipped", "no_address")

# Printed cards and letters, and address labels: one PDF per batch, for a member of staff or
# the practice (`staff_id` null), open until confirmed printed or cancelled (migration 0018).
print_batches = Table(
    "print_batches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("label_format", String(20)),  # labels only: "avery5160", "l7160"
    Column("staff_id", Integer, ForeignKey("staff.id", ondelete="SET NULL")),
    Column("created_by", String(320), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("state", String(10), nullable=False, server_default="open"),
    CheckConstraint("kind IN ('letters', 'labels')", name="kind_known"),
    CheckConstraint("state IN ('open', 'confirmed', 'cancelled')", name="state_known"),
    Index(None, "state", "staff_id"),
)

# A batch's letters (one per action, its text in `body`) or labels (one per address); `sheet`
# is a letter's number or a label sheet's, `address` the block as printed. The touch is
# recorded when staff confirm the item printed; a client without an address is an item in
# state `no_address`, listed, never dropped (migration 0018).
print_items = Table(
    "print_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("batch_id", Integer, ForeignKey("print_batches.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("action_id", Integer, ForeignKey("actions.id", ondelete="SET NULL")),
    Column("sheet", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("address", Text, nullable=False),
    Column("body", Text),
    Column("state", String(10), nullable=False, server_default="pending"),
    Column("touch_id", Integer, ForeignKey("touches.id", ondelete="SET NULL")),
    Column("confirmed_at", DateTime(timezone=True)),
    CheckConstraint("state IN ('pending', 'printed', 'skipped', 'no_address')", name="state_known"),
    UniqueConstraint("batch_id", "action_id"),
    Index(None, "batch_id", "sheet"),
    Index(None, "client_id"),
    Index(None, "action_id"),
)

# People who sign in to the web app. A staff user is linked to their staff member (their list);
# the owner sees everything. `password_hash` is argon2id.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("staff_id", Integer, ForeignKey("staff.id", ondelete="SET NULL")),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("password_changed_at", DateTime(timezone=True), nullable=False),
    # their list by email each morning (migration 0019; services/morning.py)
    Column("morning_email", Boolean, nullable=False, server_default=false()),
    CheckConstraint("role IN ('owner', 'staff')", name="role_known"),
)

# Server-side sessions: the cookie holds a random token, the table its SHA-256, so a stolen
# database does not hand out live sessions. Revoked by deleting the row.
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    Index(None, "user_id"),
)

# API tokens for scripts: shown once, stored as SHA-256, revocable.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

# Failed sign-ins, for throttling per account and per address (kept a day).
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index(None, "email", "at"),
    Index(None, "ip", "at"),
)

# Links sent for a forgotten password (migration 0019): only the token's SHA-256 is kept;
# each link works once (used_at) until it expires.
password_resets = Table(
    "password_resets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("ip", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Index(None, "user_id"),
)

# Imports confirmed in the browser, so that one running when the server stops is shown as
# failed (or done, if its transaction had committed) after a restart, never left "importing".
import_runs = Table(
    "import_runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("filename", String(1000), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("message", Text, nullable=False, server_default=""),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("beat_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    CheckConstraint("status IN ('importing', 'done', 'failed')", name="status_known"),
    Index(None, "status"),
)

# Private calendar feeds: one per user, the URL's random token stored as its SHA-256 (never the
# token itself). Revoked by deleting the row (migration 0014).
calendar_feeds = Table(
    "calendar_feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("user_id"),
)

CAMPAIGN_KINDS = ("win_back", "holiday", "welcome", "custom")
_CAMPAIGN_KINDS = ", ".join(f"'{k}'" for k in CAMPAIGN_KINDS)

# A campaign: a message (per its channel, from a template that may carry an offer) to an
# audience (filters as JSON, keepwarm.domain.audience), in one or more waves, with a share held
# out to tell whether it worked within `return_days` of the first wave (migration 0020).
# `messages` holds a message per channel in the order of preference, as JSON
# ([{"channel", "subject", "body"}, ...]); `channel`, `subject` and `body` repeat the first
# (migration 0029).
campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("audience", Text, nullable=False, server_default="{}"),
    Column("channel", String(10), nullable=False),
    Column("subject", Text),
    Column("body", Text, nullable=False),
    Column("messages", Text, nullable=False, server_default="[]"),
    Column("offer", Text),
    Column("holdout_share", Float, nullable=False, server_default="0.1"),
    Column("holdout_min", Integer, nullable=False, server_default="10"),
    Column("return_days", Integer, nullable=False, server_default="60"),
    Column("one_per_address", Boolean, nullable=False, server_default=false()),
    Column("created_by", String(320), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint(f"kind IN ({_CAMPAIGN_KINDS})", name="kind_known"),
    CheckConstraint("channel IN ('email', 'sms', 'letter')", name="channel_known"),
    CheckConstraint("holdout_share >= 0 AND holdout_share < 1", name="holdout_share_range"),
)

campaign_waves = Table(
    "campaign_waves",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("on", Date, nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    UniqueConstraint("campaign_id", "on"),
)

# Who is in a campaign and in which arm: fixed when the first wave goes (the audience then), so
# treated and held-out clients are compared as assigned (migration 0020).
campaign_members = Table(
    "campaign_members",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("arm", String(10), nullable=False),
    Column("joined_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("arm IN ('treated', 'holdout')", name="arm_known"),
    UniqueConstraint("campaign_id", "client_id"),
    Index(None, "client_id"),
)

# What each wave did for each treated member: the message queued or the letter batched, or why
# it was skipped (consent re-checked per wave) (migration 0020).
campaign_sends = Table(
    "campaign_sends",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("wave_id", Integer, ForeignKey("campaign_waves.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("outbox_id", Integer, ForeignKey("outbox.id", ondelete="SET NULL")),
    Column("print_item_id", Integer, ForeignKey("print_items.id", ondelete="SET NULL")),
    Column("skipped_reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("wave_id", "client_id"),
)

# A request for feedback after a visit: the link's single-use token stored as its SHA-256, the
# answer (0-10 and a comment) once given, and the action a low score put on the owner's list
# (migration 0020).
feedback_requests = Table(
    "feedback_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("staff_id", Integer, ForeignKey("staff.id", ondelete="SET NULL")),
    Column("visit_date", Date, nullable=False),
    Column("channel", String(10), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("outbox_id", Integer, ForeignKey("outbox.id", ondelete="SET NULL")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Column("score", Integer),
    Column("comment", Text),
    Column("action_id", Integer, ForeignKey("actions.id", ondelete="SET NULL")),
    CheckConstraint("score IS NULL OR (score >= 0 AND score <= 10)", name="score_range"),
    Index(None, "client_id", "created_at"),
    Index(None, "answered_at"),
    # one request per client and visit, even when two runs send at once (migration 0023)
    Index(None, "client_id", "visit_date", unique=True),
)

# Filters people saved by name ("VIPs gone quiet"), usable on the Clients page and in campaigns
# (migration 0020).
saved_filters = Table(
    "saved_filters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("filters", Text, nullable=False),
    Column("created_by", String(320), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Households, duplicates and privacy (migration 0024) ---------------------------------------

# A family or a company: clients who share an address or a business and are written to once
# ("The Morris family"). `key` is the household's name or id as an import wrote it, folded
# (keepwarm.domain.search), or a key of keepwarm's own for one the owner accepted.
households = Table(
    "households",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(250), nullable=False, unique=True),
    Column("name", String(400), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# The owner's answer to a suggested household (same address and last name, or same landline):
# `key` names the suggestion (its members' internal ids, sorted), so a rejected one is not
# suggested again and an accepted one points at the household it made.
household_decisions = Table(
    "household_decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(250), nullable=False, unique=True),
    Column("decision", String(10), nullable=False),
    Column("household_id", Integer, ForeignKey("households.id", ondelete="SET NULL")),
    Column("decided_by", String(320), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("decision IN ('accepted', 'rejected')", name="decision_known"),
)

# Two clients merged into one: the kept client, the merged one's former internal id and
# business id, and a snapshot (JSON) of everything needed to undo it — the merged client's
# row, the ids of the rows moved to the kept client per table, rows set aside because the kept
# client had the same one, and the kept client's fields before they were filled in.
client_merges = Table(
    "client_merges",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kept_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("merged_id", Integer, nullable=False),  # the merged client's row is gone: no FK
    Column("merged_external_id", String(200), nullable=False),
    Column("score", Float),
    Column("explanation", Text, nullable=False, server_default=""),
    Column("snapshot", Text, nullable=False),
    Column("merged_by", String(320), nullable=False),
    Column("merged_at", DateTime(timezone=True), nullable=False),
    Column("undone_by", String(320)),
    Column("undone_at", DateTime(timezone=True)),
    Index(None, "kept_id"),
)

# The business's other ids for a client, from merges: re-importing a file that carries one
# updates the client it points to.
client_aliases = Table(
    "client_aliases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("external_id", String(200), nullable=False, unique=True),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("merge_id", Integer, ForeignKey("client_merges.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(None, "client_id"),
)

# Pairs the owner said are two different people, so they are not suggested again. The pair is
# stored with the smaller internal id first.
duplicate_decisions = Table(
    "duplicate_decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_a", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("client_b", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("decided_by", String(320), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("client_a < client_b", name="pair_ordered"),
    UniqueConstraint("client_a", "client_b"),
)

# Secrets of this database, made when first needed: "erasure" keys the HMAC of an erased
# client's identifiers. Copied by a backup with everything else.
database_secrets = Table(
    "database_secrets",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

ERASURE_REASONS = ("request", "retention")

# One erasure: when, why (the client's request, or the retention policy) and by whom; nothing
# about the person.
erasures = Table(
    "erasures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reason", String(20), nullable=False),
    Column("erased_by", String(320), nullable=False),
    Column("erased_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("reason IN ('request', 'retention')", name="reason_known"),
)

# What remains of an erased client: keyed hashes (HMAC-SHA256 with the "erasure" secret) of
# their normalised identifiers (business id, email, phone, name with birthday), so an import of
# an old file that holds them is flagged instead of bringing them back.
erased_identities = Table(
    "erased_identities",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("erasure_id", Integer, ForeignKey("erasures.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),
    Index(None, "erasure_id"),
)

# Who did what: sign-ins, imports, edits, merges, consent changes, exports, erasures, sends...
# Append-only (database triggers refuse DELETE, and UPDATE except redaction): erasing a client
# redacts `subject` and `details` of their entries (sets `redacted_at`) and keeps the fact.
# `client_id` is a plain number (no foreign key): the entry outlives the client.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(320), nullable=False),
    Column("action", String(40), nullable=False),
    Column("client_id", Integer),
    Column("subject", Text),
    Column("details", Text, nullable=False, server_default="{}"),
    Column("redacted_at", DateTime(timezone=True)),
    Index(None, "at"),
    Index(None, "client_id"),
    Index(None, "action", "at"),
    Index(None, "actor", "at"),
)
