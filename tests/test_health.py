"""Source health rules on synthetic `source_runs` histories, the admin alert, and `edumon status`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner
from conftest import write_config

import health
from core.config import HealthConfig, load_config
from edumon.cli import main
from warehouse import Warehouse, record_run

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
H = HealthConfig(failures_before_alert=3, silent_after_hours=48)


def run(
    target: str, ago: timedelta, status: str = "ok", fetched: int = 0, error: str | None = None, now: datetime = NOW
) -> dict:
    return {
        "source": "rss",
        "target": target,
        "status": status,
        "error": error,
        "fetched": fetched,
        "new": 0,
        "started_at": now - ago,
    }


def m(n: int) -> timedelta:
    return timedelta(minutes=n)


def test_n_consecutive_failures_make_a_failing_finding():
    two = [run("a", m(60), fetched=4), run("a", m(30), "failed", error="HTTP 503"), run("a", m(15), "failed")]
    assert health.findings(two, H, NOW) == []
    three = two + [run("a", m(0), "rate_limited", error="HTTP 429")]
    (f,) = health.findings(three, H, NOW)
    assert (f.kind, f.failures, f.since, f.last_error) == ("failing", 3, NOW - m(30), "HTTP 429")
    # a success in between starts the count again
    mixed = [run("a", m(45), "failed"), run("a", m(30), "failed"), run("a", m(15), "ok"), run("a", m(0), "failed")]
    assert health.findings(mixed, H, NOW) == []


def test_silence_after_delivering_is_a_finding_and_quiet_from_the_start_is_not():
    hist = [run("a", timedelta(hours=49), fetched=7)] + [run("a", timedelta(hours=h)) for h in range(48, -1, -6)]
    (f,) = health.findings(hist, H, NOW)
    assert (f.kind, f.since) == ("silent", NOW - timedelta(hours=49))
    # 47 hours of silence is not yet
    assert health.findings([run("a", timedelta(hours=47), fetched=7), run("a", m(0))], H, NOW) == []
    # a target that never returned anything is not "silent": nothing changed
    assert health.findings([run("a", timedelta(hours=h)) for h in range(100, -1, -10)], H, NOW) == []
    # 304 Not Modified says nothing changed: no new item for 60 hours is silent (issue 18: an
    # emptied feed that kept its ETag never became SILENT when a 304 counted as delivering)
    (f,) = health.findings(
        [run("a", timedelta(hours=60), fetched=3), run("a", timedelta(hours=1), "not_modified"), run("a", m(0))],
        H,
        NOW,
    )
    assert (f.kind, f.since) == ("silent", NOW - timedelta(hours=60))
    # the last run delivered: not silent, however long ago the one before
    assert health.findings([run("a", timedelta(days=9), fetched=3), run("a", m(0), fetched=1)], H, NOW) == []


def test_findings_are_per_target_and_only_for_configured_targets():
    hist = [run("a", m(n), "failed") for n in (30, 15, 0)] + [run("b", m(n), "ok", fetched=1) for n in (30, 15, 0)]
    assert [(f.target, f.kind) for f in health.findings(hist, H, NOW)] == [("a", "failing")]
    assert health.findings(hist, H, NOW, targets=[("rss", "b")]) == []


def test_alert_id_names_the_episode_and_text_is_dutch():
    f = health.Finding("bluesky", "monitor.example.nl|Ley College", "failing", NOW - m(30), 3, "HTTP 502")
    back = health.parse_alert_id(f.alert_id)
    assert (back.source, back.target, back.kind, back.since) == (f.source, f.target, f.kind, f.since)
    text = health.alert_text(f)
    assert "Bron werkt niet" in text and "3 keer op rij" in text and "HTTP 502" in text
    assert "25-11-2026 10:30" in text  # 09:30 UTC in Amsterdam (winter time)
    assert "Bron is stil" in health.alert_text(health.Finding("rss", "x", "silent", NOW))


def _store_runs(cfg_path: Path, runs: list[dict]) -> Warehouse:
    wh = Warehouse(load_config(cfg_path).warehouse.path)
    with wh.transaction() as con:
        for r in runs:
            record_run(
                con,
                cycle_id=f"c-{r['started_at'].isoformat()}",
                source=r["source"],
                target=r["target"],
                status=r["status"],
                error=r["error"],
                http_status=None,
                requests=1,
                fetched=r["fetched"],
                relevant=0,
                new=r["new"],
                started_at=r["started_at"],
                finished_at=r["started_at"] + timedelta(seconds=2),
            )
    return wh


def test_alert_is_raised_once_per_episode(tmp_path):
    cfg_path = write_config(
        tmp_path, ["https://a.example.nl/feed"], extra='[alerts]\nadmin_contacts = ["https://beheer.example.nl/hook"]\n'
    )
    cfg = load_config(cfg_path)
    a = "https://a.example.nl/feed"
    wh = _store_runs(cfg_path, [run(a, m(n), "failed", error="HTTP 503") for n in (45, 30, 15)])
    found, new = health.check_and_alert(cfg, NOW)
    assert [f.kind for f in found] == ["failing"] and len(new) == 1
    # checking again, and after a fourth failure of the same streak: no second alert
    assert health.check_and_alert(cfg, NOW)[1] == []
    _store_runs(cfg_path, [run(a, m(0), "failed")])
    assert len(health.check_and_alert(cfg, NOW)[0]) == 1 and health.check_and_alert(cfg, NOW)[1] == []
    assert wh.query("SELECT kind, status, school_id, severity, mention_id FROM alerts") == [
        ("source_health", "pending", "*", "normal", None)
    ]
    # the source recovers, then fails three times again: a new episode, a new alert
    later = NOW + timedelta(hours=2)
    _store_runs(cfg_path, [run(a, m(n), "failed" if n < 60 else "ok", fetched=2, now=later) for n in (90, 45, 30, 15)])
    assert len(health.check_and_alert(cfg, later)[1]) == 1
    rows = wh.query("SELECT m.ref FROM alerts a JOIN alert_messages m USING (alert_id) ORDER BY a.created_at")
    assert len(rows) == 2 and [health.parse_alert_id(r[0]).since for r in rows] == [NOW - m(45), later - m(45)]


def test_silent_source_alerts_once(tmp_path):
    a = "https://a.example.nl/feed"
    cfg = load_config(
        write_config(tmp_path, [a], extra='[alerts]\nadmin_contacts = ["https://beheer.example.nl/hook"]\n')
    )
    _store_runs(cfg.path, [run(a, timedelta(hours=50), fetched=5)] + [run(a, timedelta(hours=h)) for h in (30, 10, 1)])
    assert [f.kind for f in health.check_and_alert(cfg, NOW)[1]] == ["silent"]
    assert health.check_and_alert(cfg, NOW + m(15))[1] == []


def test_status_shows_last_run_outcome_and_what_is_overdue(tmp_path):
    urls = [f"https://{x}.example.nl/feed" for x in ("fine", "failing", "silent", "stale", "new")]
    cfg_path = write_config(tmp_path, urls)
    now = datetime.now(timezone.utc)
    fine, failing, silent, stale, _ = urls
    _store_runs(
        cfg_path,
        [
            run(fine, m(20), fetched=3, now=now),
            run(fine, m(5), fetched=4, now=now),
            *[run(failing, m(n), "failed", error="HTTP 503 Service Unavailable", now=now) for n in (35, 20, 5)],
            run(silent, timedelta(days=3), fetched=6, now=now),
            run(silent, m(5), now=now),
            run(stale, timedelta(days=3), fetched=2, now=now),
        ],
    )
    res = CliRunner().invoke(main, ["status", "--config", str(cfg_path)])
    assert res.exit_code == 1, res.output  # something needs attention (issue 18: it was 0)
    lines = {ln.split()[-1]: ln for ln in res.output.splitlines() if ln.startswith("rss")}
    assert " ok " in lines[fine] and lines[fine].split()[4] == "4"  # outcome, fetched
    assert "FAILING" in lines[failing] and "HTTP 503 Service Unavailable" in res.output
    assert "SILENT" in lines[silent] and "OVERDUE" not in lines[silent]
    assert "OVERDUE" in lines[stale] and "SILENT" not in lines[stale]
    assert "never run" in lines[urls[4]] and "OVERDUE" in lines[urls[4]]
    assert "5 targets; 2 failing or silent; 2 overdue" in res.output


def test_status_before_any_cycle(tmp_path):
    cfg_path = write_config(tmp_path, ["https://a.example.nl/feed"])
    res = CliRunner().invoke(main, ["status", "--config", str(cfg_path)])
    assert res.exit_code == 1, res.output  # nothing has run: every target is overdue
    assert "never run" in res.output and "No cycle has run yet" in res.output


def test_bad_schedule_or_health_config_is_one_line(tmp_path):
    cfg_path = write_config(tmp_path, [], extra='cycle_cron = ["*/15 6-22 * *"]')
    res = CliRunner().invoke(main, ["status", "--config", str(cfg_path)])
    assert res.exit_code == 2 and "schedule.cycle_cron[0]: not a cron expression" in res.output
    cfg_path = write_config(tmp_path, [], extra="[health]\nfailures_before_alert = 0\n")
    res = CliRunner().invoke(main, ["check-config", "--config", str(cfg_path)])
    assert res.exit_code == 2 and "health.failures_before_alert: must be at least 1" in res.output


def test_overdue_follows_the_schedule_in_local_time():
    crons = ["*/15 6-22 * * *", "0 23 * * *"]
    ams = "Europe/Amsterdam"
    # 23:40 Amsterdam (22:40 UTC in winter): the last cycle was due at 23:00
    assert health.last_scheduled(crons, ams, datetime(2026, 11, 25, 22, 40, tzinfo=timezone.utc)) == datetime(
        2026, 11, 25, 22, 0, tzinfo=timezone.utc
    )
    # 05:50 Amsterdam: still 23:00 of the day before (no cycles at night)
    assert health.last_scheduled(crons, ams, datetime(2026, 11, 26, 4, 50, tzinfo=timezone.utc)) == datetime(
        2026, 11, 25, 22, 0, tzinfo=timezone.utc
    )
    # summer time: 06:20 Amsterdam is 04:20 UTC; due at 06:15 local
    assert health.last_scheduled(crons, ams, datetime(2026, 6, 1, 4, 20, tzinfo=timezone.utc)) == datetime(
        2026, 6, 1, 4, 15, tzinfo=timezone.utc
    )


def test_a_quiet_query_is_not_silent_but_a_quiet_account_is():
    def bs(query: str, ago: timedelta, fetched: int = 0) -> dict:
        return {**run("x", ago, fetched=fetched), "source": "bluesky", "target": f"monitor.example.nl|{query}"}

    quiet_query = [
        bs("RLLey", timedelta(days=5), 2),
        bs("RLLey", m(5)),
        bs("Ley College", timedelta(days=5), 3),
        bs("Ley College", timedelta(hours=1), 4),
        bs("Ley College", m(5)),
    ]
    assert health.findings(quiet_query, H, NOW) == []
    quiet_account = [
        bs("RLLey", timedelta(days=5), 2),
        bs("RLLey", m(5)),
        bs("Ley College", timedelta(days=3), 3),
        bs("Ley College", m(5)),
    ]
    (f,) = health.findings(quiet_account, H, NOW)
    assert (f.source, f.target, f.kind, f.since) == ("bluesky", "monitor.example.nl", "silent", NOW - timedelta(days=3))
    # Mastodon: hashtags and searches of one instance go quiet together
    assert health.source_group("mastodon", "mastodon.nl#leycollege") == "mastodon.nl"
    assert health.source_group("mastodon", "mastodon.nl?q=Ley College") == "mastodon.nl"
    assert health.source_group("rss", "https://a.example.nl/feed?q=x#y") == "https://a.example.nl/feed?q=x#y"
