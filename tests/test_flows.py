"""The Prefect flows run for real (one session harness) against fake RSS sources on 127.0.0.1."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import rss_feed, write_config
from protocol_env import SMTP_PASSWORD, SMTP_USER, smtp_server  # noqa: F401  (fixture)

from core.config import load_config
from edumon.cli import main
from fakes.rss import FeedHandler
from fakes.server import FakeServer, Response
from flows.monitor import monitor_cycle
from pipeline.cyclelock import cycle_lock, lock_path
from warehouse import Warehouse

GOOD = rss_feed(
    [
        ("g1", "Leerlingen Ley College winnen debatwedstrijd", "Vier leerlingen van het Ley College wonnen de finale."),
        (
            "g2",
            "Ouders boos over verkeerschaos bij De Regenboog",
            "Ouders in Leiderdorp klagen over onveilige situaties.",
        ),
        ("g3", "Wegwerkzaamheden op de Hoofdstraat", "Niets over een school."),
    ]
)
OTHER = rss_feed([("o1", "Ley College opent nieuwe sporthal", "De nieuwe sporthal van het Ley College is geopend.")])


@pytest.fixture()
def sources():
    with FakeServer() as srv:
        srv.route("/good.xml", FeedHandler(GOOD))
        srv.route("/other.xml", FeedHandler(OTHER))
        srv.route("/broken.xml", lambda req: Response(503, b"down for maintenance"))
        srv.route("/gone.xml", lambda req: Response(404, b"not found"))
        yield srv


def rows(cfg_path: Path, sql: str) -> list[tuple]:
    return Warehouse(load_config(cfg_path).warehouse.path).query(sql)


def test_failing_source_fails_the_run_after_storing_the_others(prefect_harness, sources, tmp_path):
    cfg = write_config(tmp_path, [sources.url + "/good.xml", sources.url + "/broken.xml", sources.url + "/other.xml"])
    state = monitor_cycle(str(cfg), return_state=True)

    assert state.is_failed()
    assert "1 source(s) failed" in state.message and "/broken.xml" in state.message and "503" in state.message
    # the healthy feeds are stored: two school mentions from good.xml, one from other.xml
    assert sorted(r[0] for r in rows(cfg, "SELECT source_id FROM mentions")) == ["g1", "g2", "o1"]
    runs = dict(rows(cfg, "SELECT target, status FROM source_runs"))
    assert runs == {
        sources.url + "/good.xml": "ok",
        sources.url + "/broken.xml": "failed",
        sources.url + "/other.xml": "ok",
    }
    # one layer of retries: the connector's own (retries = 0 here), never Prefect's on top
    assert len(sources.requests_to("/broken.xml")) == 1
    assert len(sources.requests_to("/good.xml")) == 1
    report = state.result(raise_on_failure=False)
    assert [t.status for t in report.targets if t.target.endswith("broken.xml")] == ["failed"]


def test_client_error_is_not_retried_and_rerun_stores_nothing_twice(prefect_harness, sources, tmp_path):
    cfg = write_config(tmp_path, [sources.url + "/good.xml", sources.url + "/gone.xml"])
    first = monitor_cycle(str(cfg), return_state=True)
    assert first.is_failed() and "404" in first.message
    assert len(sources.requests_to("/gone.xml")) == 1  # a 404 is not worth a retry
    second = monitor_cycle(str(cfg), return_state=True)
    assert second.is_failed()
    assert rows(cfg, "SELECT count(*) FROM mentions") == [(2,)]
    assert rows(cfg, "SELECT count(*) FROM source_runs") == [(4,)]


def test_healthy_cycle_completes(prefect_harness, sources, tmp_path):
    cfg = write_config(tmp_path, [sources.url + "/good.xml"])
    state = monitor_cycle(str(cfg), return_state=True)
    assert state.is_completed(), state.message
    report = state.result()
    assert [m.source_id for m in report.stored] == ["g1", "g2"]


def test_three_failed_cycles_raise_one_admin_alert(prefect_harness, sources, tmp_path):
    hook = []
    sources.route("/hook", lambda req: (hook.append(req), Response(200, b"ok"))[1])
    cfg = write_config(
        tmp_path,
        [sources.url + "/good.xml", sources.url + "/gone.xml"],
        extra=f'[health]\nfailures_before_alert = 3\n[alerts]\nadmin_contacts = ["{sources.url}/hook"]\n',
    )
    for n in range(4):
        monitor_cycle(str(cfg), return_state=True)
        alerts = rows(cfg, "SELECT a.kind, a.school_id, m.ref FROM alerts a JOIN alert_messages m USING (alert_id)")
        assert len(alerts) == (1 if n >= 2 else 0), f"after cycle {n + 1}: {alerts}"
    kind, school, ref = alerts[0]
    assert (kind, school) == ("source_health", "*")
    assert ref.endswith("|rss|" + sources.url + "/gone.xml")
    # raised after cycle 3, delivered once by cycle 4's alert run, in Dutch
    assert rows(cfg, "SELECT status FROM alerts") == [("sent",)]
    assert len(hook) == 1 and "Bron" in hook[0].body.decode("utf-8")


def test_a_cycle_never_overlaps_a_running_one(prefect_harness, sources, tmp_path):
    cfg_path = write_config(tmp_path, [sources.url + "/good.xml"])
    cfg = load_config(cfg_path)
    with cycle_lock(cfg, "cycle"):
        state = monitor_cycle(str(cfg_path), return_state=True)
        assert state.is_cancelled()
        assert "skipped" in state.message and str(os.getpid()) in state.message
        # the same by hand, with and without Prefect: a clear one-line refusal, nothing fetched
        for flag in ("--prefect", "--no-prefect"):
            res = CliRunner().invoke(main, ["run", "--config", str(cfg_path), flag])
            assert res.exit_code == 1, res.output
            assert "this cycle is skipped" in res.output
    assert sources.requests_to("/good.xml") == []
    assert not Path(cfg.warehouse.path).exists() or rows(cfg_path, "SELECT count(*) FROM source_runs") == [(0,)]
    # once the lock is free the next cycle runs
    assert monitor_cycle(str(cfg_path), return_state=True).is_completed()


def test_edumon_run_uses_the_flow_and_exits_1_on_a_failed_source(prefect_harness, sources, tmp_path):
    cfg = write_config(tmp_path, [sources.url + "/good.xml", sources.url + "/broken.xml"])
    res = CliRunner().invoke(main, ["run", "--config", str(cfg)])
    assert res.exit_code == 1, res.output
    assert "failed" in res.output and "Stored 2 new mentions" in res.output


# --- digest and retention -------------------------------------------------------------------


def test_daily_digest_builds_html_and_text_then_sends(prefect_harness, sources, tmp_path, smtp_server, monkeypatch):
    from flows import digest

    mailbox, port = smtp_server
    monkeypatch.setenv("EDUMON_TEST_SMTP_USER", SMTP_USER)
    monkeypatch.setenv("EDUMON_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    cfg = write_config(
        tmp_path,
        [sources.url + "/good.xml"],
        extra=f"""
