"""Threat alerts never wait for the warehouse's lock (issue 18, point 7): sent right after
classification, exactly once, recorded in the ledger and reconciled into the warehouse when it
can be written again."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from protocol_env import INSULT, THREAT, Env, env, smtp_server

import pipeline
from classifiers import Classifier, load_classifier
from edumon.cli.report import cycle_summary
from pipeline import hooks
from protocol import ledger
from tests.locks import hold_lock
from warehouse import Warehouse

__all__ = ["env", "smtp_server"]
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def threat_posts(env: Env) -> list[dict]:
    return [p for p in env.hook.delivered if p["kind"] == "threat"]


def run_in_thread(env: Env, clf: Classifier) -> tuple[threading.Thread, list[pipeline.CycleReport]]:
    out: list[pipeline.CycleReport] = []
    t = threading.Thread(target=lambda: out.append(pipeline.run_cycle(env.cfg, classifier=clf)))
    t.start()
    return t, out


def test_threat_alert_goes_out_at_once_while_the_warehouse_is_locked_and_only_once(env: Env, smtp_server) -> None:
    box, _ = smtp_server
    env.cfg.warehouse.lock_timeout_s = 10
    env.set_feed(THREAT, INSULT)
    Warehouse(env.db).migrate()
    clf = load_classifier(env.cfg.classifier)  # loaded (and warmed up) before the clock starts
    clf.classify(["Het Ley College houdt een open dag."])
    store_started: list[float] = []
    received_before_store: list[bool] = []  # seen by the receiver itself, not by a polling loop

    def before_store(name: str) -> None:
        if name == "before-store":
            store_started.append(time.monotonic())
            received_before_store.append(bool(threat_posts(env)))

    remove = hooks.install(before_store)
    holder = hold_lock(env.db, 120)  # another process holds the DuckDB file (read-write)
    try:
        t0 = time.monotonic()
        thread, reports = run_in_thread(env, clf)
        while not threat_posts(env) and time.monotonic() - t0 < 30:
            time.sleep(0.02)
        arrived = time.monotonic()
        thread.join(60)
        done = time.monotonic()
        assert threat_posts(env), "no threat alert while the warehouse was locked"
        # the alert was out before the cycle began to wait for the lock, and within seconds of the start
        assert received_before_store[0] and arrived - t0 < env.cfg.warehouse.lock_timeout_s, arrived - t0
        assert done - store_started[0] >= env.cfg.warehouse.lock_timeout_s  # the store did wait, then spooled
        first = reports[0]
        assert first.spooled == 2 and first.actions is None  # stored nothing: spooled
        assert len(first.urgent.sent) == 3  # webhook, the school leader and the group's address
        assert len(threat_posts(env)) == 1
        assert len([m for _, m in box.messages if "bedreiging" in m["Subject"].lower()]) == 2
        assert not [p for p in env.hook.delivered if p["kind"] == "insult"]  # an insult waits for the store

        # a second cycle while still locked: the same posts are fetched again (no cursor kept), no alert again
        env.cfg.warehouse.lock_timeout_s = 2
        again = pipeline.run_cycle(env.cfg)
        assert again.spooled == 2 and again.urgent.sent == [] and again.urgent.failed == []
        assert len(threat_posts(env)) == 1
        # `edumon run` says so while the store is spooled
        assert "Urgent alerts sent before the store: 3; failed: 0" in cycle_summary(env.cfg, first)
    finally:
        remove()
        holder.kill()
        holder.wait()

    # the lock is gone: the spool is written, the threat alert recorded as sent, not sent again
    after = pipeline.run_cycle(env.cfg)
    assert after.ok and after.replayed == 2, after.error
    assert len(threat_posts(env)) == 1
    assert len([p for p in env.hook.delivered if p["kind"] == "insult"]) == 1  # the insult goes out now
    wh = Warehouse(env.db)
    rows = wh.query_dicts(
        "SELECT a.*, m.body FROM alerts a JOIN alert_messages m USING (alert_id) WHERE a.kind = 'threat' "
        "ORDER BY channel, recipient"
    )
    assert [(r["channel"], r["status"], r["attempts"]) for r in rows] == [
        ("email", "sent", 1),
        ("email", "sent", 1),
        ("webhook", "sent", 1),
    ]
    assert {r["alert_id"] for r in rows} == {p["alert_id"] for p in threat_posts(env)} | {
        m["X-Edumon-Alert"] for _, m in box.messages if "bedreiging" in m["Subject"].lower()
    }
    assert all("opwachten" in r["body"] for r in rows)
    assert ledger.owned(env.cfg) == set()  # the warehouse owns them now
    with ledger.connect(env.cfg) as con:  # and the ledger keeps no text
        assert con.execute("SELECT count(*) FROM urgent_alerts WHERE row IS NOT NULL").fetchone()[0] == 0

    # and nothing more on later cycles
    pipeline.run_cycle(env.cfg)
    assert len(threat_posts(env)) == 1 and len(box.messages) == 4
    assert len(wh.query("SELECT * FROM alerts WHERE kind = 'threat'")) == 3


def test_an_urgent_alert_that_failed_while_locked_is_retried_once_per_cycle(env: Env) -> None:
    env.cfg.warehouse.lock_timeout_s = 2
    env.cfg.alerts.smtp.host = None  # webhook only
    env.hook.statuses = [503, 200]
    env.set_feed(THREAT)
    Warehouse(env.db).migrate()
    holder = hold_lock(env.db, 120)
    try:
        first = pipeline.run_cycle(env.cfg)
        assert [f["last_error"] for f in first.urgent.failed] == ["webhook answered HTTP 503"]
        second = pipeline.run_cycle(env.cfg)  # still locked: the ledger retries it
        assert len(second.urgent.sent) == 1
    finally:
        holder.kill()
        holder.wait()
    pipeline.run_cycle(env.cfg)
    assert len(env.hook.calls) == 2 and len(env.hook.delivered) == 1
    rows = Warehouse(env.db).query_dicts("SELECT status, attempts FROM alerts WHERE kind = 'threat'")
    assert rows == [{"status": "sent", "attempts": 2}]


def test_without_a_lock_the_threat_is_alerted_once_before_the_store(env: Env, tmp_path: Path) -> None:
    report = pipeline.run_cycle(env.cfg)
    assert report.ok and len(report.stored) == 6
    sent = {r["alert_id"] for r in report.urgent.sent}
    assert len(sent) == 3 and sent <= {a["alert_id"] for a in report.actions.delivered}
    assert len(threat_posts(env)) == 1
    rows = Warehouse(env.db).query_dicts("SELECT alert_id, status, attempts FROM alerts WHERE kind = 'threat'")
    assert {r["alert_id"] for r in rows} == sent and {(r["status"], r["attempts"]) for r in rows} == {("sent", 1)}
