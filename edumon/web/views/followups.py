"""The overview of follow-ups per school, one follow-up, its police report, and the two forms on it."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from core.vocabulary import FOLLOWUP_STATUSES as STATUSES
from edumon.web.site import checked_form, render, reviewer, site
from edumon.web.store import ACTS, MAX_ITEMS, Busy, Filters
from edumon.web.wording import ACT_NL, BUSY_NL, FIELD_NL, error_nl
from protocol.feedback import DISMISS_REASONS, FeedbackError
from protocol.followups import FollowupError
from warehouse import WarehouseLocked

MAX_NOTE = 4000  # characters in a note; a longer one is refused with the text kept


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
        page_link=lambda school, page: (
            "/?" + urlencode({**{k: v for k, v in pairs if v}, "school": school, "pagina": page})
        ),
        per_page=MAX_ITEMS,
    )


async def detail(
    request: Request,
    error: str | None = None,
    status: int = 200,
    kept: dict[str, Any] | None = None,
    kept_label: dict[str, Any] | None = None,
) -> Response:
    """One follow-up with its forms; after a refused change the forms show back what was typed."""
    user = reviewer(request)
    s = site(request)
    f = await run_in_threadpool(s.store.followup, s.visible(user), request.path_params["mention_id"])
    return render(
        request,
        "followup.html",
        status,
        user=user,
        f=f,
        error=error,
        kept=kept or {},
        kept_label=kept_label or {},
        form_id=secrets.token_urlsafe(16),
        MAX_NOTE=MAX_NOTE,
    )


async def report(request: Request) -> Response:
    user = reviewer(request)
    s = site(request)
    f = await run_in_threadpool(s.store.followup, s.visible(user), request.path_params["mention_id"])
    return render(request, "report.html", user=user, f=f, now=datetime.now(timezone.utc))


def act_problem(what: str, note: str, reason: str | None) -> str | None:
    """Why an action form cannot be saved (in Dutch), or None."""
    if what not in ACTS:
        return "Kies een handeling."
    if not note:
        return "Een toelichting is verplicht: wat is er gedaan, of waarom."
    if len(note) > MAX_NOTE:
        return f"De toelichting is {len(note)} tekens; het maximum is {MAX_NOTE}. Maak haar korter."
    if what == "dismissed" and reason not in DISMISS_REASONS:
        return "Kies waarom deze opvolging vervalt."
    return None


async def save_once(
    request: Request,
    form_id: str,
    write: Callable[[], Awaitable[Any]],
    refused: Callable[[str, int], Awaitable[Response]],
) -> Response | None:
    """Run `write` once per form id (a form sent twice is saved once); None when it was saved, else
    the page to show: already saved (redirect), busy (503) or refused (400), with the input kept."""
    s, mid = site(request), request.path_params["mention_id"]
    if form_id and not s.sessions.claim_form(form_id):
        request.session["flash"] = "Dit formulier was al opgeslagen; er is niets dubbel vastgelegd."
        return RedirectResponse(f"/opvolging/{mid}", 303)
    try:
        await write()
        return None
    except (Busy, WarehouseLocked):
        problem, status = BUSY_NL, 503
    except (FollowupError, FeedbackError) as e:
        problem, status = error_nl(str(e)), 400
    if form_id:
        s.sessions.release_form(form_id)
    return await refused(problem, status)


async def act(request: Request) -> Response:
    user = reviewer(request)
    form = await checked_form(request)
    s = site(request)
    mid = request.path_params["mention_id"]
    what, note = str(form.get("act") or ""), str(form.get("note") or "").strip()
    reason = str(form.get("reason") or "") or None
    kept = {"act": what, "note": note, "reason": reason}
    problem = act_problem(what, note, reason)
    if problem:
        return await detail(request, problem, 400, kept=kept)

    async def write() -> Any:
        return await run_in_threadpool(
            s.store.act, s.visible(user), mid, by=user.username, act=what, note=note, reason=reason
        )

    async def refused(problem: str, status: int) -> Response:
        return await detail(request, f"Niet opgeslagen: {problem}", status, kept=kept)

    page = await save_once(request, str(form.get("form_id") or ""), write, refused)
    if page is not None:
        return page
    request.session["flash"] = f"Opgeslagen: {ACT_NL[what]}."
    return RedirectResponse(f"/opvolging/{mid}", 303)


async def labels(request: Request) -> Response:
    user = reviewer(request)
    form = await checked_form(request)
    s = site(request)
    mid = request.path_params["mention_id"]
    harm = str(form.get("harm") or "") or None
    kind = str(form.get("harm_kind") or "") or None
    note = str(form.get("note") or "").strip() or None
    kept = {"note": note or ""}
    if note and len(note) > MAX_NOTE:
        return await detail(request, f"De toelichting is te lang (maximum {MAX_NOTE} tekens).", 400, kept_label=kept)
    changes: list[Any] = []

    async def write() -> Any:
        changes.extend(
            await run_in_threadpool(
                s.store.correct,
                s.visible(user),
                mid,
                by=user.username,
                sentiment=str(form.get("sentiment") or "") or None,
                harm=harm,
                harm_kind=kind if harm != "none" else None,
                note=note,
            )
        )

    async def refused(problem: str, status: int) -> Response:
        return await detail(request, f"Label niet gecorrigeerd: {problem}", status, kept_label=kept)

    page = await save_once(request, str(form.get("form_id") or ""), write, refused)
    if page is not None:
        return page
    done = ", ".join(f"{FIELD_NL.get(c.field, c.field)} {c.from_value or '-'} → {c.to_value or '-'}" for c in changes)
    request.session["flash"] = f"Label gecorrigeerd: {done}."
    return RedirectResponse(f"/opvolging/{mid}", 303)
