"""Logging in and out (limits in `edumon.web.auth`, sessions in `edumon.web.sessions`)."""

from __future__ import annotations

import logging
import math
import secrets as pysecrets

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from edumon.web.auth import authenticate, short_name
from edumon.web.site import checked_form, current_user, render, site

log = logging.getLogger("edumon.web")
CHECK_WAIT_S = 3.0  # a login that cannot start its password check this soon is told "bezig"


async def login_page(request: Request) -> Response:
    if current_user(request):
        return RedirectResponse("/", 303)
    return render(request, "login.html", error=None, username="")


def _refused(request: Request, username: str, wait: float) -> Response:
    seconds = max(1, math.ceil(wait))
    resp = render(
        request,
        "login.html",
        429,
        error=f"Te veel pogingen. Probeer het over {seconds} seconde{'n' if seconds != 1 else ''} opnieuw.",
        username=username,
    )
    resp.headers["retry-after"] = str(seconds)
    return resp


async def login(request: Request) -> Response:
    s = site(request)
    form = await checked_form(request)
    username, password = str(form.get("username") or "").strip(), str(form.get("password") or "")
    shown = username[:64]  # what the form shows back
    client = request.client.host if request.client else "-"
    wait = s.limiter.begin(username, client)  # counted before it is checked
    if wait > 0:
        return _refused(request, shown, wait)
    checks, started = s.password_checks(), False
    with anyio.move_on_after(CHECK_WAIT_S):
        await checks.acquire()
        started = True
    if not started:
        return render(request, "login.html", 503, error="Het is even druk: probeer het zo opnieuw.", username=shown)
    try:
        user = await run_in_threadpool(authenticate, s.cfg.users, username, password)
    finally:
        checks.release()
    if user is None:
        log.warning("failed login for %r from %s", short_name(username), client)
        return render(
            request, "login.html", 401, error="Onbekende gebruikersnaam of onjuist wachtwoord.", username=shown
        )
    s.limiter.succeeded(username, client)
    s.sessions.end(request.session.get("sid"))
    request.session.clear()  # a new session: no fixation
    sid = await run_in_threadpool(s.sessions.start, user)
    request.session.update(sid=sid, csrf=pysecrets.token_urlsafe(32))
    return RedirectResponse("/", 303)


async def logout(request: Request) -> Response:
    await checked_form(request)
    site(request).sessions.end(request.session.get("sid"))
    request.session.clear()
    return RedirectResponse("/login", 303)
