"""Shared test helpers for the protocol tests: a local SMTP server (aiosmtpd), a local
webhook receiver (FakeServer), Dutch fake feeds and a config that points at them."""

from __future__ import annotations

import email
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from core.config import Config, parse_config
from fakes.rss import FeedHandler
from fakes.server import FakeServer, Request, Response

SMTP_USER, SMTP_PASSWORD = "edumon-mailer", "s3cret-smtp-pw"
HOOK_PATH = "/hooks/T0KEN-abc123"  # a Slack-like URL with a secret in its path


PUBLISHED = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)  # the posts are an hour old


def item(guid: str, title: str, text: str, author: str = "forumgebruiker", pub: str | None = None) -> str:
    from email.utils import format_datetime
    from xml.sax.saxutils import escape

    pub = pub or format_datetime(PUBLISHED)
    return (
        f"<item><title>{escape(title)}</title><link>https://forum.example.nl/t/{guid}</link>"
        f'<guid isPermaLink="false">{guid}</guid><pubDate>{pub}</pubDate>'
        f"<dc:creator>{escape(author)}</dc:creator><description>{escape(text)}</description></item>"
    )


def _x(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text)


def feed(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Ouderforum</title>'
        "<link>https://forum.example.nl</link><description>forum</description><language>nl</language>"
        + "".join(items)
        + "</channel></rss>"
    ).encode("utf-8")


THREAT = item(
    "t1",
    "Re: docent",
    "Die docent van het Ley College moet oppassen, ik ga je opwachten na school.",
    author="anoniem_77",
)
INSULT = item("t2", "Re: juf", "Het Ley College is een kankerschool en die juf is een sukkel.", author="boze_ouder")
# an angry complaint without an insult (not "is weer waardeloos": under a one-word title the default classifier
# reads that as an insult, see tests/test_classifier_blind.py::test_titled_complaints_about_things_are_not_insults)
NEGATIVE = item("t3", "Rooster", "Alweer lesuitval bij het Ley College en niemand laat iets weten. Slecht geregeld.")
# Title and text are HTML in RSS: escaped twice so the post text itself carries the markup.
MARKUP = item(
    "t4",
    _x("Ley College <script>alert('x')</script>"),
    # "Slecht geregeld." since round 7: the round-7 heads read the bare complaint under a script-tag title as
    # neutral (0.84), so it had no follow-up; this test is about escaping, see docs/evaluation-round7.md
    _x("Onacceptabel, de chaos bij het Ley College. Slecht geregeld. <img src=x onerror=alert(1)>"),
    author="<b>hacker</b>",
)
POSITIVE = item("t5", "Debat", "Gefeliciteerd Ley College met de winst bij het debat, geweldig!", author="trotse_opa")
NEUTRAL = item("t6", "Open dag", "Het Ley College houdt zaterdag een open dag.")


@dataclass
class Mailbox:
    messages: list[tuple[list[str], Message]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"

    def to(self, addr: str) -> list[Message]:
        return [m for rcpts, m in self.messages if addr in rcpts]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A local SMTP server that requires AUTH with SMTP_USER / SMTP_PASSWORD."""
    box = Mailbox()

    def auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == SMTP_USER
            and data.password.decode() == SMTP_PASSWORD
        )
        if ok:
            box.logins.append(data.login.decode())
        return AuthResult(success=ok)

    port = free_port()
    ctl = Controller(
        box, hostname="127.0.0.1", port=port, authenticator=auth, auth_required=True, auth_require_tls=False
    )
    ctl.start()
    try:
        yield box, port
    finally:
        ctl.stop()


class Hook:
    """A webhook receiver that answers with the scripted statuses (then the last one)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = statuses or [200]
        self.calls: list[Request] = []

    def __call__(self, req: Request) -> Response:
        status = self.statuses[min(len(self.calls), len(self.statuses) - 1)]
        self.calls.append(req)
        return Response(status, b"ok" if status < 300 else b"boom")

    @property
    def delivered(self) -> list[dict[str, Any]]:
        """Bodies of the posts that were answered 2xx."""
        return [
            json.loads(r.body) for i, r in enumerate(self.calls) if self.statuses[min(i, len(self.statuses) - 1)] < 300
        ]


@dataclass
class Env:
    cfg: Config
    server: FakeServer
    feed: FeedHandler
    hook: Hook
    db: Path

    def set_feed(self, *items: str) -> None:
        self.feed.set(feed(*items))


def make_config(db: Path, server: FakeServer | None, smtp_port: int | None = None, **extra: Any) -> Config:
    data: dict[str, Any] = {
        "organisation": {"name": "Edu-Ley (test)", "timezone": "Europe/Amsterdam"},
        "warehouse": {"path": str(db), "lock_timeout_s": 10},
        "schools": [
            {
                "id": "ley-college",
                "name": "Ley College",
                "aliases": ["Ley College"],
                "contacts": ["leiding@leycollege.example.nl"],
            },
            {
                "id": "regenboog",
                "name": "De Regenboog",
                "aliases": ["De Regenboog"],
                "contacts": ["directie@regenboog.example.nl"],
            },
        ],
        "alerts": {"email_to": ["veiligheid@edu-ley.example.nl"], "timeout_s": 3},
        "escalation": {"enabled": False},
    }
    if server is not None:
        data["sources"] = {"rss": [{"url": server.url + "/forum.xml", "retries": 0, "timeout_s": 3}]}
        data["alerts"]["webhook_url"] = server.url + HOOK_PATH
    if smtp_port:
        data["alerts"]["smtp"] = {
            "host": "127.0.0.1",
            "port": smtp_port,
            "starttls": False,
            "user_env": "TEST_SMTP_USER",
            "password_env": "TEST_SMTP_PASSWORD",
            "sender": "edumon@edu-ley.example.nl",
            "timeout_s": 5,
        }
    for k, v in extra.items():
        data[k] = {**data.get(k, {}), **v} if isinstance(v, dict) else v
    return parse_config(data)


@pytest.fixture
def env(tmp_path: Path, smtp_server: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setenv("TEST_SMTP_USER", SMTP_USER)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("EDUMON_SECRETS_DIR", str(tmp_path / "secrets"))
    with FakeServer() as srv:
        handler = FeedHandler(feed(THREAT, INSULT, NEGATIVE, MARKUP, POSITIVE, NEUTRAL))
        srv.route("/forum.xml", handler)
        hook = Hook()
        srv.route(HOOK_PATH, hook)
        cfg = make_config(tmp_path / "w.duckdb", srv, smtp_server[1])
        yield Env(cfg, srv, handler, hook, tmp_path / "w.duckdb")


def write_config(cfg: Config, path: Path) -> Path:
    from edumon.cli.cycle import to_toml

    path.write_text(to_toml(cfg), encoding="utf-8")
    return path
