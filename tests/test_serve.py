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
from fakes.server import FakeServer, Response
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


# --- a failing cycle under serve: what the logs and Prefect keep (issue 18.1) ----------------

POST_TEXT = "Zonnebloemveld-7731"  # in the post's text: must never reach a log or Prefect
HANDLE = "karin.jansen78"  # the post's author
PAYLOAD = "Kwartelkoning-5150"  # in the failing source's error body


def threat_feed() -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<channel><title>Ouderforum</title><link>https://forum.example.nl</link><description>forum</description>"
        '<item><title>Re: docent</title><link>https://forum.example.nl/t/p1</link><guid isPermaLink="false">p1</guid>'
        f"<pubDate>Tue, 24 Nov 2026 09:30:00 +0100</pubDate><dc:creator>{HANDLE}</dc:creator>"
        f"<description>{POST_TEXT}: die docent van het Ley College moet oppassen, ik ga je opwachten na school."
        "</description></item></channel></rss>"
    ).encode()


def start_serve(cfg_path: Path, env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], Any]:
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [str(BIN / "edumon"), "serve", "--config", str(cfg_path), "--cycle-every", "5"],
        env={**env, "PREFECT_RUNNER_POLL_FREQUENCY": "2"},
        cwd=log_path.parent,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc, log


