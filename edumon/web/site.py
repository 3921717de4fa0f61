"""One running review page's state (`Site`, on `app.state.site`) and the helpers every endpoint uses:
who is logged in, the CSRF check, rendering a template."""

from __future__ import annotations

import hmac
import secrets as pysecrets
import time
from dataclasses import dataclass, field
from typing import Any

import jinja2
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from core.config import Config, WebUser
from edumon.web.auth import LoginThrottle, visible_schools
from edumon.web.store import ReviewStore


@dataclass
class Site:
    """What the endpoints share: the config, the warehouse access, the templates, the login limits."""

    cfg: Config
    store: ReviewStore
    env: jinja2.Environment
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

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


async def checked_form(request: Request) -> FormData:
    """The posted form, or 403 when its CSRF token is missing or wrong."""
    form = await request.form()
    sent, expected = form.get("csrf_token"), request.session.get("csrf")
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "Het formulier is verlopen of ongeldig (CSRF). Laad de pagina opnieuw.")
    return form


def current_user(request: Request) -> WebUser | None:
    s = site(request)
    name, at = request.session.get("user"), request.session.get("login_at", 0)
    if not name or time.time() - float(at) > s.session_s:
        return None
    return next((u for u in s.cfg.users if u.username == name), None)


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
