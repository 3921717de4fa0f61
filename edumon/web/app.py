"""The review page as a Starlette application (server-rendered Jinja2, Dutch, no JavaScript).

Security, on every request: a signed session cookie (secret from the
environment), the user looked up in the config again (a removed account is
logged out), the role checked (analysts see none of this), a leader's schools
checked for every follow-up, a CSRF token checked on every POST, every text
escaped by Jinja2's autoescape, only http(s) links rendered, and headers that
forbid framing, inline scripts and caching.
"""

from __future__ import annotations

import hmac
import logging
import secrets as pysecrets
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.config import Config, WebUser
from core.vocabulary import FOLLOWUP_STATUSES as STATUSES
from core.vocabulary import HARM_KINDS, HARM_NL, ROLE_NL, SENTIMENT_NL, SENTIMENTS, SOURCE_NL, SOURCES, STATUS_NL
from core.vocabulary import HARMS as LABEL_HARMS
from edumon.web import review_queue
from edumon.web.auth import LoginThrottle, authenticate, visible_schools
from edumon.web.store import ACTS, PERIODS, Filters, NotFound, ReviewStore
from protocol.feedback import DISMISS_REASONS, FeedbackError
from protocol.followups import ACTION_NL, FollowupError
from warehouse import WarehouseLocked

log = logging.getLogger("edumon.web")
HERE = Path(__file__).resolve().parent
MIN_SECRET = 32

FLAG_NL = {
    "media_consent": "toestemming beeld",
    "staff_disclosure": "medewerker online",
    "spike": "piek",
    "pile_on": "stapeling reacties",
}
ALERT_NL = {
    "threat": "bedreiging",
    "insult": "belediging",
    "spike": "piek",
    "pile_on": "stapeling reacties",
    "source_health": "bron storing",
}
PERIOD_NL = {"1d": "24 uur", "7d": "7 dagen", "30d": "30 dagen", "all": "alles"}
ACT_NL = {
    "note": "notitie toevoegen",
    "done": "afgehandeld",
    "dismissed": "vervallen",
    "correct_online": "feitelijke fout online corrigeren",
    "report_police": "aangifte bij de politie",
}
FIELD_NL = {
    "created": "aangemaakt",
    "action": "actie",
    "status": "status",
    "note": "notitie",
    "sentiment": "sentiment",
    "harm": "schade",
    "harm_kind": "soort schade",
}


class SecretError(RuntimeError):
    """The session secret is missing or too short (one line)."""


class SecurityHeaders:
    """Adds headers that forbid framing, scripts, sniffing and caching to every response."""

    HEADERS = [
        (
            b"content-security-policy",
            b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            b"frame-ancestors 'none'; base-uri 'none'",
        ),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"cache-control", b"no-store"),
    ]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + self.HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def safe_url(url: str | None) -> str | None:
    """The link if it is http(s), else None (a `javascript:` link in a feed must never become a link)."""
    if not url:
        return None
    try:
        return url if urlsplit(url.strip()).scheme.lower() in ("http", "https") else None
    except ValueError:
        return None


def _environment(cfg: Config) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    tz = ZoneInfo(cfg.organisation.timezone)

    def when(dt: datetime | None) -> str:
        if dt is None:
            return "onbekend"
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.astimezone(tz).strftime("%d-%m-%Y %H:%M")

    env.filters["when"] = when
    env.filters["safe_url"] = safe_url
    env.globals.update(
        ROLE_NL=ROLE_NL,
        FLAG_NL=FLAG_NL,
        ALERT_NL=ALERT_NL,
        PERIOD_NL=PERIOD_NL,
        SOURCE_NL=SOURCE_NL,
        ACT_NL=ACT_NL,
        FIELD_NL=FIELD_NL,
        ACTION_NL=ACTION_NL,
        STATUS_NL=STATUS_NL,
        SENTIMENT_NL=SENTIMENT_NL,
        HARM_NL=HARM_NL,
        DISMISS_REASONS=DISMISS_REASONS,
        STATUSES=STATUSES,
        SOURCES=SOURCES,
        PERIODS=list(PERIODS),
        ACTS=ACTS,
        SENTIMENTS=SENTIMENTS,
        LABEL_HARMS=LABEL_HARMS,
        HARM_KINDS=HARM_KINDS,
        organisation=cfg.organisation.name,
    )
    return env


