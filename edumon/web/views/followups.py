"""The overview of follow-ups per school, one follow-up, its police report, and the two forms on it."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from core.vocabulary import FOLLOWUP_STATUSES as STATUSES
from edumon.web.site import checked_form, render, reviewer, site
from edumon.web.store import ACTS, Filters
from edumon.web.wording import ACT_NL, FIELD_NL
from protocol.feedback import DISMISS_REASONS, FeedbackError
from protocol.followups import FollowupError


async def overview(request: Request) -> Response:
    user = reviewer(request)
    s = site(request)
    visible = s.visible(user)
    flt = Filters.from_query(request.query_params)
    if flt.school and flt.school not in visible:
        raise HTTPException(404)
    sections = await run_in_threadpool(s.store.overview, visible, flt, datetime.now(timezone.utc))
    pairs = (
        ("school", flt.school),
        ("status", flt.status),
        ("harm", flt.harm),
        ("source", flt.source),
        ("period", flt.period),
    )
    return render(
        request,
        "overview.html",
        user=user,
        sections=sections,
        flt=flt,
        visible=visible,
        total={st: sum(sec.counts.get(st, 0) for sec in sections) for st in STATUSES},
        query=urlencode({k: v for k, v in pairs if v}),
    )


async def detail(request: Request, error: str | None = None, status: int = 200) -> Response:
    user = reviewer(request)
    s = site(request)
    f = await run_in_threadpool(s.store.followup, s.visible(user), request.path_params["mention_id"])
    return render(request, "followup.html", status, user=user, f=f, error=error)


async def report(request: Request) -> Response:
    user = reviewer(request)
    s = site(request)
    f = await run_in_threadpool(s.store.followup, s.visible(user), request.path_params["mention_id"])
    return render(request, "report.html", user=user, f=f, now=datetime.now(timezone.utc))


async def act(request: Request) -> Response:
    user = reviewer(request)
    form = await checked_form(request)
    s = site(request)
    mid = request.path_params["mention_id"]
    what, note = str(form.get("act") or ""), str(form.get("note") or "").strip()
    reason = str(form.get("reason") or "") or None
    if what not in ACTS:
        return await detail(request, "Kies een handeling.", 400)
    if not note:
        return await detail(request, "Een toelichting is verplicht: wat is er gedaan, of waarom.", 400)
    if what == "dismissed" and reason not in DISMISS_REASONS:
        return await detail(request, "Kies waarom deze opvolging vervalt.", 400)
    try:
        await run_in_threadpool(s.store.act, s.visible(user), mid, by=user.username, act=what, note=note, reason=reason)
    except (FollowupError, FeedbackError) as e:
        return await detail(request, f"Deze wijziging kan niet: {e}", 400)
    request.session["flash"] = f"Opgeslagen: {ACT_NL[what]}."
    return RedirectResponse(f"/opvolging/{mid}", 303)


async def labels(request: Request) -> Response:
    user = reviewer(request)
    form = await checked_form(request)
    s = site(request)
    mid = request.path_params["mention_id"]
    harm = str(form.get("harm") or "") or None
    kind = str(form.get("harm_kind") or "") or None
    try:
        changes = await run_in_threadpool(
            s.store.correct,
            s.visible(user),
            mid,
            by=user.username,
            sentiment=str(form.get("sentiment") or "") or None,
            harm=harm,
            harm_kind=kind if harm != "none" else None,
            note=str(form.get("note") or "").strip() or None,
        )
    except FeedbackError as e:
        return await detail(request, f"Label niet gecorrigeerd: {e}", 400)
    done = ", ".join(f"{FIELD_NL.get(c.field, c.field)} {c.from_value or '-'} → {c.to_value or '-'}" for c in changes)
    request.session["flash"] = f"Label gecorrigeerd: {done}."
    return RedirectResponse(f"/opvolging/{mid}", 303)
