"""Shared fixtures: local fake servers and configs that point at them."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

from edumon.config import Config, parse_config  # noqa: E402
from edumon.fakes.server import FakeServer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

SCHOOLS: list[dict[str, Any]] = [
    {"id": "ley-college", "name": "Ley College", "aliases": ["Ley College", "LeyCollege"], "exclude": ["ley lines"],
     "contacts": ["directie@leycollege.example.nl"]},
    {"id": "regenboog-leiderdorp", "name": "Basisschool De Regenboog",
     "aliases": ["De Regenboog", "Basisschool De Regenboog"], "context": ["Leiderdorp"],
     "contacts": ["directie@regenboog.example.nl"]},
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

from edumon.fakes import FakeBluesky, FakeMastodon  # noqa: E402
from edumon.secrets import Secrets  # noqa: E402

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
    return Secrets(environ={"BSKY_APP_PASSWORD": BSKY_PASSWORD, "MASTO_TOKEN": MASTO_TOKEN},
                   secrets_dir=tmp_path / "secrets")
