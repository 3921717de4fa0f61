"""One running review page's state (`Site`, on `app.state.site`) and the helpers every endpoint uses:
who is logged in, the CSRF check, rendering a template."""

from __future__ import annotations

import hmac
import secrets as pysecrets
from dataclasses import dataclass, field
from typing import Any

import anyio
import jinja2
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from core.config import Config, WebUser
from edumon.web.auth import LoginLimiter, visible_schools
from edumon.web.sessions import Sessions
from edumon.web.store import ReviewStore


@dataclass
class Site:
    """What the endpoints share: the config, the warehouse access, the templates, the login limits."""

    cfg: Config
    store: ReviewStore
    env: jinja2.Environment
    sessions: Sessions
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    _checks: anyio.Semaphore | None = None

    def password_checks(self) -> anyio.Semaphore:
        """One password check at a time (created on first use, inside the event loop)."""
        if self._checks is None:
            self._checks = anyio.Semaphore(1)
        return self._checks

    @property
    def session_s(self) -> float:
        return self.cfg.web.session_hours * 3600

    @property
    def school_ids(self) -> list[str]:
        return [s.id for s in self.cfg.schools]

    def visible(self, user: WebUser) -> list[str]:
        return visible_schools(user, self.school_ids)


def site(request: Request) -> Site:
    return request.app.state.site  # type: ignore[no-any-return]


def csrf_token(request: Request) -> str:
    tok = request.session.get("csrf")
    if not tok:
        tok = request.session["csrf"] = pysecrets.token_urlsafe(32)
    return str(tok)


MAX_FORM_BYTES = 64 * 1024  # a note is at most 4,000 characters; no form of the page needs more


async def checked_form(request: Request) -> FormData:
    """The posted form; 413 when it is larger than MAX_FORM_BYTES, 403 when its CSRF token is missing or wrong."""
    size = request.headers.get("content-length", "")
    if not size.isdigit() or int(size) > MAX_FORM_BYTES:
        raise HTTPException(413, "Het formulier is te groot.")
    form = await request.form()
    sent, expected = form.get("csrf_token"), request.session.get("csrf")
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "Het formulier is verlopen of ongeldig (CSRF). Laad de pagina opnieuw.")
    return form


def current_user(request: Request) -> WebUser | None:
    """The user of this request's server-side session (None when logged out, ended or expired)."""
    if "user" not in request.scope:
        s = site(request)
        request.scope["user"] = s.sessions.user(request.session.get("sid"), s.cfg.users)
    return request.scope["user"]  # type: ignore[no-any-return]


def reviewer(request: Request) -> WebUser:
    """The logged-in user allowed on the review page (comms or leader)."""
    user = current_user(request)
    if user is None:
        raise HTTPException(401)
    if user.role not in ("comms", "leader"):
        raise HTTPException(403, "Analisten hebben geen toegang tot de opvolging; zij zien trends zonder namen.")
    return user


def render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    s = site(request)
    user = ctx.pop("user", None) or current_user(request)
    flash = request.session.pop("flash", None)
    html = s.env.get_template(template).render(
        csrf_token=csrf_token(request), user=user, flash=flash, school_names=s.store.school_names, **ctx
    )
    return HTMLResponse(html, status_code=status)
