"""Issue 18, point 6: admin alerts counted in time, not cycles, and silence judged on content per
source kind.  Plain functions with the clock as a parameter; the older keys still load."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from conftest import write_config

import health
from core.config import ConfigError, HealthConfig, load_config

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


def m(n: float) -> timedelta:
    return timedelta(minutes=n)


def h(n: float) -> timedelta:
    return timedelta(hours=n)


def run(
    ago: timedelta,
    status: str = "ok",
    fetched: int = 0,
    newest: datetime | None = None,
    target: str = "https://a.example.nl/feed",
    source: str = "rss",
) -> dict:
    return {
        "source": source,
        "target": target,
        "status": status,
        "error": "HTTP 503" if status == "failed" else None,
        "fetched": fetched,
        "new": 0,
        "started_at": NOW - ago,
        "newest_item_at": newest,
    }


def every(step: timedelta, start: timedelta, end: timedelta = timedelta(0), **kw) -> list[dict]:
    """Runs every `step` from `start` ago up to `end` ago (oldest first)."""
    out, t = [], start
    while t >= end:
        out.append(run(t, **kw))
        t -= step
    return out


# --- failing: time, not cycles ---------------------------------------------------------------


def test_a_source_down_for_30_minutes_is_failing_whatever_the_cycle_length():
    cfg = HealthConfig()  # default: failing_after_minutes = 30
    ok = [run(m(60), fetched=2)]
    # 15-minute cycles: failures at -30, -15, 0 span 30 minutes
    assert health.findings(ok + every(m(15), m(15), status="failed"), cfg, NOW) == []
    (f,) = health.findings(ok + every(m(15), m(30), status="failed"), cfg, NOW)
    assert (f.kind, f.since, f.failures) == ("failing", NOW - m(30), 3)
    # 5-minute cycles: 6 failures span 25 minutes (not yet), 7 span 30
    assert health.findings(ok + every(m(5), m(25), status="failed"), cfg, NOW) == []
    (f,) = health.findings(ok + every(m(5), m(30), status="failed"), cfg, NOW)
    assert (f.since, f.failures) == (NOW - m(30), 7)
    # hourly cycles: the second failure, an hour after the first
    (f,) = health.findings(ok + every(m(60), m(60), status="failed"), cfg, NOW)
    assert f.failures == 2
    # one failure never spans any time: a single blip is not failing
    assert health.findings(ok + [run(m(0), "failed")], cfg, NOW) == []


def test_failing_after_minutes_is_configurable_and_a_success_ends_the_streak():
    quick = HealthConfig(failing_after_minutes=10)
    hist = [run(m(40), "failed"), run(m(30), "failed"), run(m(20), fetched=1), run(m(10), "failed")]
    assert health.findings(hist, quick, NOW) == []  # the success at -20 started the count again
    (f,) = health.findings(hist + [run(m(0), "rate_limited")], quick, NOW)
    assert (f.since, f.failures) == (NOW - m(10), 2)
    first = HealthConfig(failing_after_minutes=0)  # 0: the first failure
    assert [f.kind for f in health.findings([run(m(0), "failed")], first, NOW)] == ["failing"]


def test_which_key_wins():
    # neither key: 30 minutes
    assert health.Thresholds.of(HealthConfig()).failing_after == m(30)
    # an older config with only failures_before_alert keeps its meaning: N cycles in a row
    old = health.Thresholds.of(HealthConfig(failures_before_alert=3))
    assert (old.failing_after, old.failures_before_alert) == (None, 3)
    two = every(m(15), m(15), status="failed")  # 2 failures, 15 minutes
    assert health.findings(two, HealthConfig(failures_before_alert=2), NOW) != []
    # both: the time rule wins
    both = HealthConfig(failures_before_alert=2, failing_after_minutes=30)
    assert health.Thresholds.of(both).failing_after == m(30)
    assert health.findings(two, both, NOW) == []
    # silence: the per-kind key wins, then the older one-for-all key, then the per-kind default
    t = health.Thresholds.of(HealthConfig())
    assert (t.silent_for("rss"), t.silent_for("bluesky"), t.silent_for("mastodon")) == (h(48), h(168), h(336))
    t = health.Thresholds.of(HealthConfig(silent_after_hours=24, silent_after_hours_mastodon=0))
    assert (t.silent_for("rss"), t.silent_for("bluesky"), t.silent_for("mastodon")) == (h(24), h(24), None)


def test_old_and_new_keys_load_from_toml_and_bad_values_are_one_line(tmp_path):
    old = load_config(
        write_config(tmp_path, [], extra="[health]\nfailures_before_alert = 3\nsilent_after_hours = 48\n")
    )
    assert (old.health.failures_before_alert, old.health.silent_after_hours) == (3, 48.0)
    new = load_config(
        write_config(
            tmp_path,
            [],
            extra="[health]\nfailing_after_minutes = 20\nsilent_after_hours_rss = 24\nsilent_after_hours_bluesky = 0\n",
        )
    )
    assert health.Thresholds.of(new.health).failing_after == m(20)
    for extra, message in [
        ("failing_after_minutes = -1", "health.failing_after_minutes: must not be negative"),
        ("silent_after_hours_rss = -2", "health.silent_after_hours_rss: must not be negative"),
        ('heartbeat_url = "ftp://hc.example.nl/x"', "health.heartbeat_url: expected an http(s) URL"),
        ('heartbeat_url_env = "https://hc-ping.com/secret-token"', "health.heartbeat_url_env: expected the NAME"),
        ("heartbeat_timeout_s = 0", "health.heartbeat_timeout_s: must be more than 0"),
    ]:
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
            load_config(write_config(tmp_path, [], extra=f"[health]\n{extra}\n"))
        assert "secret-token" not in str(e.value)


# --- silent: content, per kind -------------------------------------------------------------


RSS = HealthConfig()  # rss 48 h, bluesky 168 h, mastodon 336 h


def test_an_emptied_feed_that_keeps_its_etag_becomes_silent():
    last_item = NOW - h(50)
    hist = [run(h(n), fetched=5, newest=NOW - h(n)) for n in (60, 55, 50)]  # new items until 50 h ago
    hist += [run(h(49.5), fetched=0)]  # emptied: 200 with no items, and an ETag
    hist += every(h(1), h(49), status="not_modified")  # then 304 Not Modified every hour
    (f,) = health.findings(hist, RSS, NOW)
    assert (f.kind, f.since) == ("silent", last_item)
    assert health.findings(hist, RSS, NOW - h(3)) == []  # 47 hours after the last item: not yet


def test_a_feed_repeating_old_items_is_silent_and_a_304_with_news_since_is_not():
    stale = NOW - h(72)
    hist = every(m(15), h(60), fetched=10, newest=stale)  # 200 every cycle, same items
    (f,) = health.findings(hist, RSS, NOW)
    assert f.since == NOW - h(60)  # counted from the first run: the items were old when we started
    # a feed with a new item 10 hours ago that answers 304 since: not silent
    news = [run(h(70), fetched=3, newest=NOW - h(70)), run(h(10), fetched=4, newest=NOW - h(10))]
    assert health.findings(news + every(h(1), h(9), status="not_modified"), RSS, NOW) == []


def test_an_item_dated_in_the_future_counts_as_the_run_that_saw_it():
    hist = [run(h(50), fetched=1, newest=NOW + timedelta(days=365))] + every(h(1), h(49), status="not_modified")
    (f,) = health.findings(hist, RSS, NOW)
    assert f.since == NOW - h(50)


def test_a_quiet_hashtag_or_search_is_not_silent_the_way_a_feed_is():
    def masto(ago, fetched=0, tag="#leycollege"):
        return run(
            ago, fetched=fetched, newest=NOW - ago if fetched else None, target="mastodon.nl" + tag, source="mastodon"
        )

    def bsky(ago, fetched=0, q="Ley College"):
        return run(
            ago, fetched=fetched, newest=NOW - ago if fetched else None, target="bsky.example|" + q, source="bluesky"
        )

    # four days without a post with the hashtag, the instance answering all the time
    quiet_tag = [masto(h(100), 2)] + [masto(h(n)) for n in range(99, -1, -3)]
    assert health.findings(quiet_tag, RSS, NOW) == []
    # the same four days on an RSS feed would be silent
    assert [f.kind for f in health.findings([run(h(100), fetched=2, newest=NOW - h(100)), run(h(0))], RSS, NOW)] == [
        "silent"
    ]
    # a Bluesky account: nothing from any of its queries for 8 days is silent (default 168 h)
    quiet_account = [bsky(h(8 * 24), 3), bsky(h(8 * 24), 1, "RLLey"), bsky(h(0)), bsky(h(0), q="RLLey")]
    (f,) = health.findings(quiet_account, RSS, NOW)
    assert (f.source, f.target, f.since) == ("bluesky", "bsky.example", NOW - h(8 * 24))
    # ... but not when one of its queries still brings posts
    assert health.findings(quiet_account + [bsky(h(1), 1, "RLLey")], RSS, NOW) == []
    # a Mastodon instance: two weeks (default 336 h); 0 switches a kind off
    two_weeks = [masto(h(15 * 24), 2), masto(h(0))]
    assert [f.kind for f in health.findings(two_weeks, RSS, NOW)] == ["silent"]
    assert health.findings(two_weeks, HealthConfig(silent_after_hours_mastodon=0), NOW) == []


def test_a_source_that_never_brought_anything_is_quiet_not_silent():
    assert health.findings(every(h(6), h(200), status="not_modified"), RSS, NOW) == []
    assert health.findings(every(h(6), h(200), fetched=0), RSS, NOW) == []


def test_the_runs_in_the_future_of_the_clock_are_not_judged():
    hist = [run(h(60), fetched=3, newest=NOW - h(60)), run(m(0), status="not_modified")]
    assert health.findings(hist, RSS, NOW - h(13)) == []  # at that time only the first run existed
    assert len(health.findings(hist, RSS, NOW)) == 1


# --- the warehouse query keeps what the rules need, however long the history -----------------


def test_long_histories_keep_the_start_of_the_streak_and_the_last_new_item(tmp_path):
    from warehouse import Warehouse, record_run

    feed, quiet = "https://a.example.nl/feed", "https://b.example.nl/feed"
    cfg = load_config(
        write_config(tmp_path, [feed, quiet], extra='[alerts]\nadmin_contacts = ["https://beheer.example.nl/hook"]\n')
    )
    wh = Warehouse(cfg.warehouse.path)
    runs = [run(timedelta(days=5), fetched=3, newest=NOW - timedelta(days=5))]
    runs += every(m(15), timedelta(days=4), status="failed")  # 385 failures in a row
    runs += [run(timedelta(days=10), fetched=2, newest=NOW - timedelta(days=11), target=quiet)]
    runs += every(m(15), timedelta(days=9), status="not_modified", target=quiet)  # 865 answers of 304
    with wh.transaction() as con:
        for i, r in enumerate(runs):
            record_run(
                con,
                cycle_id=f"c{i}",
                source="rss",
                target=r["target"],
                status=r["status"],
                error=r["error"],
                http_status=None,
                requests=1,
                fetched=r["fetched"],
                relevant=0,
                new=0,
                started_at=r["started_at"],
                finished_at=r["started_at"] + timedelta(seconds=1),
                newest_item_at=r["newest_item_at"],
            )
    found, alerted = health.check_and_alert(cfg, NOW)
    assert {(f.kind, f.target, f.since) for f in alerted} == {
        ("failing", feed, NOW - timedelta(days=4)),
        ("silent", quiet, NOW - timedelta(days=10)),  # the first run: its items were already a day old
    }
    with wh.connect(read_only=True) as con:
        kept = health.recent_runs(con, cfg.health, NOW)
    assert len(kept) < len(runs) / 2  # not the whole history: the streak, the first run, the newest content
    # an hour later, still failing and still quiet: the same episodes, no second alert
    assert health.check_and_alert(cfg, NOW + timedelta(hours=1))[1] == []
