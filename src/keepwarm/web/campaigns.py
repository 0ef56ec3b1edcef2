"""The owner's campaign pages: the list (draft / waves sent / done), a new campaign from a
starting point, the preview (count, sample, who is left out and why, the holdout, the message)
with "Send wave now" (POST, CSRF, a confirmation box), and the campaign's page (waves, members
treated and held out, sends and skips) with the results section of
keepwarm.web.campaign_results. JSON twins: /campaigns.json, /campaigns/{name}.json,
/campaigns/{name}/preview.json."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from keepwarm.domain.audience import SEGMENTS, VALUE_TIERS, Filters
from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.model import SIGNAL_LABELS
from keepwarm.services import campaigns as svc
from keepwarm.services.audiences import saved_filters
from keepwarm.services.users import Session
from keepwarm.web.auth import (
    Form,
    business_today,
    checked_form,
    clock,
    engine_of,
    only_the_owner,
    signed_in,
)
from keepwarm.web.campaign_results import section_context
from keepwarm.web.render import render

router = APIRouter(include_in_schema=False)
CHANNEL_NAMES = {"email": "Email", "sms": "Text message (SMS)", "letter": "Printed card or letter"}
NO_STORE = {"Cache-Control": "no-store"}


def _owner(session: Annotated[Session, Depends(signed_in)]) -> Session:
    only_the_owner(session.user, "run campaigns")
    return session


CampaignOwner = Annotated[Session, Depends(_owner)]


async def _owners_form(request: Request, session: CampaignOwner) -> Form:
    # The owner check first: staff get 403 whatever their form carries.
    return await checked_form(request)


OwnersForm = Annotated[Form, Depends(_owners_form)]


def _page_url(name: str, note: str | None = None) -> str:
    url = f"/campaigns/{quote(name, safe='')}"
    return url + (f"?{urlencode({'note': note})}" if note else "")


@router.get("/campaigns")
def campaigns_page(request: Request, session: CampaignOwner) -> Response:
    """Every campaign with its status, and the starting points for a new one."""
    context = {"campaigns": svc.campaigns(engine_of(request)), "starts": svc.STARTING_POINTS}
    return render(request, "campaigns.html", context, headers=NO_STORE)


@router.get("/campaigns.json")
def campaigns_json(request: Request, session: CampaignOwner) -> Response:
    """The Campaigns page's JSON twin."""
    found = svc.campaigns(engine_of(request))
    return JSONResponse({"campaigns": [c.as_json() for c in found]}, headers=NO_STORE)


def _form_values(start: str, today: dt.date) -> dict[str, Any]:
    values = svc.from_starting_point(start, today=today)
    point = svc.STARTING_POINTS[start]
    f: Filters = values["filters"]
    return {
        "start": start,
        "name": "",
        **_channel_values(point.channels, point.drafts),
        "offer": values["offer"] or "",
        "statuses": ", ".join(f.statuses),
        "tags": ", ".join(f.tags),
        "signals": ", ".join(f.signals),
        "owners": ", ".join(f.owners),
        "last_visit_before": "",
        "last_visit_after": f.last_visit_after.isoformat() if f.last_visit_after else "",
        "not_seen_since": "",
        "first_visit_after": f.first_visit_after.isoformat() if f.first_visit_after else "",
        "value_tiers": ", ".join(f.value_tiers),
        "segments": ", ".join(f.segments),
        "saved": "",
        "waves": "",
        "holdout_percent": "10",
        "holdout_min": "10",
        "return_days": "60",
        "one_per_address": values["one_per_address"],
    }


def _channel_values(
    ticked: tuple[str, ...], drafts: Mapping[str, tuple[str | None, str]]
) -> dict[str, Any]:
    """The form's channel fields: each channel ticked or not, its place in the order of
    preference (1 is tried first) and its message (subject for email)."""
    out: dict[str, Any] = {"channels": list(ticked)}
    for i, c in enumerate(svc.CHANNELS):
        subject, body = drafts.get(c, (None, ""))
        place = ticked.index(c) + 1 if c in ticked else len(ticked) + 1 + i
        out |= {f"order_{c}": str(min(place, 3)), f"subject_{c}": subject or "", f"body_{c}": body}
    return out


