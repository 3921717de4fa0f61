"""The review page as a Starlette application (server-rendered Jinja2, Dutch, no JavaScript).

Security, on every request: a signed session cookie (secret from the
environment), the user looked up in the config again (a removed account is
logged out), the role checked (analysts see none of this), a leader's schools
checked for every follow-up, a CSRF token checked on every POST, every text
escaped by Jinja2's autoescape, only http(s) links rendered, and headers that
forbid framing, inline scripts and caching.

`create_app` only wires: the endpoints live in `edumon/web/views/`, the
routes table in `edumon/web/routes.py`, the shared state in `edumon/web/site.py`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware

from core.config import Config
from edumon.web.routes import EXCEPTION_HANDLERS, ROUTES
from edumon.web.security import SecurityHeaders, safe_url
from edumon.web.sessions import Sessions, sessions_path
from edumon.web.site import Site
from edumon.web.store import ReviewStore
from edumon.web.wording import environment

__all__ = ["MIN_SECRET", "SecretError", "create_app", "safe_url"]

MIN_SECRET = 32


class SecretError(RuntimeError):
    """The session secret is missing or too short (one line)."""


def create_app(cfg: Config, secret: str, store: ReviewStore | None = None) -> Starlette:
    """The review page for this config; `secret` signs the session cookies."""
    if not secret or len(secret) < MIN_SECRET:
        raise SecretError(f"the session secret (${cfg.web.secret_env}) must be at least {MIN_SECRET} characters")
    store = store or ReviewStore(cfg)
    store.migrate()
    sessions = Sessions(sessions_path(cfg), cfg.web.session_hours * 3600)
    site = Site(cfg=cfg, store=store, env=environment(cfg), sessions=sessions)
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=secret,
            session_cookie="edumon_session",
            max_age=int(site.session_s),
            same_site="lax",
            https_only=cfg.web.secure_cookies,
        ),
    ]
    app = Starlette(routes=ROUTES, middleware=middleware, exception_handlers=EXCEPTION_HANDLERS)
    app.state.site = site
    app.state.store = store
    app.state.cfg = cfg
    return app
