"""Faults survived: sources down, slow, rate-limited, broken; the process killed mid-cycle;
the warehouse locked by an analyst's process.  Every test ends with a healthy cycle and checks
that everything was stored and nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import pipeline
from core.config import Config
from edumon.cli import main
from edumon.cli.cycle import to_toml
from fakes.rss import FeedHandler, Scripted, rss_xml
from fakes.server import FakeServer, Request, Response
from tests import crashpoints
from tests.locks import cycle_while_locked, hold_lock
from tests.test_cycle import NEWS, REGIO, CountingClassifier
from warehouse import Warehouse

REPO = Path(__file__).resolve().parents[1]
NEWS_IDS = ["n1", "n2"]  # the relevant items of NEWS
REGIO_IDS = ["r2"]  # REGIO's r1 is NEWS's n1 again (same canonical link)


def count(wh: Warehouse, sql: str = "SELECT count(*) FROM mentions") -> int:
    return wh.query(sql)[0][0]


def stored_ids(wh: Warehouse) -> list[str]:
    return [r[0] for r in wh.query("SELECT source_id FROM mentions ORDER BY source_id")]


def assert_nothing_twice(wh: Warehouse) -> None:
    assert count(wh) == count(wh, "SELECT count(DISTINCT mention_id) FROM mentions")
    assert count(wh) == count(wh, "SELECT count(DISTINCT text_hash) FROM mentions")
    dup_runs = wh.query("SELECT cycle_id, source, target, count(*) FROM source_runs GROUP BY ALL HAVING count(*) > 1")
    assert dup_runs == []


def rss_cfg(make_config: Callable[..., Config], feeds: list[tuple[str, float, int]], **sections: Any) -> Config:
    """A config with feeds given as (url, timeout_s, retries)."""
    return make_config(sources={"rss": [{"url": u, "timeout_s": t, "retries": r} for u, t, r in feeds]}, **sections)


class Sleepy:
    """Answers after `seconds` (longer than the client's timeout)."""

    def __init__(self, seconds: float, body: bytes) -> None:
        self.seconds, self.body = seconds, body

    def __call__(self, req: Request) -> Response:
        time.sleep(self.seconds)
        return Response(200, self.body, {"Content-Type": "application/rss+xml"})


def _dropped(req: Request) -> Response:
    raise ConnectionResetError("the source hung up")


# --- a source down, slow, rate-limited, broken -------------------------------------------

FAULTS = {
    # name: (handler for the first cycle, expected status, expected error fragment)
    "down": (None, "failed", "network error"),
    "slow": (Sleepy(2.0, rss_xml(REGIO)), "failed", "timed out after 0.5 s"),
    "503": (Scripted([Response(503, "onderhoud")]), "failed", "HTTP 503 Service Unavailable"),
    "500 html": (Scripted([Response(500, "<html>kapot</html>", {"Content-Type": "text/html"})]), "failed", "HTTP 500"),
    "429 long Retry-After": (
        Scripted([Response(429, "", {"Retry-After": "3600"})]),
        "rate_limited",
        "HTTP 429 Too Many Requests (Retry-After: 3600)",
    ),
    "429 no Retry-After": (Scripted([Response(429, "")]), "rate_limited", "HTTP 429"),
    "not a feed": (
        FeedHandler(b"\x00\x01\x02 binary garbage \xff\xfe", "application/octet-stream"),
        "failed",
        "not an RSS or Atom feed",
    ),
    "empty": (FeedHandler(b"   \n", "application/rss+xml"), "failed", "empty response body"),
    "connection dropped": (_dropped, "failed", "network error"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_faulty_source_is_recorded_and_caught_up_next_cycle(
    fault: str, fake_server: FakeServer, make_config: Callable[..., Config]
) -> None:
    handler, status, error = FAULTS[fault]
    fake_server.route("/news.xml", FeedHandler(rss_xml(NEWS)))
    if handler is None:  # a host where nothing listens
        dead = FakeServer().start()
        regio_url = dead.url + "/regio.xml"
        dead.stop()
    else:
        fake_server.route("/regio.xml", handler)
        regio_url = fake_server.url + "/regio.xml"
    cfg = rss_cfg(make_config, [(fake_server.url + "/news.xml", 5, 1), (regio_url, 0.5, 0)])
    wh = Warehouse(cfg.warehouse.path)

    first = pipeline.run_cycle(cfg)
    assert not first.ok
    bad = {t.target: t for t in first.targets}[regio_url]
    assert bad.status == status and error in (bad.error or ""), bad
    assert stored_ids(wh) == NEWS_IDS  # the healthy source was stored
    runs = wh.query("SELECT status, error FROM source_runs WHERE target = ?", [regio_url])
    assert runs == [(status, bad.error)]

    # the source recovers: the next cycle stores what it missed, and nothing twice
    if handler is None:
        dead = FakeServer(port=int(regio_url.split(":")[2].split("/")[0]))
        dead.route("/regio.xml", FeedHandler(rss_xml(REGIO)))
        dead.start()
    else:
        fake_server.route("/regio.xml", FeedHandler(rss_xml(REGIO)))
    try:
        second = pipeline.run_cycle(cfg)
    finally:
        if handler is None:
            dead.stop()
    assert second.ok, second
    assert [m.source_id for m in second.stored] == REGIO_IDS
    assert stored_ids(wh) == sorted(NEWS_IDS + REGIO_IDS)
    assert_nothing_twice(wh)


def test_short_retry_after_is_honoured_within_the_cycle(
    fake_server: FakeServer, make_config: Callable[..., Config]
) -> None:
    limited = Scripted([Response(429, "", {"Retry-After": "1"}), Response(200, rss_xml(NEWS))])
    fake_server.route("/news.xml", limited)
    cfg = rss_cfg(make_config, [(fake_server.url + "/news.xml", 5, 2)])
    t0 = time.monotonic()
    report = pipeline.run_cycle(cfg)
    assert time.monotonic() - t0 >= 1.0  # it waited as asked, not hammering
    assert report.ok and limited.calls == 2
    assert report.targets[0].requests == 2
    assert stored_ids(Warehouse(cfg.warehouse.path)) == NEWS_IDS


def test_rate_limited_source_keeps_its_cursor(fake_server: FakeServer, make_config: Callable[..., Config]) -> None:
    news = FeedHandler(rss_xml(NEWS))
    fake_server.route("/news.xml", news)
    cfg = rss_cfg(make_config, [(fake_server.url + "/news.xml", 5, 0)])
    assert pipeline.run_cycle(cfg).ok
    wh = Warehouse(cfg.warehouse.path)
    etag = wh.states()[("rss", fake_server.url + "/news.xml")]["etag"]
    fake_server.route("/news.xml", Scripted([Response(429, "", {"Retry-After": "600"})]))
    assert pipeline.run_cycle(cfg).targets[0].status == "rate_limited"
    assert wh.states()[("rss", fake_server.url + "/news.xml")]["etag"] == etag
    fake_server.route("/news.xml", news)
    third = pipeline.run_cycle(cfg)
    assert third.targets[0].status == "not_modified"  # the kept cursor was sent
    assert fake_server.requests_to("/news.xml")[-1].headers["if-none-match"] == etag
    assert_nothing_twice(wh)


def test_malformed_xml_keeps_entries_then_reads_the_fixed_feed(
    fake_server: FakeServer, make_config: Callable[..., Config]
) -> None:
    broken = rss_xml(NEWS).replace(b"</channel></rss>", b"<item><title>Ley College & <kapot")
    fake_server.route("/news.xml", FeedHandler(broken))
    cfg = rss_cfg(make_config, [(fake_server.url + "/news.xml", 5, 0)])
    first = pipeline.run_cycle(cfg)
    assert first.targets[0].status == "ok" and first.targets[0].error.startswith("malformed feed")
    wh = Warehouse(cfg.warehouse.path)
    assert stored_ids(wh) == NEWS_IDS
    assert wh.query("SELECT error FROM source_runs")[0][0].startswith("malformed feed")
    fake_server.route("/news.xml", FeedHandler(rss_xml(NEWS + REGIO)))
    second = pipeline.run_cycle(cfg)
    assert second.targets[0].status == "ok"  # no validators were kept: read in full
    assert [m.source_id for m in second.stored] == REGIO_IDS
    assert_nothing_twice(wh)


def test_a_crashing_connector_is_one_failed_source(
    fake_server: FakeServer, make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in a connector (not a source fault) must not stop the cycle either."""
    import connectors.rss as rss

    fake_server.route("/news.xml", FeedHandler(rss_xml(NEWS)))
    fake_server.route("/regio.xml", FeedHandler(rss_xml(REGIO)))
    cfg = rss_cfg(make_config, [(fake_server.url + "/news.xml", 5, 0), (fake_server.url + "/regio.xml", 5, 0)])
    real = rss.entries

    def entries(parsed: Any, target: str, fetched_at: Any) -> Any:
        if target.endswith("/regio.xml"):
            raise KeyError("unexpected field")
        return real(parsed, target, fetched_at)

    monkeypatch.setattr(rss, "entries", entries)
    report = pipeline.run_cycle(cfg)
    bad = [t for t in report.targets if t.status == "failed"]
    assert len(bad) == 1 and bad[0].error == "connector error: KeyError: 'unexpected field'"
    assert stored_ids(Warehouse(cfg.warehouse.path)) == NEWS_IDS


# --- the process killed in the middle of a cycle -----------------------------------------


def write_config(cfg: Config, tmp_path: Path) -> Path:
    path = tmp_path / "edumon.toml"
    path.write_text(to_toml(cfg), encoding="utf-8")
    return path


def start_cycle(cfg_path: Path, crash_at: str | None = None) -> subprocess.Popen[str]:
    """`edumon run --no-prefect` in a real subprocess (optionally killing itself at a point)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        crashpoints.command(crash_at, "run", "--no-prefect", "--config", str(cfg_path)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(REPO),
    )


class Blocking:
    """A feed that holds the request until released (so a test can kill the client meanwhile)."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.requested = threading.Event()
        self.release = threading.Event()

    def __call__(self, req: Request) -> Response:
        self.requested.set()
        self.release.wait(30)
        return Response(200, self.body, {"Content-Type": "application/rss+xml"})


def test_killed_while_fetching_then_next_cycle_stores_everything_once(
    fake_server: FakeServer, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    fake_server.route("/news.xml", FeedHandler(rss_xml(NEWS)))
    blocking = Blocking(rss_xml(REGIO))
    fake_server.route("/regio.xml", blocking)
    cfg = rss_cfg(make_config, [(fake_server.url + "/news.xml", 5, 0), (fake_server.url + "/regio.xml", 20, 0)])
    proc = start_cycle(write_config(cfg, tmp_path))
    try:
        assert blocking.requested.wait(60), "the cycle never reached the second feed"
        proc.send_signal(signal.SIGKILL)  # news.xml was fetched, regio.xml is in flight
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        blocking.release.set()
        if proc.poll() is None:
            proc.kill()
    wh = Warehouse(cfg.warehouse.path)
    if Path(cfg.warehouse.path).exists():
        assert count(wh) == 0 and wh.states() == {}
    fake_server.route("/regio.xml", FeedHandler(rss_xml(REGIO)))
    report = pipeline.run_cycle(cfg)
    assert report.ok
    assert sorted(m.source_id for m in report.stored) == sorted(NEWS_IDS + REGIO_IDS)
    assert all(t.status == "ok" for t in report.targets)  # no cursor moved: both read in full
    again = pipeline.run_cycle(cfg)
    assert again.stored == []
    assert_nothing_twice(wh)


@pytest.mark.parametrize("point", ["before-store", "mid-store"])
def test_killed_before_or_during_the_write_then_next_cycle_stores_everything_once(
    point: str, fake_server: FakeServer, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    fake_server.route("/news.xml", FeedHandler(rss_xml(NEWS)))
    fake_server.route("/regio.xml", FeedHandler(rss_xml(REGIO)))
    cfg = rss_cfg(make_config, [(fake_server.url + "/news.xml", 5, 0), (fake_server.url + "/regio.xml", 5, 0)])
    proc = start_cycle(write_config(cfg, tmp_path), crash_at=point)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, (out, err)
    assert "Stored" not in out
    wh = Warehouse(cfg.warehouse.path)
    # nothing half-written survives: the transaction was never committed
    assert wh.path.exists() == (point == "mid-store")
    if wh.path.exists():
        assert count(wh) == 0 and wh.states() == {}
        assert count(wh, "SELECT count(*) FROM source_runs") == 0
        assert count(wh, "SELECT count(*) FROM classifications") == 0
    clf = CountingClassifier()
    report = pipeline.run_cycle(cfg, classifier=clf)
    assert report.ok and all(t.status == "ok" for t in report.targets)
    assert sorted(m.source_id for m in report.stored) == sorted(NEWS_IDS + REGIO_IDS)
    assert stored_ids(wh) == sorted(NEWS_IDS + REGIO_IDS)
    assert pipeline.run_cycle(cfg, classifier=clf).stored == []
    assert_nothing_twice(wh)


def test_killed_after_replaying_the_spool_but_before_removing_it(
    fake_server: FakeServer, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    """The spool file outlives a crash after its write: replaying it again adds nothing."""
    fake_server.route("/news.xml", FeedHandler(rss_xml(NEWS)))
    cfg = rss_cfg(make_config, [(fake_server.url + "/news.xml", 5, 0)], warehouse={"lock_timeout_s": 0.3})
    path = Path(cfg.warehouse.path)
    spooled = cycle_while_locked(cfg)
    assert spooled.spooled == 2
    spool = path.parent / "spool"
    assert len(list(spool.glob("*.json"))) == 1
    proc = start_cycle(write_config(cfg, tmp_path), crash_at="after-replay")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, (out, err)
    wh = Warehouse(path)
    assert stored_ids(wh) == NEWS_IDS  # the replay was committed ...
    assert len(list(spool.glob("*.json"))) == 1  # ... but the file is still there
    report = pipeline.run_cycle(cfg)
    assert report.ok and report.replayed == 0  # replayed again: nothing new
    assert list(spool.glob("*.json")) == []
    assert stored_ids(wh) == NEWS_IDS
    assert wh.query("SELECT count(*) FROM source_runs WHERE cycle_id = ?", [spooled.cycle_id]) == [(1,)]
    assert_nothing_twice(wh)


# --- the warehouse locked by an analyst's process -----------------------------------------

ANALYST_READONLY = textwrap.dedent("""
    import duckdb, sys, time
    con = duckdb.connect(sys.argv[1], read_only=True)
    con.execute("SELECT count(*) FROM mentions").fetchall()
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
""")


def test_locked_warehouse_via_cli_spools_says_so_and_replays_once(
    fake_server: FakeServer, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    fake_server.route("/news.xml", FeedHandler(rss_xml(NEWS)))
    fake_server.route("/regio.xml", FeedHandler(rss_xml(REGIO)))
    cfg = rss_cfg(
        make_config,
        [(fake_server.url + "/news.xml", 5, 0), (fake_server.url + "/regio.xml", 5, 0)],
        warehouse={"lock_timeout_s": 0.3},
    )
    cfg_path = write_config(cfg, tmp_path)
    path = Path(cfg.warehouse.path)
    Warehouse(path).migrate()
    spool = path.parent / "spool"
    lock = hold_lock(path, 60)
    try:
        # two cycles while the analyst holds the lock: both spool, neither writes
        for _ in range(2):
            res = CliRunner().invoke(main, ["run", "--no-prefect", "--config", str(cfg_path)])
            assert res.exit_code == 1, res.output
            assert "locked by another process" in res.output
            assert "kept 4 mentions in the spool" in res.output  # de-duplicated when written
    finally:
        lock.kill()
        lock.wait()
    assert len(list(spool.glob("*.json"))) == 2
    wh = Warehouse(path)
    assert count(wh) == 0
    res = CliRunner().invoke(main, ["run", "--no-prefect", "--config", str(cfg_path)])
    assert res.exit_code == 0, res.output
    assert "replayed 3 mentions from the spool" in res.output
    assert list(spool.glob("*.json")) == []
    assert stored_ids(wh) == sorted(NEWS_IDS + REGIO_IDS)
    # both spooled cycles are recorded as they happened, the current one too
    assert count(wh, "SELECT count(DISTINCT cycle_id) FROM source_runs") == 3
    assert_nothing_twice(wh)


def test_replayed_mentions_count_as_stored_this_cycle(
    fake_server: FakeServer, make_config: Callable[..., Config]
) -> None:
    """Mentions first written from the spool are new this cycle: alerts and the digest must see them."""
    fake_server.route("/news.xml", FeedHandler(rss_xml(NEWS)))
    cfg = rss_cfg(make_config, [(fake_server.url + "/news.xml", 5, 0)], warehouse={"lock_timeout_s": 0.3})
    cycle_while_locked(cfg)
    report = pipeline.run_cycle(cfg)  # replays the spool first, then reads the feed again (no cursor kept)
    assert report.replayed == 2
    assert sorted(m.source_id for m in report.stored) == NEWS_IDS
    assert all(m.sentiment and m.harm for m in report.stored)


def test_analyst_reading_blocks_the_writer_too_and_the_cycle_spools(
    fake_server: FakeServer, make_config: Callable[..., Config]
) -> None:
    fake_server.route("/news.xml", FeedHandler(rss_xml(NEWS)))
    cfg = rss_cfg(make_config, [(fake_server.url + "/news.xml", 5, 0)], warehouse={"lock_timeout_s": 0.3})
    path = Path(cfg.warehouse.path)
    Warehouse(path).migrate()
    proc = subprocess.Popen(
        [sys.executable, "-c", ANALYST_READONLY, str(path), "30"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout and proc.stdout.readline().strip() == "locked"
        report = pipeline.run_cycle(cfg)
        # the analyst can still read while the cycle spools
        assert Warehouse(path, lock_timeout_s=1).query("SELECT count(*) FROM mentions") == [(0,)]
    finally:
        proc.kill()
        proc.wait()
    assert report.spooled == 2 and "spool" in (report.error or "")
    nxt = pipeline.run_cycle(cfg)
    assert nxt.ok and nxt.replayed == 2
    assert stored_ids(Warehouse(path)) == NEWS_IDS


def test_lock_released_during_the_wait_writes_without_spooling(
    fake_server: FakeServer, make_config: Callable[..., Config]
) -> None:
    fake_server.route("/news.xml", FeedHandler(rss_xml(NEWS)))
    cfg = rss_cfg(make_config, [(fake_server.url + "/news.xml", 5, 0)], warehouse={"lock_timeout_s": 20})
    path = Path(cfg.warehouse.path)
    Warehouse(path).migrate()
    lock = hold_lock(path, 1.5)
    report = pipeline.run_cycle(cfg)
    lock.wait()
    assert report.ok and report.spooled == 0 and report.error is None
    assert stored_ids(Warehouse(path)) == NEWS_IDS
    assert not (path.parent / "spool").exists() or list((path.parent / "spool").glob("*.json")) == []


def test_a_damaged_spool_file_is_set_aside_not_fatal(
    fake_server: FakeServer, make_config: Callable[..., Config]
) -> None:
    fake_server.route("/news.xml", FeedHandler(rss_xml(NEWS)))
    cfg = rss_cfg(make_config, [(fake_server.url + "/news.xml", 5, 0)])
    spool = Path(cfg.warehouse.path).parent / "spool"
    spool.mkdir(parents=True)
    (spool / "20260101T000000-deadbeef.json").write_text('{"cycle_id": "x", "mentions": [{"sou', encoding="utf-8")
    report = pipeline.run_cycle(cfg)
    assert stored_ids(Warehouse(cfg.warehouse.path)) == NEWS_IDS
    assert "20260101T000000-deadbeef.json" in (report.error or "")
    assert list(spool.glob("*.json")) == []
    assert len(list(spool.glob("*.bad"))) == 1  # kept for a human, never replayed again


def test_a_cycle_with_nothing_new_writes_only_source_runs(
    fake_server: FakeServer, make_config: Callable[..., Config]
) -> None:
    """Steady state: no classification, and no table but `source_runs` changes."""
    fake_server.route("/news.xml", FeedHandler(rss_xml(NEWS)))
    fake_server.route("/regio.xml", FeedHandler(rss_xml(REGIO)))
    cfg = rss_cfg(make_config, [(fake_server.url + "/news.xml", 5, 0), (fake_server.url + "/regio.xml", 5, 0)])
    clf = CountingClassifier()
    assert pipeline.run_cycle(cfg, classifier=clf).ok
    wh = Warehouse(cfg.warehouse.path)

    def snapshot() -> dict[str, list[Any]]:
        tables = [
            r[0] for r in wh.query("SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'")
        ]
        return {t: sorted(map(repr, wh.query(f'SELECT * FROM "{t}"'))) for t in tables}

    before, n_classified = snapshot(), len(clf.seen)
    steady = pipeline.run_cycle(cfg, classifier=clf)
    after = snapshot()
    assert steady.ok and steady.stored == [] and len(clf.seen) == n_classified
    assert {t for t in after if after[t] != before[t]} == {"source_runs"}
    assert len(after["source_runs"]) == len(before["source_runs"]) + 2
