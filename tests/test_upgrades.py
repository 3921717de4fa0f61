"""Upgrades (issue 18, point 8): an older edumon refuses a warehouse a newer one migrated, with one line
and without writing; the current code takes over a warehouse at the previous release's schema, data
and all, along the documented path (back up, stop, upgrade, migrate, start)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from protocol_env import HOOK_PATH, NEUTRAL, THREAT, Env, env, smtp_server, write_config

from core.mention import utcnow
from edumon.cli import main
from pipeline import run_cycle
from warehouse import SchemaTooNew, Warehouse, migrate
from warehouse.schema import LATEST, MIGRATIONS

__all__ = ["env", "smtp_server"]
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

# The schema of the previous release (session 3, ending with triage (9) and per-school decisions (10)).
# Migrations added since are the ones an upgrade applies; keep this at the last released schema.
PREVIOUS_RELEASE = 10


def tree(folder: Path) -> dict[str, str]:
    """Every file under `folder` with the SHA-256 of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- a warehouse newer than the code -------------------------------------------------------------


def test_older_code_refuses_a_newer_schema_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    db = site / "edumon.duckdb"
    Warehouse(db).migrate()
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO schema_version VALUES (?, 'from-a-newer-edumon', now())", [LATEST + 2])
    con.close()
    cfg = tmp_path / "edumon.toml"
    cfg.write_text(
        f'[organisation]\nname = "Edu-Ley"\n[warehouse]\npath = "{db}"\nlock_timeout_s = 2\n'
        '[[schools]]\nid = "ley-college"\nname = "Ley College"\n'
        '[[sources.rss]]\nurl = "http://127.0.0.1:9/feed.xml"\nretries = 0\n',
        encoding="utf-8",
    )
    before = tree(site)
    line = f"Error: {db}: the warehouse is at schema {LATEST + 2}, this edumon knows up to {LATEST}: upgrade edumon"
    c = str(cfg)
    for args in (
        ["run", "--config", c, "--no-prefect"],
        ["migrate", "--config", c],
        ["query", "--config", c, "SELECT count(*) FROM mentions"],
        ["status", "--config", c],
        ["purge", "--config", c, "--no-check-deleted"],
        ["backup", "--config", c, "--output", str(site / "b.duckdb")],
        ["followups", "list", "--config", c],
        ["digest", "--config", c],
        ["check-config", "--config", c],
    ):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2, (args, res.output)
        assert res.output.strip() == line, (args, res.output)
        assert tree(site) == before, f"{args[0]} wrote something"
    # the library refuses too, before any write (a flow run, the review page)
    for attempt in (Warehouse(db).migrate, lambda: Warehouse(db).query("SELECT 1"), lambda: Warehouse(db).states()):
        with pytest.raises(SchemaTooNew, match="upgrade edumon"):
            attempt()
    assert tree(site) == before


# --- from the previous release's schema ----------------------------------------------------------

OLD_TABLES = {  # what the previous release wrote, by column, and must still read back the same
    "mentions": "mention_id, source, source_id, url, author, title, text, text_hash, published_at, fetched_at, "
    "target, school_ids, sentiment, harm, harm_kind, cues, classifier, posted_day",
    "followups": "mention_id, school_ids, action, status, note, created_at, updated_at, updated_by",
    "alerts": "alert_id, mention_id, school_id, kind, severity, channel, recipient, status, attempts, created_at, sent_at",
    "alert_messages": "alert_id, ref, subject, body, link",
    "classifications": "text_hash, sentiment, harm, harm_kind, classifier, classified_at",
    "label_feedback": "feedback_id, mention_id, text_hash, text, kind, about_school, sentiment, harm, by_whom, created_at",
    "purged_mentions": "mention_id, purged_at, reason",
}


