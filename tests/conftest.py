"""Shared fixtures: local fake Bluesky and Mastodon servers, secrets in a temp dir."""
from __future__ import annotations

from typing import Callable

import pytest

from edumon.config import Config, parse_config
from edumon.fakes import FakeBluesky, FakeMastodon
from edumon.secrets import Secrets

BSKY_HANDLE = "edumon.bsky.social"
BSKY_PASSWORD = "abcd-efgh-ijkl-mnop"
MASTO_TOKEN = "masto-token-0123456789"


@pytest.fixture
def bluesky_fake():
    fake = FakeBluesky(accounts={BSKY_HANDLE: BSKY_PASSWORD}).start()
    yield fake
    fake.stop()


@pytest.fixture
def mastodon_fakes() -> Callable[..., FakeMastodon]:
    """A factory: `mastodon_fakes("mastodon.nl")` starts a fake instance (stopped after the test)."""
    started: list[FakeMastodon] = []

    def make(domain: str = "mastodon.nl", **kw) -> FakeMastodon:
        kw.setdefault("tokens", {MASTO_TOKEN})
        fake = FakeMastodon(domain, **kw).start()
        started.append(fake)
        return fake

    yield make
    for f in started:
        f.stop()


@pytest.fixture
def secrets(tmp_path) -> Secrets:
    return Secrets(environ={"BSKY_APP_PASSWORD": BSKY_PASSWORD, "MASTO_TOKEN": MASTO_TOKEN},
                   secrets_dir=tmp_path / "secrets")


SCHOOLS = [
    {"id": "ley-college", "name": "Ley College", "aliases": ["Ley College", "LeyCollege"]},
    {"id": "regenboog", "name": "Basisschool De Regenboog", "aliases": ["De Regenboog Leiderdorp"]},
    {"id": "rll", "name": "Rijnland Lyceum Ley", "aliases": ["Rijnland Lyceum Ley"]},
]


@pytest.fixture
def make_config(tmp_path) -> Callable[..., Config]:
    def make(bluesky: list[dict] | None = None, mastodon: list[dict] | None = None, **extra) -> Config:
        data = {"organisation": {"name": "Edu-Ley"}, "schools": SCHOOLS,
                "warehouse": {"path": str(tmp_path / "edumon.duckdb")},
                "sources": {"bluesky": bluesky or [], "mastodon": mastodon or []}}
        data.update(extra)
        return parse_config(data)
    return make