[digest]
recipients = ["communicatie@edu-ley.example.nl"]
[alerts.smtp]
host = "127.0.0.1"
port = {port}
user_env = "EDUMON_TEST_SMTP_USER"
password_env = "EDUMON_TEST_SMTP_PASSWORD"
starttls = false
""",
    )
    monitor_cycle(str(cfg), return_state=True)
    state = digest.daily_digest(str(cfg), return_state=True)
    assert state.is_completed(), state.message
    out = state.result()
    assert "Ley College" in out["html"] and "Ley College" in out["text"]
    [msg] = mailbox.to("communicatie@edu-ley.example.nl")
    assert "Ley College" in msg.as_string()
    # a given day (a deployment run passes it as an ISO string), built without sending
    state = digest.daily_digest(str(cfg), day="2026-11-24", send_mail=False, return_state=True)
    assert state.is_completed() and state.result()["sent"] is None
    assert len(mailbox.messages) == 1


def test_retention_purges_old_mentions_under_the_warehouse_lock(prefect_harness, tmp_path, monkeypatch):
    from flows import retention
    from warehouse import retention as policy

    feed = rss_feed(
        [
            ("old", "Ley College in het nieuws", "Een oud bericht over het Ley College."),
            ("new", "Ley College opent sporthal", "Een nieuw bericht over het Ley College."),
        ]
    )
    feed = feed.replace(
        b'<guid isPermaLink="false">old</guid><pubDate>Tue, 24 Nov 2026',
        b'<guid isPermaLink="false">old</guid><pubDate>Tue, 06 Jan 2026',
    )
    with FakeServer() as src:
        src.route("/feed.xml", FeedHandler(feed))
        cfg_path = write_config(tmp_path, [src.url + "/feed.xml"])
        assert monitor_cycle(str(cfg_path), return_state=True).is_completed()
    assert sorted(r[0] for r in rows(cfg_path, "SELECT source_id FROM mentions")) == ["new", "old"]
    cfg = load_config(cfg_path)
    held: list[bool] = []
    real_purge = policy.purge

    def purge_and_check_lock(c):
        fd = os.open(lock_path(c), os.O_RDWR)  # while purge runs, nobody else gets the lock
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held.append(False)
        except BlockingIOError:
            held.append(True)
        finally:
            os.close(fd)
        return real_purge(c)

    monkeypatch.setattr(policy, "purge", purge_and_check_lock)
    state = retention.retention(str(cfg_path), return_state=True)
    assert state.is_completed(), state.message
    assert held == [True] and state.result().expired == 1
    assert rows(cfg_path, "SELECT source_id FROM mentions") == [("new",)]
    # a retention run that finds the warehouse busy is skipped, not run beside the cycle
    monkeypatch.setattr(retention, "RETENTION_LOCK_WAIT_S", 0.2)
    with cycle_lock(cfg, "cycle"):
        state = retention.retention(str(cfg_path), return_state=True)
    assert state.is_cancelled() and "retention is skipped" in state.message
    assert held == [True]


def test_a_failing_feed_gets_only_the_connectors_retries(prefect_harness, sources, tmp_path):
    """The connector retries its own requests; the flow adds none (a 503 feed with retries = 2
    gets 3 GETs, not 3 times Prefect's attempts)."""
    cfg = write_config(tmp_path, [sources.url + "/broken.xml"])
    cfg.write_text(cfg.read_text().replace("retries = 0", "retries = 2"), encoding="utf-8")
    state = monitor_cycle(str(cfg), return_state=True)
    assert state.is_failed() and "503" in state.message
    assert len(sources.requests_to("/broken.xml")) == 3
