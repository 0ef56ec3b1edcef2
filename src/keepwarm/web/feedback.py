"""The feedback page a client reaches from the link in a feedback request (services.feedback),
without signing in: the link's token is the key.

GET `/feedback/{token}` shows the question (0-10, and a comment) and records nothing: link
scanners and previews follow GETs. The form posts to POST `/feedback` with the token in its
body — like the password reset form, so no log line can carry it in a path — and with the
anonymous CSRF token set as a SameSite cookie when the page was shown
(auth.checked_anonymous_form): a page elsewhere cannot answer for the client. The answer is
recorded once; a second POST says it is in already. An unknown link is 404, an expired one 410.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response

from keepwarm.domain.errors import InvalidInput
from keepwarm.domain.model import User
from keepwarm.services import feedback as service
from keepwarm.web.auth import PRE_COOKIE, AnonymousForm, SignedIn, clock, engine_of, pre_token
from keepwarm.web.render import render

router = APIRouter(include_in_schema=False)

STATUS = {"ok": 200, "answered": 200, "expired": 410, "unknown": 404}


def _page(request: Request, context: Mapping[str, object], status: int = 200) -> Response:
    token = pre_token(request)
    response = render(request, "feedback.html", {**context, "pre_token": token}, status_code=status)
    response.set_cookie(
        PRE_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.get("/feedback/{token}")
def feedback_page(request: Request, token: str) -> Response:
    """The question, or why it cannot be answered (already answered, expired, unknown)."""
    link = service.check_link(engine_of(request), request.app.state.settings, token, now=clock())
    context = {"link": link, "token": token, "error": "", "done": False, "scores": range(11)}
    return _page(request, context, STATUS[link.state])


@router.post("/feedback")
def feedback_answer(request: Request, form: AnonymousForm) -> Response:
    """Record the answer once; the thank-you page."""
    token = form.text("token")
    settings = request.app.state.settings
    try:
        link = service.answer(
            engine_of(request),
            settings,
            token,
            form.text("score"),
            form.text("comment"),
            now=clock(),
        )
    except InvalidInput as exc:
        link = service.check_link(engine_of(request), settings, token, now=clock())
        context = {"link": link, "token": token, "error": str(exc), "done": False}
        return _page(request, {**context, "scores": range(11)}, 400)
    context = {"link": link, "token": token, "error": "", "done": link.state == "ok"}
    return _page(request, {**context, "scores": range(11)}, STATUS[link.state])


# --- NPS in Reports -----------------------------------------------------------------------------


def nps_context(request: Request, user: User) -> dict[str, object]:
    """The Reports page's NPS section: the numbers (services.feedback.nps, all answers; staff
    see their own clients'), a chart of the answers by month, and the answers with comments."""
    from keepwarm.web.reports import PAIRED, bar_chart  # the Reports page's own chart

    result = service.nps(engine_of(request), by=user)
    months = [x.group for x in result.by_month]
    chart = bar_chart(
        "nps-chart",
        "Feedback answers by month",
        months,
        [
            ("Promoters (9-10)", [x.promoters for x in result.by_month]),
            ("Passives (7-8)", [x.passives for x in result.by_month]),
            ("Detractors (0-6)", [x.detractors for x in result.by_month]),
        ],
        x_label="Month answered",
        y_label="Answers",
        width=PAIRED,
    )
    return {"nps": result, "nps_chart": chart}


@router.get("/reports/nps.csv")
def nps_download(request: Request, session: SignedIn) -> Response:
    """The NPS rows as CSV: the very bytes `keepwarm feedback report --format csv` prints
    (for staff, their own clients' answers)."""
    text = service.nps_csv(service.nps(engine_of(request), by=session.user))
    name = f"keepwarm-nps-{clock().date().isoformat()}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
