"""The protocol at work in real cycles: fake feeds, a local webhook receiver and a local SMTP server."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from protocol_env import (
    HOOK_PATH,
    INSULT,
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    SMTP_PASSWORD,
    SMTP_USER,
    THREAT,
    Env,
    Hook,  # noqa: F401  (fixtures)
    env,
    item,
    smtp_server,
    write_config,
)

from core.mention import utcnow
from edumon import cli
from pipeline import run_cycle
from protocol import act
from warehouse import Warehouse

__all__ = ["env", "smtp_server"]
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def rows(env: Env, sql: str, params: list | None = None) -> list[dict]:
    return Warehouse(env.db).query_dicts(sql, params)


def mention_id(env: Env, guid: str) -> str:
    return rows(env, "SELECT mention_id FROM mentions WHERE source_id = ?", [guid])[0]["mention_id"]


def test_threat_alerts_once_per_channel_and_rerun_raises_none(env: Env, smtp_server) -> None:
    box, _ = smtp_server
    report = run_cycle(env.cfg)
    assert len(report.stored) == 6 and report.actions is not None and report.actions.ok
    threat = mention_id(env, "t1")

    alerts = rows(env, "SELECT * FROM alerts WHERE mention_id = ? ORDER BY channel, recipient", [threat])
    assert [(a["channel"], a["recipient"], a["kind"], a["severity"], a["status"], a["attempts"]) for a in alerts] == [
        ("email", "leiding@leycollege.example.nl", "threat", "urgent", "sent", 1),
        ("email", "veiligheid@edu-ley.example.nl", "threat", "urgent", "sent", 1),
        ("webhook", "alerts.webhook_url", "threat", "urgent", "sent", 1),
    ]

    # the webhook got exactly one post about the threat, with the Dutch what/where/why/next
    posts = [p for p in env.hook.delivered if p["mention_id"] == threat]
    assert len(posts) == 1
    text = posts[0]["text"]
    assert posts[0]["severity"] == "urgent" and posts[0]["link"] == "https://forum.example.nl/t/t1"
    assert "https://forum.example.nl/t/t1" in text and "Ley College" in text
    assert '"ik ga je opwachten"' in text.lower() and "aangifte" in text

    # the school leader and the global address each got one e-mail, after logging in with the env credentials
    leader = [m for m in box.to("leiding@leycollege.example.nl") if m["X-Edumon-Alert"] == alerts[0]["alert_id"]]
    assert len(leader) == 1 and "bedreiging" in leader[0]["Subject"].lower()
    assert "https://forum.example.nl/t/t1" in leader[0].get_payload(decode=True).decode()
    assert len(box.to("veiligheid@edu-ley.example.nl")) == 2  # the threat and the insult
    assert SMTP_USER in box.logins

    # the insult is an alert of normal severity, to the same channels
    insult = mention_id(env, "t2")
    assert {
        (a["channel"], a["severity"]) for a in rows(env, "SELECT * FROM alerts WHERE mention_id = ?", [insult])
    } == {("email", "normal"), ("webhook", "normal")}
    # the merely negative, positive and neutral posts raise none
    assert rows(env, "SELECT count(DISTINCT mention_id) AS n FROM alerts")[0]["n"] == 2

    sent_mail, sent_hooks, n_alerts = len(box.messages), len(env.hook.calls), len(rows(env, "SELECT * FROM alerts"))
    # re-run: the feed changed (one more item), so the old items are fetched and offered again
    env.set_feed(
        THREAT, INSULT, NEGATIVE, POSITIVE, NEUTRAL, item("t7", "Nieuws", "Het Ley College krijgt een nieuwe aula.")
    )
    again = run_cycle(env.cfg)
    assert len(again.stored) == 1 and again.actions.raised == []
    assert again.actions.errors == []
    assert act(env.cfg, Warehouse(env.db)).errors == []  # and acting again directly changes nothing either
    assert len(rows(env, "SELECT * FROM alerts")) == n_alerts
    assert (len(box.messages), len(env.hook.calls)) == (sent_mail, sent_hooks)


def test_secrets_are_not_stored(env: Env) -> None:
    run_cycle(env.cfg)
    dump = json.dumps(rows(env, "SELECT * FROM alerts a JOIN alert_messages USING (alert_id)"), default=str)
    assert "https://forum.example.nl/t/t1" in dump  # (the dump has the messages)
    assert HOOK_PATH not in dump and "T0KEN" not in dump and SMTP_PASSWORD not in dump


def test_failed_delivery_is_retried_next_cycle_and_delivered_once(env: Env) -> None:
    env.hook.statuses = [500, 200]
    first = run_cycle(env.cfg)
    assert len(first.stored) == 6  # storage never depends on alerting
    hook_rows = rows(env, "SELECT * FROM alerts WHERE channel = 'webhook' ORDER BY created_at, alert_id")
    assert len(hook_rows) == 2
    failed = [a for a in hook_rows if a["status"] == "failed"]
    assert len(failed) >= 1 and failed[0]["attempts"] == 1
    assert failed[0]["last_error"] == "webhook answered HTTP 500"
    assert len(first.actions.failed) == len(failed)

    second = run_cycle(env.cfg)  # nothing new in the feed (304)
    assert second.stored == [] and {a["alert_id"] for a in second.actions.delivered} == {a["alert_id"] for a in failed}
    after = {a["alert_id"]: a for a in rows(env, "SELECT * FROM alerts WHERE channel = 'webhook'")}
    assert all(a["status"] == "sent" for a in after.values())
    assert after[failed[0]["alert_id"]]["attempts"] == 2 and after[failed[0]["alert_id"]]["last_error"] is None

    run_cycle(env.cfg)
    ids = [p["alert_id"] for p in env.hook.delivered]
    assert sorted(ids) == sorted(after)  # each delivered exactly once


def test_dead_webhook_and_smtp_never_fail_storage(tmp_path, monkeypatch) -> None:
    from protocol_env import feed, free_port, make_config

    from fakes.rss import FeedHandler
    from fakes.server import FakeServer

    with FakeServer() as srv:
        srv.route("/forum.xml", FeedHandler(feed(THREAT, NEGATIVE)))
        cfg = make_config(tmp_path / "w.duckdb", srv, smtp_port=free_port())  # nobody listens there
        cfg.alerts.webhook_url = f"http://127.0.0.1:{free_port()}/hook"
        report = run_cycle(cfg)
    assert len(report.stored) == 2 and report.ok
    alerts = Warehouse(cfg.warehouse.path).query_dicts("SELECT * FROM alerts")
    assert len(alerts) == 3 and {a["status"] for a in alerts} == {"failed"}
    assert all(a["last_error"] for a in alerts)
    assert Warehouse(cfg.warehouse.path).query("SELECT count(*) FROM followups")[0][0] == 2


def test_each_negative_has_a_followup(env: Env) -> None:
    run_cycle(env.cfg)
    got = {
        r["source_id"]: (r["action"], r["status"], r["note"])
        for r in rows(
            env,
            """
        SELECT m.source_id, f.action, f.status, e.note FROM mentions m LEFT JOIN followups f USING (mention_id)
        LEFT JOIN followup_events e ON e.mention_id = m.mention_id AND e.field = 'created'""",
        )
    }
    assert got == {
        "t1": ("report_police", "open", "automatisch: threat"),
        "t2": ("in_real_life", "open", "automatisch: insult"),
        "t3": ("in_real_life", "open", "automatisch: negative"),
        "t4": ("in_real_life", "open", "automatisch: negative"),
        "t5": (None, None, None),
        "t6": (None, None, None),
    }
    created = rows(env, "SELECT * FROM followup_events WHERE field = 'created'")
    assert len(created) == 4 and {e["by_whom"] for e in created} == {"edumon"}


def test_evidence_report_works_after_the_post_is_gone(env: Env, tmp_path) -> None:
    run_cycle(env.cfg)
    threat = mention_id(env, "t1")
    ev = rows(env, "SELECT * FROM evidence")
    assert {e["source_id"] for e in ev} == {"t1", "t2"}  # threats and insults only
    e = next(x for x in ev if x["source_id"] == "t1")
    assert e["raw_sha256"] == hashlib.sha256(e["raw"].encode("utf-8")).hexdigest()
    assert json.loads(e["raw"])["link"] == "https://forum.example.nl/t/t1"  # the entry as fetched

    # the post disappears from the source and the mention from the warehouse (retention)
    env.set_feed(NEGATIVE)
    run_cycle(env.cfg)
    with Warehouse(env.db).transaction() as con:
        con.execute("DELETE FROM mentions WHERE mention_id = ?", [threat])
    assert len(rows(env, "SELECT * FROM evidence")) == 2  # a later cycle appends nothing

    cfg_path = write_config(env.cfg, tmp_path / "c.toml")
    res = CliRunner().invoke(cli.main, ["evidence", "--config", str(cfg_path), threat[:10]])
    assert res.exit_code == 0, res.output
    assert "https://forum.example.nl/t/t1" in res.output and "ik ga je opwachten" in res.output
    assert e["raw_sha256"] in res.output and "Controle: OK" in res.output and "anoniem_77" in res.output
    assert e["raw"] in res.output  # the raw payload verbatim

    missing = CliRunner().invoke(cli.main, ["evidence", "--config", str(cfg_path), mention_id(env, "t3")])
    assert missing.exit_code == 1 and "no evidence kept" in missing.output


def test_catch_up_acts_on_mentions_stored_without_protocol(env: Env) -> None:
    """A crash between storing and acting (or a spooled write) is caught up by the next act()."""
    run_cycle(env.cfg)
    with Warehouse(env.db).transaction() as con:
        con.execute("DELETE FROM protocol_done")
        con.execute("DELETE FROM followups")
    out = act(env.cfg, Warehouse(env.db), now=utcnow() + timedelta(minutes=5))
    assert out.acted_on == 6 and len(out.followups) == 4 and out.raised == []  # alerts were already raised


def test_source_health_rows_from_other_modules_are_delivered(env: Env, smtp_server) -> None:
    """The contract with the source-health check: a row in `alerts` with kind 'source_health' and
    status 'pending' is delivered by the next cycle, to `[alerts] admin_contacts`."""
    from protocol.alerts import raise_source_health

    box, _ = smtp_server
    env.cfg.alerts.admin_contacts = ["beheer@edu-ley.example.nl", env.server.url + HOOK_PATH]
    run_cycle(env.cfg)
    now = utcnow()
    with Warehouse(env.db).transaction() as con:
        # written with migration-1 columns only, no text: delivered with a generic Dutch text
        con.execute(
            """INSERT INTO alerts (alert_id, mention_id, school_id, kind, severity, channel, recipient, status,
                                           attempts, created_at) VALUES
                       ('sh-1', NULL, '*', 'source_health', 'normal', 'email', NULL, 'pending', 0, ?)""",
            [now],
        )
        # or through the helper, which routes to every admin contact and words the problem
        raised = raise_source_health(
            con, env.cfg, "rss|https://feeds.example/x.xml|2026-11-25", "de feed antwoordt al 6 uur met HTTP 503", now
        )
        assert raise_source_health(con, env.cfg, "rss|https://feeds.example/x.xml|2026-11-25", "idem", now) == []
    assert [r["channel"] for r in raised] == ["email", "webhook"]
    out = act(env.cfg, Warehouse(env.db))
    assert sorted(a["alert_id"] for a in out.delivered) == sorted(["sh-1"] + [r["alert_id"] for r in raised])
    admin = box.to("beheer@edu-ley.example.nl")
    assert len(admin) == 2 and all(m["Subject"].startswith("Bron werkt niet") for m in admin)
    assert any("HTTP 503" in m.get_payload(decode=True).decode() for m in admin)
    hooks = [p for p in env.hook.delivered if p["kind"] == "source_health"]
    assert len(hooks) == 1 and "https://feeds.example/x.xml" in hooks[0]["text"]


def test_open_police_report_keeps_evidence_through_retention(env: Env) -> None:
    """Retention (warehouse.retention) removes evidence with its mention, except while the
    report_police follow-up is open."""
    from protocol.followups import update_followup
    from warehouse.retention import purge

    run_cycle(env.cfg)
    threat, insult = mention_id(env, "t1"), mention_id(env, "t2")
    later = utcnow() + timedelta(days=env.cfg.retention.days + 2)
    purge(env.cfg, now=later)
    assert {r["mention_id"] for r in rows(env, "SELECT mention_id FROM evidence")} == {threat}
    with Warehouse(env.db).transaction() as con:
        update_followup(con, threat, by="j.devries", now=later, status="done", note="Aangifte gedaan")
    purge(env.cfg, now=later)
    assert rows(env, "SELECT * FROM evidence") == [] and insult
