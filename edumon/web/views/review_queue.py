"""The "Te beoordelen" list: posts triage sent to comms staff first instead of straight to a leader.

Confirming raises the alert at once (and tries to deliver it); dismissing stores harm none as a labelled
correction (`edumon train --include-feedback`). A leader sees and handles only their own schools' posts.
"""

from __future__ import annotations

from datetime import datetime, timezone

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from core.secrets import Secrets
from edumon.web.site import checked_form, render, reviewer, site
from protocol import alerts, review
from protocol.feedback import FeedbackError

PATH = "/te-beoordelen"


async def review_list(request: Request) -> Response:
    """GET /te-beoordelen: the open review items of the user's schools, urgent first."""
    user = reviewer(request)
    s = site(request)
    items, as_of = await run_in_threadpool(s.store.review_queue, s.visible(user))
    hours = s.cfg.triage.review_within_hours
    return render(request, "review_queue.html", user=user, items=items, hours=hours, as_of=as_of, error=None)


async def review_confirm(request: Request) -> Response:
    """POST /te-beoordelen/{mention_id}/bevestigen: the post is harmful; the leader is alerted now."""
    user = reviewer(request)
    await checked_form(request)
    s = site(request)
    mid, now = request.path_params["mention_id"], datetime.now(timezone.utc)
    try:
        await run_in_threadpool(
            s.store.review_decide,
            s.visible(user),
            mid,
            lambda con: review.confirm(s.cfg, con, mid, by=user.username, now=now),
        )
    except FeedbackError as e:
        request.session["flash"] = f"Niet gelukt: {e}"
        return RedirectResponse(PATH, 303)
    try:  # at once, not at the next cycle; a failed delivery is retried by the next cycle
        await run_in_threadpool(alerts.deliver_pending, s.cfg, s.store.wh, Secrets(), now)
    except Exception:  # noqa: BLE001 - the alert is stored; delivery is retried
        pass
    request.session["flash"] = "Bevestigd: de schoolleiding krijgt nu een melding."
    return RedirectResponse(PATH, 303)


async def review_dismiss(request: Request) -> Response:
    """POST /te-beoordelen/{mention_id}/afwijzen: the post is harmless; kept as a labelled correction."""
    user = reviewer(request)
    form = await checked_form(request)
    s = site(request)
    mid, now = request.path_params["mention_id"], datetime.now(timezone.utc)
    note = str(form.get("note") or "").strip()[:4000] or None
    try:
        await run_in_threadpool(
            s.store.review_decide,
            s.visible(user),
            mid,
            lambda con: review.dismiss(con, mid, by=user.username, now=now, note=note),
        )
    except FeedbackError as e:
        request.session["flash"] = f"Niet gelukt: {e}"
        return RedirectResponse(PATH, 303)
    request.session["flash"] = "Afgewezen: geen melding; het label 'geen schade' is bewaard voor training."
    return RedirectResponse(PATH, 303)
