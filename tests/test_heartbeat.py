"""Issue 18, points 5 and 6, against real HTTP on 127.0.0.1: the heartbeat (healthchecks.io style)
after each cycle, and source health through real cycles: a new admin alert is delivered in the
cycle that found it, a feed answering 304 becomes SILENT, a failing feed FAILING in time."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import rss_feed, write_config

import health
from core.config import load_config
from core.secrets import Secrets
from edumon.cli import main
from fakes.rss import FeedHandler
from fakes.server import FakeServer, Response
from warehouse import Warehouse

TOKEN = "5f1c8a3e-token-9d2b"
FEED = rss_feed([("g1", "Leerlingen Ley College winnen debatwedstrijd", "Vier leerlingen wonnen de finale.")])


@pytest.fixture()
def srv():
    with FakeServer() as s:
        s.route(f"/ping/{TOKEN}", lambda req: Response(200, b"OK"))
        s.route(f"/ping/{TOKEN}/fail", lambda req: Response(200, b"OK"))
        s.route("/good.xml", FeedHandler(FEED))
        s.route("/gone.xml", lambda req: Response(503, b"down"))
        s.route("/admin", lambda req: Response(200, b"ok"))
        yield s


def pings(srv: FakeServer) -> list[str]:
    return [r.method + " " + r.path.removeprefix(f"/ping/{TOKEN}") for r in srv.log if r.path.startswith("/ping/")]


def cfg_with(tmp_path: Path, feeds: list[str], health_keys: str, more: str = ""):
    return load_config(write_config(tmp_path, feeds, extra=f"{more}\n[health]\n{health_keys}\n"))


def test_a_good_cycle_pings_the_url_and_a_failed_one_pings_fail(srv, tmp_path):
    cfg = cfg_with(tmp_path, [], f'heartbeat_url = "{srv.url}/ping/{TOKEN}"')
    assert health.heartbeat.ping(cfg, True) is True
    assert health.heartbeat.ping(cfg, False) is True
    assert pings(srv) == ["GET ", "GET /fail"]
    quiet = cfg_with(tmp_path, [], f'heartbeat_url = "{srv.url}/ping/{TOKEN}"\nheartbeat_fail = false')
    assert health.heartbeat.ping(quiet, False) is None  # nothing sent: the monitor's grace time decides
    assert len(pings(srv)) == 2
    assert health.heartbeat.ping(cfg_with(tmp_path, [], ""), True) is None  # no heartbeat configured


def test_the_url_may_come_from_the_environment_and_is_never_logged(srv, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="edumon.health")
    cfg = cfg_with(tmp_path, [], 'heartbeat_url_env = "EDUMON_HEARTBEAT_URL"')
    env = Secrets(environ={"EDUMON_HEARTBEAT_URL": f"{srv.url}/ping/{TOKEN}"})
    assert health.heartbeat.ping(cfg, True, env) is True and pings(srv) == ["GET "]
    # the monitor answers 500, then is unreachable: logged, never raised, the token never shown
    srv.route(f"/ping/{TOKEN}", lambda req: Response(500, b"oops"))
    assert health.heartbeat.ping(cfg, True, env) is False
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    gone = Secrets(environ={"EDUMON_HEARTBEAT_URL": f"http://127.0.0.1:{closed}/ping/{TOKEN}"})
    assert health.heartbeat.ping(cfg, True, gone) is False
    # the variable is not set: one warning naming the variable, nothing sent
    assert health.heartbeat.ping(cfg, True, Secrets(environ={})) is None
    text = caplog.text
    assert "HTTP 500" in text and "ConnectError" in text and "EDUMON_HEARTBEAT_URL is not set" in text
    assert TOKEN not in text


def test_a_slow_monitor_costs_at_most_the_timeout(srv, tmp_path):
    srv.route(f"/ping/{TOKEN}", lambda req: (time.sleep(3), Response(200, b"OK"))[1])
    cfg = cfg_with(tmp_path, [], f'heartbeat_url = "{srv.url}/ping/{TOKEN}"\nheartbeat_timeout_s = 0.5')
    t0 = time.monotonic()
    assert health.heartbeat.ping(cfg, True) is False
    assert time.monotonic() - t0 < 2.5


def run_cycle(cfg) -> int:
    return CliRunner().invoke(main, ["run", "--no-prefect", "--config", str(cfg.path)]).exit_code


def test_edumon_run_pings_after_each_cycle(srv, tmp_path):
    hb = f'heartbeat_url = "{srv.url}/ping/{TOKEN}"'
    good = cfg_with(tmp_path, [srv.url + "/good.xml"], hb)
    assert run_cycle(good) == 0
    assert pings(srv) == ["GET "]
    both = cfg_with(tmp_path, [srv.url + "/good.xml", srv.url + "/gone.xml"], hb)
    assert run_cycle(both) == 1  # a source failed: the cycle failed
    assert pings(srv) == ["GET ", "GET /fail"]


def test_real_cycles_find_a_failing_and_a_silent_feed_in_time_and_alert_at_once(srv, tmp_path):
    """Two cycles 1.5 s apart, with limits scaled down to about a second: the feed that keeps
    answering 304 is SILENT, the feed that keeps failing is FAILING, and both admin alerts are
    delivered by the cycle that found them."""
    cfg = cfg_with(
        tmp_path,
        [srv.url + "/good.xml", srv.url + "/gone.xml"],
        "failing_after_minutes = 0.015\nsilent_after_hours_rss = 0.0003",  # 0.9 s and 1.08 s
        more=f'[alerts]\nadmin_contacts = ["{srv.url}/admin"]',
    )
    assert run_cycle(cfg) == 1
    assert srv.requests_to("/admin") == []  # one failure spans no time; the feed's content is new to us
    time.sleep(1.5)
    assert run_cycle(cfg) == 1
    wh = Warehouse(cfg.warehouse.path)
    statuses = wh.query("SELECT target, status, newest_item_at IS NOT NULL FROM source_runs ORDER BY started_at")
    assert set(statuses[-2:]) == {
        (srv.url + "/good.xml", "not_modified", False),
        (srv.url + "/gone.xml", "failed", False),
    }
    assert (srv.url + "/good.xml", "ok", True) in statuses  # the first answer: items with dates
    sent = wh.query("SELECT a.status, m.ref FROM alerts a JOIN alert_messages m USING (alert_id) ORDER BY m.ref")
    assert [(st, ref.split("|")[1], ref.split("|")[-1]) for st, ref in sent] == [
        ("sent", "failing", srv.url + "/gone.xml"),
        ("sent", "silent", srv.url + "/good.xml"),
    ]
    bodies = [r.body.decode("utf-8") for r in srv.requests_to("/admin")]
    assert len(bodies) == 2 and any("Bron is stil" in b for b in bodies) and any("Bron werkt niet" in b for b in bodies)
    res = CliRunner().invoke(main, ["status", "--config", str(cfg.path)])
    assert res.exit_code == 1 and "FAILING" in res.output and "SILENT" in res.output, res.output


def test_the_flow_run_pings_too(prefect_harness, srv, tmp_path):
    """`edumon serve`'s path: the monitor-cycle flow pings after the cycle, /fail when it ends Failed."""
    from flows.monitor import monitor_cycle

    hb = f'heartbeat_url = "{srv.url}/ping/{TOKEN}"'
    assert monitor_cycle(str(cfg_with(tmp_path, [srv.url + "/good.xml"], hb).path), return_state=True).is_completed()
    assert pings(srv) == ["GET "]
    both = cfg_with(tmp_path, [srv.url + "/good.xml", srv.url + "/gone.xml"], hb)
    assert monitor_cycle(str(both.path), return_state=True).is_failed()
    assert pings(srv) == ["GET ", "GET /fail"]