def _form_messages(form: Form, values: dict[str, Any]) -> list[svc.Message]:
    """The messages the form gives, in the order of preference: each ticked channel
    (`channel_email` ...) by its place (`order_email`, 1 first; a tie keeps email, sms, letter),
    with its subject and body. A form with only `channel`, `subject` and `body` (one message,
    as before several channels) still works."""
    if form.text("channel") and not any(form.raw(f"channel_{c}") for c in svc.CHANNELS):
        values |= _channel_values((form.text("channel"),), {})
        values |= {"subject_email": form.text("subject")}
        values[f"body_{form.text('channel')}"] = form.text("body")
        return [svc.Message(form.text("channel"), form.text("subject"), form.text("body"))]
    values["channels"] = []
    places = {}
    for i, c in enumerate(svc.CHANNELS):
        values |= {k: form.text(k) for k in (f"order_{c}", f"subject_{c}", f"body_{c}")}
        if form.text(f"channel_{c}") == "yes":
            places[c] = (_number(values[f"order_{c}"] or "3", f"order of {c}"), i)
    values["channels"] = sorted(places, key=places.__getitem__)
    return [
        svc.Message(c, values["subject_email"] if c == "email" else None, values[f"body_{c}"])
        for c in values["channels"]
    ]


def _new_page(request: Request, values: dict[str, Any], error: str = "") -> Response:
    start = svc.STARTING_POINTS[values["start"]]
    context = {
        "v": values,
        "start": start,
        "error": error,
        "signals": sorted(s.value for s in SIGNAL_LABELS),
        "tiers": VALUE_TIERS,
        "segments": SEGMENTS,
        "saved_filters": [f.name for f in saved_filters(engine_of(request))],
        "channel_names": CHANNEL_NAMES,
    }
    return render(
        request, "campaign_new.html", context, status_code=400 if error else 200, headers=NO_STORE
    )


@router.get("/campaigns/new")
def new_page(request: Request, session: CampaignOwner) -> Response:
    """A new campaign's form, filled in from a starting point (?from=win-back)."""
    start = request.query_params.get("from", "win-back")
    if start not in svc.STARTING_POINTS:
        raise InvalidInput(f"from: one of {', '.join(svc.STARTING_POINTS)}, not {start!r}")
    return _new_page(request, _form_values(start, business_today(request)))


def _words(text: str) -> list[str]:
    return [w.strip() for w in re.split(r"[,\n]", text) if w.strip()]


def _number(text: str, field: str, kind: type = int) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise InvalidInput(f"{field}: a number, not {text!r}") from None