def utc(ts: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def cycle_runs(url: str, since: float = 0.0) -> list[dict[str, Any]]:
    """The cycle deployment's runs past SCHEDULED whose state changed after `since` (the
    deployment and the server are shared by this module's tests)."""
    try:
        dep = api(url, "/deployments/name/monitor-cycle/edumon")
    except urllib.error.HTTPError:
        return []
    body = {
        "deployments": {"id": {"any_": [dep["id"]]}},
        "flow_runs": {"state": {"type": {"not_any_": ["SCHEDULED"]}}},
        "sort": "START_TIME_ASC",
    }
    return [r for r in api(url, "/flow_runs/filter", body) if utc(r["state"]["timestamp"]) > since]


def wait_for(url: str, proc: subprocess.Popen[bytes], ok: Any, timeout_s: float, since: float) -> list[dict[str, Any]]:
    """The cycle runs changed after `since`, polled until `ok(runs)` holds, serve exits or
    `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(1)
        runs = cycle_runs(url, since)
        if ok(runs):
            break
    return runs


def leaks(path: Path) -> list[str]:
    data = path.read_bytes()
    return [f"{s!r} in {path.name}" for s in (POST_TEXT, HANDLE, PAYLOAD) if s.encode() in data]


def test_a_failing_cycle_leaves_no_text_or_handle_in_logs_or_prefect(prefect_server, tmp_path):
    url, env = prefect_server
    hook: list[bytes] = []
    with FakeServer() as src:
        src.route("/forum.xml", FeedHandler(threat_feed()))
        src.route("/broken.xml", lambda req: Response(500, f"<p>{PAYLOAD} {POST_TEXT}</p>".encode()))
        src.route("/hook", lambda req: (hook.append(req.body), Response(503, b"busy"))[1])
        extra = f'[classifier]\nbackend = "rules"\n[alerts]\nwebhook_url = "{src.url}/hook"\ntimeout_s = 3\n'
        cfg_path = write_config(tmp_path, [src.url + "/forum.xml", src.url + "/broken.xml"], extra=extra)
        began = time.time()
        serve, log = start_serve(cfg_path, env, tmp_path / "serve.log")
        try:
            runs = wait_for(url, serve, lambda rs: any(r["state_type"] == "FAILED" for r in rs), 120, began)
            time.sleep(3)  # the run's last log lines reach the server
        finally:
            stop(serve)
            log.close()
    output = (tmp_path / "serve.log").read_text(errors="replace")
    failed = [r for r in runs if r["state_type"] == "FAILED"]
    assert failed, output[-3000:]
    run = failed[0]
    # the cycle did see the post: stored, alerted (the webhook got the text: that is its job)
    wh = Warehouse(load_config(cfg_path).warehouse.path)
    [(mention_id, text)] = wh.query("SELECT mention_id, text FROM mentions")
    assert POST_TEXT in text and hook and POST_TEXT.encode() in hook[0]
    # Prefect's log of the run reached its database (so the grep below can see what was logged)
    logs = [
        e["message"] for e in api(url, "/logs/filter", {"logs": {"flow_run_id": {"any_": [run["id"]]}}, "limit": 200})
    ]
    seen = f"{src.url}/forum.xml: ok, 1 fetched, 1 relevant, 1 new"
    assert any(seen in m for m in logs), logs
    # nothing the run wrote keeps the text, the handle or the payload: serve's own output, the
    # server's log, Prefect's database and result storage (every file under PREFECT_HOME)
    home = Path(env["PREFECT_HOME"])
    files = [tmp_path / "serve.log", *(p for p in home.rglob("*") if p.is_file())]
    assert any(seen.encode() in p.read_bytes() for p in files if p.name.startswith("prefect.db"))
    assert [leak for p in files for leak in leaks(p)] == []
    assert "Unexpected result for failed state" not in output and "CycleReport(" not in output
    # the run ends Failed with a short message: counts and target names; the log names the mention by id
    message = run["state"]["message"]
    assert message.startswith("1 source(s) failed: rss " + src.url + "/broken.xml: HTTP 500"), message
    assert "1 new mention(s) stored" in message and len(message) < 300
    assert any(m == f"stored 1 new mention(s): {mention_id}" for m in logs), logs


# --- an interrupted serve leaves no run that blocks the next cycle (issue 18.4) --------------


def refused_between(runs: list[dict[str, Any]], start: float, end: float) -> list[str]:
    """The cycles refused for the deployment's concurrency limit between `start` and `end`."""
    return [
        r["name"]
        for r in runs
        if r["state_type"] == "CANCELLED"
        and "concurrency limit" in (r["state"]["message"] or "")
        and start < utc(r["state"]["timestamp"]) < end
    ]


def pending_since(url: str, run: dict[str, Any]) -> float:
    """When the run became PENDING (took the deployment's concurrency slot)."""
    with urllib.request.urlopen(f"{url}/flow_run_states/?flow_run_id={run['id']}", timeout=5) as resp:
        states = json.loads(resp.read())
    return min(utc(s["timestamp"]) for s in states if s["type"] == "PENDING")


def test_an_interrupted_or_killed_serve_never_blocks_the_next_cycle(prefect_server, tmp_path):
    import threading

    url, env = prefect_server
    slow = threading.Event()
    slow.set()

    def slow_feed(req: Any) -> Response:
        if slow.is_set():
            time.sleep(4)  # under the feed's timeout_s = 5: the cycle is busy fetching
        return Response(200, rss_feed([("z1", "Ley College", "Het Ley College opent een moestuin.")]))

    log_path = tmp_path / "serve.log"
    with FakeServer() as src:
        src.route("/slow.xml", slow_feed)
        cfg_path = write_config(tmp_path, [src.url + "/slow.xml"], extra='[classifier]\nbackend = "rules"\n')

        def interrupt_during_a_cycle(sig: int) -> dict[str, Any]:
            """Start serve, send `sig` to it and its flow run (as Ctrl-C does) during a cycle."""
            seen = len(src.requests_to("/slow.xml"))
            began = time.time()
            serve, log = start_serve(cfg_path, env, log_path)
            try:
                deadline = time.monotonic() + 90
                while len(src.requests_to("/slow.xml")) == seen and time.monotonic() < deadline:
                    time.sleep(0.2)
                running = [r for r in cycle_runs(url, began) if r["state_type"] == "RUNNING"]
                assert running, log_path.read_text(errors="replace")[-3000:]
                os.killpg(serve.pid, sig)
                serve.wait(timeout=60)
            finally:
                stop(serve)
                log.close()
            return running[0]

        # Ctrl-C during a cycle: serve cancels the run before it exits
        first = interrupt_during_a_cycle(signal.SIGINT)
        [after] = [r for r in cycle_runs(url) if r["id"] == first["id"]]
        assert after["state_type"] in ("CANCELLED", "CRASHED"), after["state"]
        # kill -9 of serve and its flow run: nothing is told; the next start ends the run
        second = interrupt_during_a_cycle(signal.SIGKILL)
        [after] = [r for r in cycle_runs(url) if r["id"] == second["id"]]
        assert after["state_type"] == "RUNNING"  # the zombie the issue saw
        slow.clear()
        restart = time.time()
        serve, log = start_serve(cfg_path, env, log_path)
        try:
            runs = wait_for(url, serve, lambda rs: any(r["state_type"] == "COMPLETED" for r in rs), 120, restart)
        finally:
            stop(serve)
            log.close()
    output = log_path.read_text(errors="replace")
    [after] = [r for r in runs if r["id"] == second["id"]]
    assert after["state_type"] == "CRASHED", (after, output[-4000:])
    assert "its process is gone" in after["state"]["message"]
    assert f"Marked 1 flow run(s) left running by a stopped serve as crashed: {second['name']}" in output
    completed = [r for r in runs if r["state_type"] == "COMPLETED"]
    assert completed, output[-3000:]
    # the next cycle ran at once: nothing refused for the concurrency limit (the lease is 300 s)
    # the next cycle ran at once: it took the slot at its first try, nothing was refused for
    # the concurrency limit before it (a zombie's slot lease lasts 300 s)
    took_slot = pending_since(url, completed[0])
    assert refused_between(runs, restart, took_slot) == []
    print(
        f"restart to first cycle: slot taken after {took_slot - restart:.1f} s, completed after "
        f"{utc(completed[0]['end_time']) - restart:.1f} s"
    )