def create_app(cfg: Config, secret: str, store: ReviewStore | None = None) -> Starlette:
    """The review page for this config; `secret` signs the session cookies."""
    if not secret or len(secret) < MIN_SECRET:
        raise SecretError(f"the session secret (${cfg.web.secret_env}) must be at least {MIN_SECRET} characters")
    store = store or ReviewStore(cfg)
    store.migrate()
    env = _environment(cfg)
    throttle = LoginThrottle()
    all_ids = [s.id for s in cfg.schools]
    session_s = cfg.web.session_hours * 3600

    # --- helpers ---------------------------------------------------------------------------
    def csrf_token(request: Request) -> str:
        tok = request.session.get("csrf")
        if not tok:
            tok = request.session["csrf"] = pysecrets.token_urlsafe(32)
        return tok

    async def checked_form(request: Request) -> FormData:
        """The posted form, or 403 when its CSRF token is missing or wrong."""
        form = await request.form()
        sent, expected = form.get("csrf_token"), request.session.get("csrf")
        if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
            raise HTTPException(403, "Het formulier is verlopen of ongeldig (CSRF). Laad de pagina opnieuw.")
        return form

    def current_user(request: Request) -> WebUser | None:
        name, at = request.session.get("user"), request.session.get("login_at", 0)
        if not name or time.time() - float(at) > session_s:
            return None
        return next((u for u in cfg.users if u.username == name), None)

    def render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        user = ctx.pop("user", None) or current_user(request)
        flash = request.session.pop("flash", None)
        html = env.get_template(template).render(
            csrf_token=csrf_token(request), user=user, flash=flash, school_names=store.school_names, **ctx
        )
        return HTMLResponse(html, status_code=status)

    def reviewer(request: Request) -> WebUser:
        """The logged-in user allowed on the review page (comms or leader)."""
        user = current_user(request)
        if user is None:
            raise HTTPException(401)
        if user.role not in ("comms", "leader"):
            raise HTTPException(403, "Analisten hebben geen toegang tot de opvolging; zij zien trends zonder namen.")
        return user

    # --- pages -----------------------------------------------------------------------------
    async def login_page(request: Request) -> Response:
        if current_user(request):
            return RedirectResponse("/", 303)
        return render(request, "login.html", error=None, username="")

    async def login(request: Request) -> Response:
        form = await checked_form(request)
        username, password = str(form.get("username") or "").strip(), str(form.get("password") or "")
        if throttle.blocked(username):
            return render(
                request,
                "login.html",
                429,
                error="Te veel mislukte pogingen. Probeer het over een kwartier opnieuw.",
                username=username,
            )
        user = await run_in_threadpool(authenticate, cfg.users, username, password)
        if user is None:
            throttle.failed(username)
            log.warning("failed login for %r", username)
            return render(
                request, "login.html", 401, error="Onbekende gebruikersnaam of onjuist wachtwoord.", username=username
            )
        throttle.succeeded(username)
        request.session.clear()  # a new session: no fixation
        request.session.update(user=user.username, login_at=time.time(), csrf=pysecrets.token_urlsafe(32))
        return RedirectResponse("/", 303)

    async def logout(request: Request) -> Response:
        await checked_form(request)
        request.session.clear()
        return RedirectResponse("/login", 303)

    async def overview(request: Request) -> Response:
        user = reviewer(request)
        visible = visible_schools(user, all_ids)
        flt = Filters.from_query(request.query_params)
        if flt.school and flt.school not in visible:
            raise HTTPException(404)
        now = datetime.now(timezone.utc)
        sections = await run_in_threadpool(store.overview, visible, flt, now)
        query = {
            k: v
            for k, v in (
                ("school", flt.school),
                ("status", flt.status),
                ("harm", flt.harm),
                ("source", flt.source),
                ("period", flt.period),
            )
            if v
        }
        return render(
            request,
            "overview.html",
            user=user,
            sections=sections,
            flt=flt,
            visible=visible,
            total={s: sum(sec.counts.get(s, 0) for sec in sections) for s in STATUSES},
            query=urlencode(query),
        )

    async def detail(request: Request, error: str | None = None, status: int = 200) -> Response:
        user = reviewer(request)
        visible = visible_schools(user, all_ids)
        f = await run_in_threadpool(store.followup, visible, request.path_params["mention_id"])
        return render(request, "followup.html", status, user=user, f=f, error=error)

    async def report(request: Request) -> Response:
        user = reviewer(request)
        visible = visible_schools(user, all_ids)
        f = await run_in_threadpool(store.followup, visible, request.path_params["mention_id"])
        return render(request, "report.html", user=user, f=f, now=datetime.now(timezone.utc))

    async def act(request: Request) -> Response:
        user = reviewer(request)
        form = await checked_form(request)
        mid = request.path_params["mention_id"]
        what, note = str(form.get("act") or ""), str(form.get("note") or "").strip()
        reason = str(form.get("reason") or "") or None
        visible = visible_schools(user, all_ids)
        if what not in ACTS:
            return await detail(request, "Kies een handeling.", 400)
        if not note:
            return await detail(request, "Een toelichting is verplicht: wat is er gedaan, of waarom.", 400)
        if what == "dismissed" and reason not in DISMISS_REASONS:
            return await detail(request, "Kies waarom deze opvolging vervalt.", 400)
        try:
            await run_in_threadpool(store.act, visible, mid, by=user.username, act=what, note=note, reason=reason)
        except (FollowupError, FeedbackError) as e:
            return await detail(request, f"Deze wijziging kan niet: {e}", 400)
        request.session["flash"] = f"Opgeslagen: {ACT_NL[what]}."
        return RedirectResponse(f"/opvolging/{mid}", 303)

    async def labels(request: Request) -> Response:
        user = reviewer(request)
        form = await checked_form(request)
        mid = request.path_params["mention_id"]
        sentiment = str(form.get("sentiment") or "") or None
        harm = str(form.get("harm") or "") or None
        kind = str(form.get("harm_kind") or "") or None
        note = str(form.get("note") or "").strip() or None
        visible = visible_schools(user, all_ids)
        try:
            changes = await run_in_threadpool(
                store.correct,
                visible,
                mid,
                by=user.username,
                sentiment=sentiment,
                harm=harm,
                harm_kind=kind if harm != "none" else None,
                note=note,
            )
        except FeedbackError as e:
            return await detail(request, f"Label niet gecorrigeerd: {e}", 400)
        request.session["flash"] = (
            "Label gecorrigeerd: "
            + ", ".join(
                f"{FIELD_NL.get(c.field, c.field)} {c.from_value or '-'} → {c.to_value or '-'}" for c in changes
            )
            + "."
        )
        return RedirectResponse(f"/opvolging/{mid}", 303)

    async def style(request: Request) -> Response:
        return FileResponse(HERE / "static" / "style.css", media_type="text/css")

    # --- errors ----------------------------------------------------------------------------
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 401:
            return RedirectResponse("/login", 303)
        titles = {403: "Geen toegang", 404: "Niet gevonden", 405: "Niet toegestaan"}
        detail_text = exc.detail if exc.status_code == 403 else None
        if exc.status_code == 404:
            detail_text = "Deze pagina of opvolging bestaat niet, of hoort niet bij uw school."
        return render(
            request,
            "error.html",
            exc.status_code,
            title=titles.get(exc.status_code, "Fout"),
            message=detail_text or "Er ging iets mis.",
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        return await http_error(request, HTTPException(404))

    async def locked(request: Request, exc: Exception) -> Response:
        return render(
            request,
            "error.html",
            503,
            title="Even bezet",
            message="De database is bezet door een monitoringsronde. Probeer het zo opnieuw.",
        )

    routes = [
        Route("/", overview),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/opvolging/{mention_id}", detail, methods=["GET"]),
        Route("/opvolging/{mention_id}/rapport", report, methods=["GET"]),
        Route("/opvolging/{mention_id}/actie", act, methods=["POST"]),
        Route("/opvolging/{mention_id}/labels", labels, methods=["POST"]),
        Route("/static/style.css", style),
        *review_queue.ROUTES,
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=secret,
            session_cookie="edumon_session",
            max_age=int(session_s),
            same_site="lax",
            https_only=cfg.web.secure_cookies,
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: http_error, NotFound: not_found, WarehouseLocked: locked},
    )
    app.state.store = store
    app.state.cfg = cfg
    app.state.render, app.state.reviewer, app.state.checked_form = render, reviewer, checked_form
    return app