def build_previous_release(db: Path) -> None:
    """A warehouse as the previous release left it: its migrations only, with data in it."""
    now = utcnow()
    posted = now - timedelta(days=3)
    con = duckdb.connect(str(db))
    try:
        assert migrate(con, upto=PREVIOUS_RELEASE) == PREVIOUS_RELEASE
        con.execute(
            """INSERT INTO mentions (mention_id, source, source_id, url, author, title, text, text_hash, published_at,
                   fetched_at, target, school_ids, sentiment, harm, harm_kind, cues, classifier, posted_day)
               VALUES ('old-neg', 'rss', 'o1', 'https://forum.example.nl/t/o1', 'ouder12', 'Rooster',
                       'Weer lesuitval bij het Ley College, niemand laat iets weten.', 'h-old-neg', ?, ?,
                       'https://forum.example.nl/forum.xml', ['ley-college'], 'negative', 'none', NULL, [],
                       'e5-heads/2.ebca6f', ?::DATE),
                      ('old-pos', 'rss', 'o2', 'https://forum.example.nl/t/o2', 'opa', 'Debat',
                       'Gefeliciteerd Ley College met de debatprijs!', 'h-old-pos', ?, ?,
                       'https://forum.example.nl/forum.xml', ['ley-college'], 'positive', 'none', NULL, [],
                       'e5-heads/2.ebca6f', ?::DATE)""",
            [posted, posted, posted.date(), posted, posted, posted.date()],
        )
        con.execute(
            "INSERT INTO followups VALUES ('old-neg', ['ley-college'], 'in_real_life', 'open', 'bellen', ?, ?, 'anna')",
            [posted, posted],
        )
        con.execute(
            """INSERT INTO alerts (alert_id, mention_id, school_id, kind, severity, channel, recipient, status,
                   attempts, created_at, sent_at)
               VALUES ('old-sent', 'old-neg', 'ley-college', 'insult', 'normal', 'webhook', 'alerts.webhook_url',
                       'sent', 1, ?, ?),
                      ('old-pending', 'old-neg', 'ley-college', 'insult', 'normal', 'webhook', 'alerts.webhook_url',
                       'pending', 0, ?, NULL)""",
            [posted, posted, posted],
        )
        con.execute(
            """INSERT INTO alert_messages VALUES
               ('old-sent', 'old-neg', 'Belediging (oud)', 'al verstuurd', NULL),
               ('old-pending', 'old-neg', 'Belediging (wacht)', 'nog te versturen', NULL)"""
        )
        con.execute(
            "INSERT INTO classifications VALUES ('h-old-neg', 'negative', 'none', NULL, '{}', [], 'e5-heads/2.ebca6f', ?)",
            [posted],
        )
        con.execute(
            """INSERT INTO label_feedback (feedback_id, mention_id, text_hash, text, kind, about_school, sentiment,
                   harm, by_whom, created_at)
               VALUES ('fb1', 'old-neg', 'h-old-neg', 'Weer lesuitval', 'correction', true, 'negative', 'none', 'anna', ?)""",
            [posted],
        )
        con.execute("INSERT INTO purged_mentions VALUES ('long-gone', ?, 'retention')", [posted])
    finally:
        con.close()


def old_rows(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: sorted(con.execute(f"SELECT {cols} FROM {t}").fetchall(), key=str) for t, cols in OLD_TABLES.items()}  # noqa: S608
    finally:
        con.close()


