"""Logging in and out."""

from __future__ import annotations

import logging
import secrets as pysecrets
import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from edumon.web.auth import authenticate
from edumon.web.site import checked_form, current_user, render, site

log = logging.getLogger("edumon.web")


async def login_page(request: Request) -> Response:
    if current_user(request):
        return RedirectResponse("/", 303)
    return render(request, "login.html", error=None, username="")


async def login(request: Request) -> Response:
    s = site(request)
    form = await checked_form(request)
    username, password = str(form.get("username") or "").strip(), str(form.get("password") or "")
    if s.throttle.blocked(username):
        return render(
            request,
            "login.html",
            429,
            error="Te veel mislukte pogingen. Probeer het over een kwartier opnieuw.",
            username=username,
        )
    user = await run_in_threadpool(authenticate, s.cfg.users, username, password)
    if user is None:
        s.throttle.failed(username)
        log.warning("failed login for %r", username)
        return render(
            request, "login.html", 401, error="Onbekende gebruikersnaam of onjuist wachtwoord.", username=username
        )
    s.throttle.succeeded(username)
    request.session.clear()  # a new session: no fixation
    request.session.update(user=user.username, login_at=time.time(), csrf=pysecrets.token_urlsafe(32))
    return RedirectResponse("/", 303)


async def logout(request: Request) -> Response:
    await checked_form(request)
    request.session.clear()
    return RedirectResponse("/login", 303)
