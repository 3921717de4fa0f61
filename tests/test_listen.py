"""`edumon listen` (issue 19) against a local Jetstream (websockets) and a local Mastodon streaming
server driven by Mastodon.py's own stream listener: a threat reaches the webhook within 60 s at
any hour, a restart loses nothing and stores nothing twice, a dead stream is a health finding."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from protocol_env import HOOK_PATH, Hook
from protocol_env import make_config as protocol_config

import health
from classifiers import load_classifier
from connectors import jetstream as js
from connectors.bluesky.helpers import to_mention as search_mention
from core.config import ConfigError, parse_config
from core.secrets import Secrets
from edumon.cli import main
from fakes.jetstream import FakeJetstream
from fakes.mastodon_stream import FakeMastodonStream
from fakes.server import FakeServer
from pipeline import listen as pl
from protocol.alerts import in_quiet_hours
from warehouse import Warehouse
from warehouse.streams import load_streams

THREAT = "Morgen neem ik een mes mee naar het Ley College, dan zullen ze het merken."
INSULT = "Die juf van het Ley College is een sukkel en een kankerwijf."
NOISE = "Mooi weer vandaag in Leiden, lekker fietsen."


def config(tmp_path: Path, srv: FakeServer, *, jet: str | None = None, masto: str | None = None, **extra: Any):
    cfg = protocol_config(tmp_path / "w.duckdb", srv, None, **extra)
    cfg.sources.rss = []
    data_sources: dict[str, Any] = {}
    if jet:
        data_sources["jetstream"] = [{"url": jet, "rewind_s": 2, "silent_after_s": 1, "timeout_s": 3}]
    if masto:
        data_sources["mastodon"] = [{"api_base_url": masto, "hashtags": ["LeyCollege"], "stream": True, "timeout_s": 3}]
    from edumon.cli.cycle import to_toml

    text = to_toml(cfg)
    import tomllib

    data = tomllib.loads(text)
    data["sources"] = data_sources
    data["listen"] = {"batch_s": 0.3, "run_every_s": 0.5, "lock_wait_s": 2}
    data["classifier"] = {"backend": "rules"}
    for k, v in extra.items():
        data[k] = {**data.get(k, {}), **v}
    return parse_config(data)


@pytest.fixture
def hook_server():
    with FakeServer() as srv:
        hook = Hook()
        srv.route(HOOK_PATH, hook)
        yield srv, hook


class Running:
    """`pipeline.listen.listen` in a thread, stopped at the end."""

    def __init__(self, cfg) -> None:
        self.cfg, self.stop = cfg, threading.Event()
        self.state: pl.Listening | None = None
        self.stored: list[Any] = []  # mentions stored for the first time, batch by batch
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        def seen(out: pl.BatchOutcome) -> None:
            if out.report is not None:
                self.stored.extend(out.report.stored)

        classifier = load_classifier(self.cfg.classifier)
        self.state = pl.listen(self.cfg, classifier, Secrets(environ={}), self.stop, on_batch=seen)

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


def wait_for(cond, timeout: float = 60.0) -> float:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError("timed out")
        time.sleep(0.05)
    return time.monotonic() - t0


def stored(cfg) -> list[dict[str, Any]]:
    """The stored mentions, read once the listener stopped (in one process DuckDB refuses a
    read-only connection beside a read-write one, so the tests wait on `Running.stored`)."""
    return Warehouse(cfg.warehouse.path).query_dicts("SELECT source, source_id, text, harm FROM mentions")


# --- rules and identities ------------------------------------------------------------------------


def test_the_matcher_passes_every_form_relevance_accepts_and_little_else(make_config):
    cfg = make_config()
    m = pl.Matcher(cfg.schools)
    assert m.hit("Gisteren bij het LEY   college geweest")
    assert m.hit("#LeyCollege is top")
    assert m.hit("Ｌｅｙ Ｃｏｌｌｅｇｅ")  # full-width letters, as relevance folds them
    assert m.hit("Ley\u200b College")
    assert m.hit("Basisschool De Regenboog in Leiderdorp")
    assert not m.hit(NOISE)
    assert not m.hit("")


def test_a_stream_post_has_the_identity_the_search_gives_the_same_post():
    ev = {
        "did": "did:plc:abc123",
        "time_us": 1_765_000_000_000_000,
        "kind": "commit",
        "commit": {
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": "3kabc",
            "cid": "bafy",
            "record": {
                "text": "Open dag bij het Ley College",
                "createdAt": "2026-12-01T09:00:00.000Z",
                "langs": ["nl"],
                "embed": {
                    "$type": "app.bsky.embed.external",
                    "external": {"uri": "https://x.nl", "title": "Ley College", "description": "d"},
                },
            },
        },
    }
    streamed = js.to_mention(ev, "jetstream ws://x", datetime.now(timezone.utc))
    view = {"uri": "at://did:plc:abc123/app.bsky.feed.post/3kabc", "author": {"did": "did:plc:abc123"}, "record": {}}
    searched = search_mention(view, "q", datetime.now(timezone.utc))
    assert streamed is not None and streamed.mention_id == searched.mention_id
    assert streamed.source == "bluesky" and streamed.lang == "nl" and streamed.links == ["https://x.nl"]
    assert streamed.published_at == datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    assert js.to_mention({**ev, "commit": {**ev["commit"], "operation": "delete"}}, "k", datetime.now()) is None
    assert js.to_mention({"did": "x", "kind": "identity", "time_us": 1}, "k", datetime.now()) is None


def test_quiet_hours_cross_midnight_in_the_organisations_time_zone():
    ams = ZoneInfo("Europe/Amsterdam")
    at = lambda h, m: datetime(2026, 12, 7, h, m, tzinfo=ams)  # noqa: E731
    assert in_quiet_hours("22:00-07:00", "Europe/Amsterdam", at(23, 30))
    assert in_quiet_hours("22:00-07:00", "Europe/Amsterdam", at(6, 59))
    assert not in_quiet_hours("22:00-07:00", "Europe/Amsterdam", at(7, 0))
    assert not in_quiet_hours("22:00-07:00", "Europe/Amsterdam", at(12, 0))
    assert in_quiet_hours("12:00-13:00", "Europe/Amsterdam", at(12, 30).astimezone(timezone.utc))
    assert not in_quiet_hours(None, "Europe/Amsterdam", at(23, 30))


def test_stream_config_is_checked(tmp_path, hook_server):
    srv, _ = hook_server
    with pytest.raises(ConfigError, match=r"sources.jetstream\[0\].url: expected a ws"):
        config(tmp_path, srv, jet="https://jetstream.example/subscribe")
    with pytest.raises(ConfigError, match="alerts.quiet_hours"):
        config(tmp_path, srv, jet="ws://127.0.0.1:1/subscribe", alerts={"quiet_hours": "22-7"})


# --- against the local servers --------------------------------------------------------------------


def test_a_threat_reaches_the_webhook_within_a_minute_and_noise_is_not_kept(tmp_path, hook_server):
    srv, hook = hook_server
    with FakeJetstream() as jet:
        cfg = config(tmp_path, srv, jet=jet.url)
        with Running(cfg):
            wait_for(lambda: jet.connections)
            for i in range(50):
                jet.post(f"did:plc:noise{i}", NOISE)
            jet.post("did:plc:dreiger", THREAT)
            took = wait_for(lambda: hook.delivered)
        assert took < 60
        (alert,) = [a for a in hook.delivered if "mes" in str(a)]
        rows = stored(cfg)
        assert [r["text"] for r in rows] == [THREAT] and rows[0]["harm"] == "threat"
        assert rows[0]["source_id"].startswith("at://did:plc:dreiger/app.bsky.feed.post/")


def test_urgent_alerts_go_out_during_quiet_hours_and_normal_ones_wait(tmp_path, hook_server):
    srv, hook = hook_server
    now = datetime.now(ZoneInfo("Europe/Amsterdam"))
    quiet = f"{(now - timedelta(hours=1)):%H:%M}-{(now + timedelta(hours=1)):%H:%M}"
    with FakeJetstream() as jet:
        cfg = config(tmp_path, srv, jet=jet.url, alerts={"quiet_hours": quiet})
        with Running(cfg) as run:
            wait_for(lambda: jet.connections)
            jet.post("did:plc:boos", INSULT)
            wait_for(lambda: len(run.stored) == 1)
            jet.post("did:plc:dreiger", THREAT)
            wait_for(lambda: hook.delivered)
            time.sleep(1)
        assert all("mes" in str(a) for a in hook.delivered)
        wh = Warehouse(cfg.warehouse.path)
        held = wh.query_dicts("SELECT severity, status FROM alerts WHERE severity = 'normal'")
        assert held and all(a["status"] == "pending" for a in held)
        cfg.alerts.quiet_hours = None  # quiet hours over: the next delivery sends them
        from protocol import deliver_alerts
        from protocol.act import ActionsReport

        deliver_alerts(cfg, wh, ActionsReport(), Secrets(environ={}))
        assert any("sukkel" in str(a) for a in hook.delivered)


def test_after_a_restart_nothing_sent_while_down_is_lost_and_nothing_is_stored_twice(tmp_path, hook_server):
    srv, hook = hook_server
    with FakeJetstream() as jet:
        cfg = config(tmp_path, srv, jet=jet.url)
        with Running(cfg) as run:
            wait_for(lambda: jet.connections)
            jet.post("did:plc:a", "Open dag bij het Ley College, kom langs!")
            wait_for(lambda: len(run.stored) == 1)
        cursor = load_streams_now(cfg)[js.stream_key(jet.url)]["cursor_us"]
        assert cursor == jet.events[-1]["time_us"]
        jet.post("did:plc:b", "Het Ley College wint de debatwedstrijd")  # while the listener is down
        jet.post("did:plc:n", NOISE)
        jet.post("did:plc:c", THREAT)
        with Running(cfg) as run:
            wait_for(lambda: len(run.stored) >= 2)  # the two new posts (the replayed first one is not new)
            wait_for(lambda: hook.delivered)
            time.sleep(1)
        # it resumed from the stored cursor, rewound 2 s: the first post was replayed, and stored once
        assert int(jet.connections[-1]["cursor"][0]) == cursor - 2_000_000
        texts = sorted(r["text"] for r in stored(cfg))
        assert len(texts) == 3 and len(set(texts)) == 3
        assert len([a for a in hook.delivered if "mes" in str(a)]) == 1


def test_a_dropped_connection_replays_the_gap(tmp_path, hook_server):
    srv, _ = hook_server
    with FakeJetstream() as jet:
        cfg = config(tmp_path, srv, jet=jet.url)
        with Running(cfg) as run:
            wait_for(lambda: jet.connections)
            jet.post("did:plc:a", "Ley College eerste")
            wait_for(lambda: len(run.stored) == 1)
            jet.drop_clients()
            jet.post("did:plc:b", "Ley College tweede")
            wait_for(lambda: len(jet.connections) == 2)
            wait_for(lambda: len(run.stored) == 2)
        assert sorted(r["text"] for r in stored(cfg)) == ["Ley College eerste", "Ley College tweede"]


def test_a_post_seen_by_the_stream_and_the_search_is_stored_once(tmp_path, hook_server, bluesky_fake, secrets):
    import pipeline

    srv, _ = hook_server
    post = bluesky_fake.add_post(
        "ouder.bsky.social", "Het Ley College krijgt een nieuwe aula", datetime.now(timezone.utc) - timedelta(minutes=5)
    )
    did, rkey = post["uri"].removeprefix("at://").split("/")[0], post["uri"].rsplit("/", 1)[-1]
    with FakeJetstream() as jet:
        cfg = config(tmp_path, srv, jet=jet.url)
        with Running(cfg) as run:
            wait_for(lambda: jet.connections)
            jet.post(did, "Het Ley College krijgt een nieuwe aula", rkey=rkey)
            wait_for(lambda: len(run.stored) == 1)
    cfg.sources.bluesky = parse_config(
        {
            "organisation": {"name": "x"},
            "schools": [{"id": "a", "name": "a"}],
            "sources": {
                "bluesky": [
                    {
                        "handle": "edumon.bsky.social",
                        "app_password_env": "BSKY_APP_PASSWORD",
                        "base_url": bluesky_fake.url,
                    }
                ]
            },
        }
    ).sources.bluesky
    report = pipeline.run_cycle(cfg, secrets=secrets, classifier=load_classifier(cfg.classifier))
    assert sum(t.relevant for t in report.targets) >= 1 and not report.stored
    assert len(stored(cfg)) == 1


def test_mastodon_hashtag_stream_through_mastodons_own_listener(tmp_path, hook_server):
    srv, hook = hook_server
    with FakeMastodonStream("mastodon.nl", heartbeat_s=0.5) as masto:
        cfg = config(tmp_path, srv, masto=masto.url)
        with Running(cfg) as run:
            wait_for(lambda: masto.streams)
            time.sleep(0.5)
            masto.post("anoniem", f"<p>{THREAT} #LeyCollege</p>", tags=["LeyCollege"])
            masto.post("toerist", "<p>Mooie #LeyCollege dag</p>", tags=["Fietsen"])  # another tag: not sent
            wait_for(lambda: hook.delivered)
            masto.drop_clients()  # Mastodon.py reconnects by itself
            wait_for(lambda: len(masto.streams) >= 2, timeout=30)
            time.sleep(0.5)
            masto.post("juf", "<p>Open dag op het Ley College #LeyCollege</p>", tags=["LeyCollege"])
            wait_for(lambda: len(run.stored) == 2)
        rows = stored(cfg)
        assert {r["source"] for r in rows} == {"mastodon"}
        assert all(r["source_id"].startswith("https://mastodon.nl/users/") for r in rows)


def load_streams_now(cfg) -> dict[str, dict[str, Any]]:
    with Warehouse(cfg.warehouse.path).connect(read_only=True) as con:
        return load_streams(con)


def test_a_stream_that_cannot_connect_is_a_health_finding_and_status_shows_the_lag(tmp_path, hook_server):
    srv, _ = hook_server
    with FakeJetstream() as jet:
        cfg = config(tmp_path, srv, jet=jet.url, health={"failures_before_alert": 2})
        with Running(cfg) as run:
            wait_for(lambda: jet.connections)
            jet.post("did:plc:a", "Ley College nieuws")
            wait_for(lambda: len(run.stored) == 1)
    dead = config(tmp_path, srv, jet="ws://127.0.0.1:9/subscribe", health={"failures_before_alert": 2})
    with Running(dead) as run:
        time.sleep(2.5)
    key = js.stream_key(dead.sources.jetstream[0].url)
    wh = Warehouse(dead.warehouse.path)
    runs = wh.query_dicts("SELECT status, error FROM source_runs WHERE target = ?", [key])
    assert runs and all(r["status"] == "failed" for r in runs) and "not connected" in runs[-1]["error"]
    now = datetime.now(timezone.utc)
    with wh.connect(read_only=True) as con:
        found = health.findings(health.recent_runs(con, dead.health, now), dead.health, now, [("bluesky", key)])
    assert [f.kind for f in found] == ["failing"]

    path = tmp_path / "listen.toml"
    from edumon.cli.cycle import to_toml

    path.write_text(to_toml(cfg), encoding="utf-8")
    out = CliRunner().invoke(main, ["status", "--config", str(path)]).output
    line = next(ln for ln in out.splitlines() if ln.startswith("stream") and jet.url in ln)
    assert "lag" in line and " s " in line


def _threat_feed(cfg, n: int = 0) -> tuple[pl.Feed, str]:
    key = js.stream_key(cfg.sources.jetstream[0].url)
    feed = pl.Feed()
    feed.register(key, "bluesky")
    ev = js_post(n)
    feed.event(key, js.to_mention(ev, key, datetime.now(timezone.utc)), ev["time_us"], js.event_time(ev))
    return feed, key


def js_post(n: int) -> dict[str, Any]:
    from fakes.jetstream import post_event

    return post_event("did:plc:dreiger", f"3kx{n}", THREAT + f" ({n})", time.time_ns() // 1000)


def test_a_batch_waits_in_memory_while_a_cycle_holds_the_lock(tmp_path, hook_server):
    from pipeline.cyclelock import cycle_lock

    srv, hook = hook_server
    cfg = config(tmp_path, srv, jet="ws://127.0.0.1:9/subscribe")
    cfg.listen.lock_wait_s = 0.2
    feed, key = _threat_feed(cfg)
    classifier = load_classifier(cfg.classifier)
    with cycle_lock(cfg, "cycle"):
        out = pl.run_batch(cfg, feed, classifier, Secrets(environ={}))
    assert out.report is None and "this listen is skipped" in out.busy
    assert len(feed.streams[key].mentions) == 1  # kept for the next batch
    out = pl.run_batch(cfg, feed, classifier, Secrets(environ={}))
    assert len(out.report.stored) == 1 and hook.delivered


def test_a_batch_spools_while_duckdb_is_locked_its_threat_alerts_at_once_and_the_next_batch_writes_it(
    tmp_path, hook_server
):
    from locks import hold_lock

    srv, hook = hook_server
    cfg = config(tmp_path, srv, jet="ws://127.0.0.1:9/subscribe")
    cfg.warehouse.lock_timeout_s = 0.5
    Warehouse(cfg.warehouse.path).migrate()
    feed, key = _threat_feed(cfg)
    classifier = load_classifier(cfg.classifier)
    holder = hold_lock(Path(cfg.warehouse.path), 30)
    try:
        out = pl.run_batch(cfg, feed, classifier, Secrets(environ={}))
    finally:
        holder.kill()
        holder.wait()
    # the threat's alert went out although the store could only spool (the urgent ledger keeps it once)
    assert out.report.spooled == 1 and len(hook.delivered) == 1
    assert list((tmp_path / "spool").glob("*.json"))
    out = pl.run_batch(cfg, feed, classifier, Secrets(environ={}))  # nothing new matched: the spool is written
    assert out.report.replayed == 1 and len(hook.delivered) == 1  # stored now, and not alerted twice
    assert not list((tmp_path / "spool").glob("*.json"))
    assert len(stored(cfg)) == 1


def test_edumon_listen_runs_until_sigterm_and_stores_the_last_batch(tmp_path, hook_server):
    import signal
    import subprocess
    import sys

    from edumon.cli.cycle import to_toml

    srv, hook = hook_server
    with FakeJetstream() as jet:
        cfg = config(tmp_path, srv, jet=jet.url)
        path = tmp_path / "listen.toml"
        path.write_text(to_toml(cfg), encoding="utf-8")
        cmd = [str(Path(sys.executable).with_name("edumon")), "listen", "--config", str(path)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: jet.connections, timeout=120)
            jet.post("did:plc:dreiger", THREAT)
            wait_for(lambda: hook.delivered)
            jet.post("did:plc:b", "Het Ley College opent een nieuwe sporthal")
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Listening to 1 streams" in out and "Stopped after" in out
    assert len(stored(cfg)) == 2  # the post that came just before SIGTERM too
    assert load_streams_now(cfg)[js.stream_key(jet.url)]["cursor_us"] == jet.events[-1]["time_us"]


def test_the_listen_unit_runs_edumon_listen_with_options_that_exist():
    from test_systemd_units import edumon_command, exec_start, unit

    argv = exec_start("edumon-listen.service")
    assert edumon_command(argv).name == "listen" and "--config" in argv
    assert unit("edumon-listen.service")["Service"]["Restart"] == "always"
    assert "edumon-listen.service" in (Path(__file__).resolve().parents[1] / "docs" / "streaming.md").read_text()