def test_upgrade_from_the_previous_release_keeps_the_data(env: Env, smtp_server, tmp_path: Path) -> None:
    assert PREVIOUS_RELEASE < LATEST, "no migration since the previous release: move PREVIOUS_RELEASE"
    build_previous_release(env.db)
    before = old_rows(env.db)
    applied_before = Warehouse(env.db).query("SELECT version, name, applied_at FROM schema_version ORDER BY 1")
    cfg_path = write_config(env.cfg, tmp_path / "edumon.toml")
    cli = CliRunner()

    # 1. back up (the previous release's file, as it is)
    res = cli.invoke(main, ["backup", "--config", str(cfg_path), "--output", str(tmp_path / "pre-upgrade.duckdb")])
    assert res.exit_code == 0 and f"schema {PREVIOUS_RELEASE}" in res.output, res.output
    assert (
        Warehouse(tmp_path / "pre-upgrade.duckdb").query("SELECT max(version) FROM schema_version")[0][0]
        == PREVIOUS_RELEASE
    )
    # 2-3. stop, upgrade: this code.  4. migrate
    res = cli.invoke(main, ["migrate", "--config", str(cfg_path)])
    assert res.exit_code == 0, res.output
    assert f"migrated from schema {PREVIOUS_RELEASE} to {LATEST}" in res.output
    res = cli.invoke(main, ["migrate", "--config", str(cfg_path)])
    assert res.exit_code == 0 and "nothing to do" in res.output

    wh = Warehouse(env.db)
    applied = wh.query("SELECT version, name, applied_at FROM schema_version ORDER BY 1")
    assert [(v, n) for v, n, _ in applied] == sorted((v, n) for v, n, _ in MIGRATIONS)
    assert applied[: len(applied_before)] == applied_before  # the old entries untouched
    assert old_rows(env.db) == before, "the migration changed the previous release's data"
    # the new tables are there and empty, the analysts' views read the old mentions
    for version, _, sql in MIGRATIONS:
        if version > PREVIOUS_RELEASE:
            for table in [ln.split()[2] for ln in sql.splitlines() if ln.startswith("CREATE TABLE ")]:
                assert wh.query(f"SELECT count(*) FROM {table}")[0][0] == 0, table  # noqa: S608
    assert wh.query("SELECT sum(n) FROM daily_mentions")[0][0] == 2

    # 5. start: a cycle on the upgraded warehouse stores new posts, alerts once, and delivers the
    #    alert the previous release left pending (not the one it had sent)
    env.set_feed(NEUTRAL, THREAT)
    report = run_cycle(env.cfg)
    assert sorted(m.source_id for m in report.stored) == ["t1", "t6"]
    assert report.actions.errors == []
    subjects = [p.get("subject") or p.get("title") or p["text"][:40] for p in env.hook.delivered]
    assert len(env.hook.delivered) == 2, subjects  # the threat, and the old pending alert
    assert any(p["alert_id"] == "old-pending" for p in env.hook.delivered)
    assert not any(p["alert_id"] == "old-sent" for p in env.hook.delivered)
    assert all(HOOK_PATH not in str(p) for p in env.hook.delivered)
    assert wh.query("SELECT status FROM alerts WHERE alert_id = 'old-pending'")[0][0] == "sent"
    assert wh.query("SELECT count(*) FROM mentions")[0][0] == 4
    assert wh.query("SELECT status, note FROM followups WHERE mention_id = 'old-neg'") == [("open", "bellen")]

    # and the pre-upgrade backup restores into this code: migrated on the way, the alerts sent since
    # carried over, so the cycle that fetches the threat again sends nothing
    res = cli.invoke(main, ["restore", "--config", str(cfg_path), str(tmp_path / "pre-upgrade.duckdb")])
    assert res.exit_code == 0, res.output
    assert f"(schema {PREVIOUS_RELEASE}, now {LATEST})" in res.output
    assert wh.query("SELECT count(*) FROM mentions")[0][0] == 2
    run_cycle(env.cfg)
    assert len(env.hook.delivered) == 2
    assert wh.query("SELECT count(*) FROM mentions")[0][0] == 4


def test_going_back_an_older_edumon_restores_over_a_newer_warehouse(tmp_path: Path) -> None:
    """After an upgrade that went wrong: the older code refuses the newer file for everything but
    `edumon restore`, which puts the backup back and keeps the alerts the newer code sent."""
    db = tmp_path / "edumon.duckdb"
    cfg = tmp_path / "edumon.toml"
    cfg.write_text(
        f'[organisation]\nname = "Edu-Ley"\n[warehouse]\npath = "{db}"\n[[schools]]\nid = "ley-college"\nname = "Ley College"\n',
        encoding="utf-8",
    )
    Warehouse(db).migrate()
    backup = tmp_path / "before-upgrade.duckdb"
    assert CliRunner().invoke(main, ["backup", "--config", str(cfg), "--output", str(backup)]).exit_code == 0
    con = duckdb.connect(str(db))  # what the newer edumon did: a migration of its own, an alert sent
    con.execute("ALTER TABLE alerts ADD COLUMN delivered_via VARCHAR")
    con.execute(
        """INSERT INTO alerts (alert_id, mention_id, school_id, kind, severity, channel, recipient, status, attempts,
               created_at, sent_at, delivered_via)
           VALUES ('sent-by-newer', 'm1', 'ley-college', 'threat', 'urgent', 'webhook', 'alerts.webhook_url', 'sent',
                   1, now(), now(), 'ledger')"""
    )
    con.execute("INSERT INTO schema_version VALUES (?, 'newer', now())", [LATEST + 1])
    con.close()
    assert CliRunner().invoke(main, ["status", "--config", str(cfg)]).exit_code == 2
    res = CliRunner().invoke(main, ["restore", "--config", str(cfg), str(backup)])
    assert res.exit_code == 0, res.output
    wh = Warehouse(db)
    assert wh.query("SELECT max(version) FROM schema_version")[0][0] == LATEST
    assert wh.query("SELECT alert_id, status FROM alerts") == [("sent-by-newer", "sent")]
    assert (
        CliRunner().invoke(main, ["query", "--main", "--config", str(cfg), "SELECT count(*) FROM alerts"]).exit_code
        == 0
    )
