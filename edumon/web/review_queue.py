"""The review page's "Te beoordelen" list: posts triage sent to comms staff instead of to a leader.

Module-level endpoints (registered by `app.py` through `ROUTES`). They reach the app's shared pieces on
`request.app.state`: `store` (the warehouse), `cfg`, and the page's `render`, `reviewer` (the logged-in
comms or leader user, else 401/403) and `checked_form` (a POST with a valid CSRF token, else 403).
Confirming raises the alert at once (and tries to deliver it); dismissing stores harm none as a labelled
correction (`edumon train --include-feedback`). A leader sees and handles only their own schools' posts.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.secrets import Secrets
from edumon.web.auth import visible_schools
from protocol import alerts, review
from protocol.feedback import FeedbackError

PATH = "/te-beoordelen"


def _visible(request: Request, user: Any) -> list[str]:
    return visible_schools(user, [s.id for s in request.app.state.cfg.schools])


async def review_list(request: Request) -> Response:
    """GET /te-beoordelen: the open review items of the user's schools, urgent first."""
    st = request.app.state
    user = st.reviewer(request)
    visible = _visible(request, user)
    items = await run_in_threadpool(st.store._read, lambda con: review.queue(con, visible))
    hours = st.cfg.triage.review_within_hours
    return st.render(request, "review_queue.html", user=user, items=items, hours=hours, error=None)


def _decide(request: Request, mention_id: str, visible: list[str], fn: Any) -> Any:
    """Run a confirm/dismiss in one write, only for a mention of a visible school."""

    def write(con: Any) -> Any:
        rows = con.execute("SELECT school_ids FROM mentions WHERE mention_id = ?", [mention_id]).fetchall()
        if not rows or not set(rows[0][0] or []) & set(visible):
            raise HTTPException(404)
        return fn(con)

    return request.app.state.store._write(write)


async def review_confirm(request: Request) -> Response:
    """POST /te-beoordelen/{mention_id}/bevestigen: the post is harmful; the leader is alerted now."""
    st = request.app.state
    user = st.reviewer(request)
    await st.checked_form(request)
    mid, now = request.path_params["mention_id"], datetime.now(timezone.utc)
    fn = lambda con: review.confirm(st.cfg, con, mid, by=user.username, now=now)  # noqa: E731
    try:
        await run_in_threadpool(_decide, request, mid, _visible(request, user), fn)
    except FeedbackError as e:
        request.session["flash"] = f"Niet gelukt: {e}"
        return RedirectResponse(PATH, 303)
    try:  # at once, not at the next cycle; a failed delivery is retried by the next cycle
        await run_in_threadpool(alerts.deliver_pending, st.cfg, st.store.wh, Secrets(), now)
    except Exception:  # noqa: BLE001 - the alert is stored; delivery is retried
        pass
    request.session["flash"] = "Bevestigd: de schoolleiding krijgt nu een melding."
    return RedirectResponse(PATH, 303)


async def review_dismiss(request: Request) -> Response:
    """POST /te-beoordelen/{mention_id}/afwijzen: the post is harmless; kept as a labelled correction."""
    st = request.app.state
    user = st.reviewer(request)
    form = await st.checked_form(request)
    mid, now = request.path_params["mention_id"], datetime.now(timezone.utc)
    note = str(form.get("note") or "").strip() or None
    fn = lambda con: review.dismiss(con, mid, by=user.username, now=now, note=note)  # noqa: E731
    try:
        await run_in_threadpool(_decide, request, mid, _visible(request, user), fn)
    except FeedbackError as e:
        request.session["flash"] = f"Niet gelukt: {e}"
        return RedirectResponse(PATH, 303)
    request.session["flash"] = "Afgewezen: geen melding; het label 'geen schade' is bewaard voor training."
    return RedirectResponse(PATH, 303)


ROUTES = [
    Route(PATH, review_list, methods=["GET"]),
    Route(PATH + "/{mention_id}/bevestigen", review_confirm, methods=["POST"]),
    Route(PATH + "/{mention_id}/afwijzen", review_dismiss, methods=["POST"]),
]
