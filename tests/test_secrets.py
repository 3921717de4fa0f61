"""Secrets never leak: recognisable secrets are set in the environment, cycles fail to
authenticate and succeed, the demo runs, an export is made, and every output is searched:
stdout/stderr, logs, exception messages, every text cell of every table of the DuckDB file,
spool files, exported files and the secrets directory's neighbours."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

import pipeline
from core.config import Config
from edumon.cli import main
from edumon.cli.cycle import to_toml
from fakes.bluesky import FakeBluesky
from fakes.rss import FeedHandler, rss_xml
from fakes.server import FakeServer
from tests.locks import hold_lock
from tests.test_cycle import NEWS
from warehouse import Warehouse

BSKY_SECRET = "s3cr3t-bsky-XYZ"
MASTO_SECRET = "s3cr3t-masto-TOKEN-42"
PSEUDO_SECRET = "s3cr3t-pseudonym-key-0f0f0f0f0f0f"
SECRETS = (BSKY_SECRET, MASTO_SECRET, PSEUDO_SECRET)
NOW = datetime.now(timezone.utc)


def leaks(text: str | bytes) -> list[str]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [s for s in SECRETS if s in text]


def dump_database(path: Path) -> str:
    """Every text-castable cell of every table and view's base table in the DuckDB file."""
    out = []
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        for t in tables:
            cols = [
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [t]
                ).fetchall()
            ]
            for c in cols:
                for (v,) in con.execute(f'SELECT CAST("{c}" AS VARCHAR) FROM "{t}"').fetchall():
                    if v is not None:
                        out.append(v)
    finally:
        con.close()
    assert tables, "no tables found"
    return "\n".join(out)


