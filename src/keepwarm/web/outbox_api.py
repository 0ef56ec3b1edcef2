"""The JSON twins of sending and the Outbox page: POST /api/v1/actions/{id}/send and
GET /api/v1/outbox, on the same service calls as the pages (services.outbox)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from keepwarm.domain.model import User
from keepwarm.services import outbox
from keepwarm.services.outbox import OutboxMessage, Written
from keepwarm.web.api import caller
from keepwarm.web.api_models import ERRORS, NOT_FOUND, Short, Strict, Text
from keepwarm.web.auth import business_today, clock, engine_of

Caller = Annotated[User, Depends(caller)]
ActionId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The action's number.")]
State = Literal["queued", "sending", "sent", "failed", "retry", "unknown", "cancelled"]

router = APIRouter(
    prefix="/api/v1", responses=ERRORS, generate_unique_id_function=lambda route: route.name
)


class SendIn(Strict):
    channel: Literal["email", "sms"] = Field(description="email or sms (a text).")
    subject: Short | None = Field(None, description="The email's subject; default the draft's.")
    body: Text | None = Field(None, description="The message; default the client-facing draft.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"channel": "email", "subject": "Hello", "body": "Dear Ann, ..."}]
        },
    )


class SendOut(BaseModel):
    outbox_id: int
    action_id: int
    channel: str
    state: str


class OutboxOut(BaseModel):
    id: int
    kind: str
    channel: str
    state: str
    bounced: bool
    client: str | None
    client_name: str | None
    staff: str | None
    to: str
    subject: str | None
    body: str | None = Field(description="None for a password link (it holds a secret).")
    action_id: int | None
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    next_attempt_at: dt.datetime | None


def _out(m: OutboxMessage) -> OutboxOut:
    bounced = m.state == "sent" and (m.last_error or "").startswith("bounced:")
    return OutboxOut(
        id=m.id,
        kind=m.kind,
        channel=m.channel,
        state=m.state,
        bounced=bounced,
        client=m.client,
        client_name=m.client_name,
        staff=m.staff,
        to=m.to,
        subject=m.subject,
        body=None if m.kind == "password" else m.body,
        action_id=m.action_id,
        attempts=m.attempts,
        last_error=m.last_error,
        created_at=m.created_at,
        sent_at=m.sent_at,
        next_attempt_at=m.next_attempt_at,
    )


@router.post(
    "/actions/{action_id}/send",
    tags=["today"],
    status_code=202,
    response_model=SendOut,
    responses=NOT_FOUND,
)
def action_send(request: Request, action_id: ActionId, body: SendIn, user: Caller) -> SendOut:
    """Queue the action's email or text (the draft, or the subject and body given) and mark
    the action done; the message leaves with the next delivery round. 422 when sending is
    not set up, the action is closed, or the client may not be contacted this way."""
    outbox_id = outbox.queue_action(
        engine_of(request),
        request.app.state.settings,
        action_id,
        body.channel,
        written=Written(body.subject, body.body),
        by=user,
        day=business_today(request),
        now=clock(),
    )
    return SendOut(outbox_id=outbox_id, action_id=action_id, channel=body.channel, state="queued")


@router.get("/outbox", tags=["outbox"], response_model=list[OutboxOut])
def outbox_list(
    request: Request,
    user: Caller,
    state: Annotated[
        list[State] | None, Query(description="Only messages in these states.")
    ] = None,
) -> list[OutboxOut]:
    """The outbox newest first (at most 200): the owner's every message, staff their own."""
    shown = outbox.messages(engine_of(request), by=user, states=tuple(state or ()))
    return [_out(m) for m in shown]