@router.post("/campaigns/new")
def create_campaign(request: Request, session: CampaignOwner, form: OwnersForm) -> Response:
    """Create the campaign from the form (nothing is sent); its preview next."""
    start = form.text("start")
    if start not in svc.STARTING_POINTS:
        raise InvalidInput(f"from: one of {', '.join(svc.STARTING_POINTS)}, not {start!r}")
    values: dict[str, Any] = {
        key: form.text(key)
        for key in (
            "name", "offer", "statuses", "tags", "signals",
            "owners", "last_visit_before", "last_visit_after", "not_seen_since",
            "first_visit_after", "value_tiers", "segments", "saved", "waves", "holdout_percent",
            "holdout_min", "return_days",
        )
    }  # fmt: skip
    values["start"] = start
    values["one_per_address"] = form.text("one_per_address") == "yes"
    try:
        messages = _form_messages(form, values)
        filters = Filters.from_dict(
            {
                "statuses": _words(values["statuses"]),
                "tags": _words(values["tags"]),
                "signals": _words(values["signals"]),
                "owners": _words(values["owners"]),
                "last_visit_before": values["last_visit_before"] or None,
                "last_visit_after": values["last_visit_after"] or None,
                "not_seen_since": values["not_seen_since"] or None,
                "first_visit_after": values["first_visit_after"] or None,
                "value_tiers": _words(values["value_tiers"]),
                "segments": _words(values["segments"]),
                "saved": values["saved"] or None,
            }
        )
        waves = []
        for word in _words(values["waves"].replace(" ", ",")):
            try:
                waves.append(dt.date.fromisoformat(word))
            except ValueError:
                raise InvalidInput(f"waves: {word!r} is not a date like 2027-02-01") from None
        made = svc.create(
            engine_of(request),
            values["name"],
            kind=svc.STARTING_POINTS[start].kind,
            filters=filters,
            messages=messages,
            offer=values["offer"],
            waves=waves,
            holdout_share=_number(values["holdout_percent"], "holdout share", float) / 100,
            holdout_min=_number(values["holdout_min"], "holdout_min"),
            return_days=_number(values["return_days"], "return_days"),
            one_per_address=values["one_per_address"],
            by=session.user,
            now=clock(),
        )
    except InvalidInput as exc:
        return _new_page(request, values, str(exc))
    return RedirectResponse(_page_url(made.name) + "/preview", status_code=303)


@router.get("/campaigns/{name}.json")
def campaign_json(request: Request, name: str, session: CampaignOwner) -> Response:
    """The campaign page's JSON twin: the campaign, members and sends."""
    return JSONResponse(svc.detail(engine_of(request), name).as_json(), headers=NO_STORE)


NOTES = {"sent": "The wave has gone: its messages are in the outbox (letters: Print)."}


@router.get("/campaigns/{name}")
def campaign_page(request: Request, name: str, session: CampaignOwner) -> Response:
    """The campaign: its waves, members treated and held out, each send or skip, results."""
    engine = engine_of(request)
    found = svc.detail(engine, name)
    skipped: dict[str, int] = {}
    for s in found.sends:
        if s.skipped and s.skipped != svc.HELD_OUT:
            skipped[s.skipped] = skipped.get(s.skipped, 0) + 1
    context = {
        "d": found,
        "c": found.campaign,
        "skipped": sorted(skipped.items()),
        "held_out_reason": svc.HELD_OUT,
        "note": NOTES.get(request.query_params.get("note", ""), ""),
        "today": business_today(request),
        **section_context(engine, name, business_today(request)),
    }
    return render(request, "campaign.html", context, headers=NO_STORE)


@router.get("/campaigns/{name}/preview.json")
def preview_json(request: Request, name: str, session: CampaignOwner) -> Response:
    """The preview page's JSON twin."""
    shown = svc.preview(
        engine_of(request), request.app.state.settings, name, today=business_today(request)
    )
    return JSONResponse(shown.as_json(), headers=NO_STORE)


@router.get("/campaigns/{name}/preview")
def preview_page(request: Request, name: str, session: CampaignOwner) -> Response:
    """Who the next wave would reach today, who is left out and why, how many are held out,
    and the message; the "Send wave now" form."""
    today = business_today(request)
    shown = svc.preview(engine_of(request), request.app.state.settings, name, today=today)
    context = {"p": shown, "c": shown.campaign, "today": today}
    return render(request, "campaign_preview.html", context, headers=NO_STORE)


@router.post("/campaigns/{name}/send")
def send_wave(request: Request, name: str, session: CampaignOwner, form: OwnersForm) -> Response:
    """Send the next wave now (even before its date), once the owner ticked the confirmation."""
    if form.text("confirm") != "yes":
        raise InvalidInput("confirm: tick the box to confirm sending the wave")
    svc.send_wave(
        engine_of(request),
        request.app.state.settings,
        name,
        day=business_today(request),
        now=clock(),
        by=session.user,
        early=True,
    )
    return RedirectResponse(_page_url(name, "sent"), status_code=303)
