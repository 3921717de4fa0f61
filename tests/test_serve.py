"""`edumon serve` against a real local Prefect server (SQLite in a temp PREFECT_HOME): a scheduled
cycle runs, completes and stores what the fake source returned."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import rss_feed, write_config

from core.config import load_config
from fakes.rss import FeedHandler
from fakes.server import FakeServer
from warehouse import Warehouse

BIN = Path(sys.executable).parent
SERVER_START_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    req = urllib.request.Request(
        url + path,
        method="POST" if body is not None else "GET",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read() or b"null")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> None:
    """Stop a process we started, and its children (its own session)."""
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        "PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS": "1",
    }
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "wb")
    proc = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                api(url, "/health")
                break
            except (urllib.error.URLError, OSError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = (home / "server.log").read_text(errors="replace")[-800:]
                    pytest.skip(f"a local Prefect server could not start within {SERVER_START_S} s: {tail}")
                time.sleep(0.5)
        yield url, {**env, "PREFECT_API_URL": url}
    finally:
        stop(proc, signal.SIGTERM)
        log.close()


def test_serve_runs_the_cycle_on_its_schedule(prefect_server, tmp_path):
    url, env = prefect_server
    feed = rss_feed([("s1", "Ley College viert jubileum", "Het Ley College bestaat vijftig jaar.")])
    with FakeServer() as src:
        src.route("/feed.xml", FeedHandler(feed))
        cfg_path = write_config(tmp_path, [src.url + "/feed.xml"])
        log = open(tmp_path / "serve.log", "wb")
        serve = subprocess.Popen(
            [str(BIN / "edumon"), "serve", "--config", str(cfg_path), "--cycle-every", "5"],
            env={**env, "PREFECT_RUNNER_POLL_FREQUENCY": "2"},
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deployment = None
            completed: list[dict[str, Any]] = []
            deadline = time.monotonic() + 75
            while time.monotonic() < deadline and serve.poll() is None:
                time.sleep(1)
                try:
                    deployment = deployment or api(url, "/deployments/name/monitor-cycle/edumon")
                except urllib.error.HTTPError:
                    continue
                runs = api(url, "/flow_runs/filter", {"deployments": {"id": {"any_": [deployment["id"]]}}})
                completed = [r for r in runs if r["state_type"] == "COMPLETED"]
                if completed:
                    break
        finally:
            stop(serve)
            log.close()
        output = (tmp_path / "serve.log").read_text(errors="replace")
        assert deployment is not None, output[-2000:]
        assert completed, output[-2000:]
        # the deployment carries the schedule, the config and a concurrency limit of 1
        assert deployment["parameters"] == {"config_path": str(cfg_path.resolve())}
        assert deployment["global_concurrency_limit"]["limit"] == 1
        assert deployment["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"
        assert deployment["schedules"] and deployment["schedules"][0]["schedule"]["interval"] == 5.0
        assert completed[0]["auto_scheduled"] is True
        assert len(src.requests_to("/feed.xml")) >= 1
    for name in ("daily-digest/edumon", "retention/edumon"):
        dep = api(url, f"/deployments/name/{name}")
        assert dep["schedules"][0]["schedule"]["timezone"] == "Europe/Amsterdam"
    wh = Warehouse(load_config(cfg_path).warehouse.path)
    assert wh.query("SELECT source_id FROM mentions") == [("s1",)]
    assert ("ok",) in wh.query("SELECT status FROM source_runs")


def test_serve_without_a_prefect_server_says_so(tmp_path):
    from click.testing import CliRunner
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from edumon.cli import main

    cfg_path = write_config(tmp_path, [])
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        res = CliRunner().invoke(main, ["serve", "--config", str(cfg_path)])
    assert res.exit_code == 2
    assert "needs a Prefect server" in res.output and "prefect server start" in res.output
