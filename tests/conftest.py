"""Shared fixtures: one Prefect test harness for the session, fake RSS sources, configs on disk."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator
from xml.sax.saxutils import escape

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


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
        f"<guid isPermaLink=\"false\">{escape(g)}</guid><pubDate>Tue, 24 Nov 2026 09:30:00 +0100</pubDate>"
        f"<description>{escape(d)}</description></item>"
        for g, t, d in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
            f"<link>https://nieuws.example.nl</link><description>nieuws</description><language>nl</language>"
            f"{body}</channel></rss>").encode("utf-8")


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
