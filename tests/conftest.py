"""Shared fixtures: local fake servers, configs that point at them, one Prefect test harness."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

from core.config import Config, parse_config  # noqa: E402
from fakes.server import FakeServer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

SCHOOLS: list[dict[str, Any]] = [
    {
        "id": "ley-college",
        "name": "Ley College",
        "aliases": ["Ley College", "LeyCollege"],
        "exclude": ["ley lines"],
        "contacts": ["directie@leycollege.example.nl"],
    },
    {
        "id": "regenboog-leiderdorp",
        "name": "Basisschool De Regenboog",
        "aliases": ["De Regenboog", "Basisschool De Regenboog"],
        "context": ["Leiderdorp"],
        "contacts": ["directie@regenboog.example.nl"],
    },
]


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A local HTTP server on 127.0.0.1 with routes and a request log."""
    with FakeServer() as srv:
        yield srv


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    """Build a validated Config with a temp warehouse: make_config(rss=[url, ...], **sections)."""

    def build(rss: list[str] | None = None, **sections: Any) -> Config:
        data: dict[str, Any] = {
            "organisation": {"name": "Edu-Ley (test)", "timezone": "Europe/Amsterdam"},
            "warehouse": {"path": str(tmp_path / "edumon.duckdb"), "lock_timeout_s": 2},
            "schools": SCHOOLS,
            "sources": {"rss": [{"url": u, "retries": 1, "timeout_s": 5} for u in (rss or [])]},
        }
        for key, value in sections.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return parse_config(data)

    return build


# --- Bluesky and Mastodon fakes (issue 4) -------------------------------------------------------

from core.secrets import Secrets  # noqa: E402
from fakes import FakeBluesky, FakeMastodon  # noqa: E402

BSKY_HANDLE = "edumon.bsky.social"
BSKY_PASSWORD = "abcd-efgh-ijkl-mnop"
MASTO_TOKEN = "masto-token-0123456789"


@pytest.fixture
def bluesky_fake() -> Iterator[FakeBluesky]:
    """A fake Bluesky PDS/AppView (createSession, refreshSession, searchPosts) with one account."""
    with FakeBluesky(accounts={BSKY_HANDLE: BSKY_PASSWORD}) as fake:
        yield fake


@pytest.fixture
def mastodon_fakes() -> Iterator[Callable[..., FakeMastodon]]:
    """A factory: `mastodon_fakes("mastodon.nl")` starts a fake instance, stopped after the test."""
    started: list[FakeMastodon] = []

    def make(domain: str = "mastodon.nl", **kw: Any) -> FakeMastodon:
        kw.setdefault("tokens", {MASTO_TOKEN})
        fake = FakeMastodon(domain, **kw).start()
        started.append(fake)
        return fake

    yield make
    for f in started:
        f.stop()


@pytest.fixture
def secrets(tmp_path: Path) -> Secrets:
    """Secrets with the Bluesky app password and Mastodon token set; sessions in a temp dir."""
    return Secrets(
        environ={"BSKY_APP_PASSWORD": BSKY_PASSWORD, "MASTO_TOKEN": MASTO_TOKEN}, secrets_dir=tmp_path / "secrets"
    )


# --- Prefect flows and schedules (issue 7) -------------------------------------------------------


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect API (SQLite) for every test that runs flows; started once (~10 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def rss_feed(items: list[tuple[str, str, str]], title: str = "Leidsch Nieuws") -> bytes:
    """An RSS 2.0 feed of `(guid, title, description)` items."""
    body = "".join(
        f"<item><title>{escape(t)}</title><link>https://nieuws.example.nl/{escape(g)}</link>"
        f'<guid isPermaLink="false">{escape(g)}</guid><pubDate>Tue, 24 Nov 2026 09:30:00 +0100</pubDate>'
        f"<description>{escape(d)}</description></item>"
        for g, t, d in items
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
        f"<link>https://nieuws.example.nl</link><description>nieuws</description><language>nl</language>"
        f"{body}</channel></rss>"
    ).encode()


def write_config(tmp: Path, feeds: list[str], *, extra: str = "", db: str = "edumon.duckdb") -> Path:
    """A config with two schools, the given feed URLs and fast retries; returns its path."""
    sources = "".join(f'\n[[sources.rss]]\nurl = "{u}"\nretries = 0\ntimeout_s = 5\n' for u in feeds)
    text = f"""
[organisation]
name = "Edu-Ley (test)"
timezone = "Europe/Amsterdam"

[warehouse]
path = "{(tmp / db).as_posix()}"
lock_timeout_s = 10

[[schools]]
id = "ley-college"
name = "Ley College"
aliases = ["Ley College"]

[[schools]]
id = "regenboog-leiderdorp"
name = "Basisschool De Regenboog"
aliases = ["De Regenboog"]
context = ["Leiderdorp"]
{sources}
[schedule]
fetch_retries = 1
retry_delays_s = [0]
retry_jitter_factor = 0
lock_wait_s = 0.3
{extra}
"""
    path = tmp / "edumon.toml"
    path.write_text(text, encoding="utf-8")
    return path