def files_text(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("EDUMON_BLUESKY_APP_PASSWORD", BSKY_SECRET)
    monkeypatch.setenv("EDUMON_MASTODON_TOKEN", MASTO_SECRET)
    monkeypatch.setenv("EDUMON_PSEUDONYM_KEY", PSEUDO_SECRET)
    secrets_dir = tmp_path / "secrets"
    monkeypatch.setenv("EDUMON_SECRETS_DIR", str(secrets_dir))
    return secrets_dir


def _config_naming_secrets(make_config: Callable[..., Config], feed_host: str, bsky_url: str, masto_url: str) -> Config:
    """A config with a feed, a Bluesky account and a Mastodon token: it names the variables only."""
    return make_config(
        rss=[feed_host + "/news.xml"],
        sources={
            "rss": [{"url": feed_host + "/news.xml"}],
            "bluesky": [
                {
                    "handle": "edumon.bsky.social",
                    "app_password_env": "EDUMON_BLUESKY_APP_PASSWORD",
                    "base_url": bsky_url,
                    "timeout_s": 5,
                }
            ],
            "mastodon": [
                {
                    "api_base_url": masto_url,
                    "hashtags": ["LeyCollege"],
                    "timeout_s": 5,
                    "access_token_env": "EDUMON_MASTODON_TOKEN",
                }
            ],
        },
        warehouse={"lock_timeout_s": 0.3},
    )


def _assert_nothing_leaks(
    outputs: list[str],
    caplog: pytest.LogCaptureFixture,
    db: Path,
    tmp_path: Path,
    exported: dict[Path, bytes],
    env: Path,
) -> None:
    """No secret in any output, log record, database cell, export or file the runs left behind."""
    for text in outputs:
        assert not leaks(text), text
    for rec in caplog.records:
        assert not leaks(rec.getMessage()), rec.getMessage()
        assert not leaks(str(rec.exc_text or "")), rec.exc_text
    assert not leaks(dump_database(db))
    assert not leaks(dump_database(tmp_path / "demo" / "edumon.duckdb"))
    for p, data in exported.items():
        assert not leaks(data), p
    for p, data in files_text(tmp_path).items():  # every file the runs left behind
        if p.parent == env:  # sessions: tokens the source issued, not our secrets
            continue
        if p.suffix in (".duckdb", ".wal"):
            continue  # searched cell by cell above (compressed on disk)
        assert not leaks(data), p


def test_secrets_appear_in_no_output(
    env: Path,
    tmp_path: Path,
    fake_server: FakeServer,
    make_config: Callable[..., Config],
    mastodon_fakes: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_server.route("/news.xml", FeedHandler(rss_xml(NEWS)))
    # Bluesky knows the account under another password first: authentication fails
    bsky = FakeBluesky(accounts={"edumon.bsky.social": "another-password"}).start()
    masto = mastodon_fakes("mastodon.nl", tokens={"another-token"})
    try:
        bsky.add_post("ouder.bsky.social", "Trots op het Ley College!", NOW - timedelta(minutes=5))
        masto.add_status(
            "juf_anna", "<p>Kerstmarkt op het Ley College</p>", NOW - timedelta(minutes=5), tags=["LeyCollege"]
        )
        cfg = _config_naming_secrets(make_config, fake_server.url, bsky.url, masto.url)
        cfg_path = tmp_path / "edumon.toml"
        cfg_path.write_text(to_toml(cfg), encoding="utf-8")
        assert not leaks(cfg_path.read_text())  # the config names variables only
        outputs: list[str] = []

        def run(*args: str) -> Any:
            res = CliRunner().invoke(main, ["-v", *args])
            outputs.append(res.output)
            if res.exception and not isinstance(res.exception, SystemExit):
                outputs.append(f"{type(res.exception).__name__}: {res.exception}")
            return res

        # 1. authentication fails on both social sources
        failed = run("run", "--no-prefect", "--config", str(cfg_path))
        assert failed.exit_code == 1, failed.output
        wh = Warehouse(cfg.warehouse.path)
        errors = [r[0] for r in wh.query("SELECT error FROM source_runs WHERE status <> 'ok'")]
        assert len(errors) >= 2, errors  # Bluesky login and Mastodon search refused
        # the requests did carry the secrets: the test would see a leak if one were echoed
        assert any(BSKY_SECRET.encode() in r.body for r in bsky.requests_to("createSession"))

        # 2. the sources accept the secrets: a good cycle
        bsky.accounts["edumon.bsky.social"] = BSKY_SECRET
        masto.tokens.add(MASTO_SECRET)
        ok = run("run", "--no-prefect", "--config", str(cfg_path))
        assert ok.exit_code == 0, ok.output
        assert wh.query("SELECT count(*) FROM mentions WHERE source IN ('bluesky', 'mastodon')")[0][0] >= 2

        # 3. a cycle while the warehouse is locked: the spool
        bsky.add_post("ouder2.bsky.social", "Het Ley College zoekt vrijwilligers", NOW)
        lock = hold_lock(wh.path, 30)
        try:
            run("run", "--no-prefect", "--config", str(cfg_path))
        finally:
            lock.kill()
            lock.wait()
        spool = wh.path.parent / "spool"
        spooled = files_text(spool)
        assert spooled, "the locked cycle spooled nothing"
        for p, data in spooled.items():
            assert not leaks(data), p

        # 4. an export for the analysts, and the demo
        export_dir = tmp_path / "export"
        exp = run("export", "--config", str(cfg_path), "--out", str(export_dir))
        assert exp.exit_code == 0, exp.output
        exported = files_text(export_dir)
        assert exported
        demo = run("demo", "--no-prefect", "--db", str(tmp_path / "demo" / "edumon.duckdb"))
        assert demo.exit_code == 0, demo.output
        run("run", "--no-prefect", "--config", str(cfg_path))  # replays the spool

        _assert_nothing_leaks(outputs, caplog, wh.path, tmp_path, exported, env)
    finally:
        bsky.stop()


def test_a_failing_source_error_that_quotes_the_secret_is_redacted(
    env: Path, make_config: Callable[..., Config], fake_server: FakeServer
) -> None:
    """Even an error message that contains the secret (a server echoing the request) is redacted."""
    cfg = make_config(
        sources={
            "rss": [],
            "bluesky": [
                {
                    "handle": "edumon.bsky.social",
                    "base_url": fake_server.url,
                    "app_password_env": "EDUMON_BLUESKY_APP_PASSWORD",
                }
            ],
        }
    )
    target = pipeline.Target("bluesky", "edumon.bsky.social|Ley College")
    res = pipeline.FetchResult(target, status="failed", error=f"HTTP 401: bad password {BSKY_SECRET!r}")
    rep = pipeline.TargetReport("bluesky", target.key, "failed", res.error)
    from classifiers import load_classifier
    from core.secrets import Secrets

    report = pipeline.process(cfg, [(res, rep)], load_classifier(), pipeline.new_cycle(), Secrets())
    assert not leaks(report.targets[0].error or "") and "***" in (report.targets[0].error or "")
    assert not leaks(dump_database(Path(cfg.warehouse.path)))
