"""How `edumon run` runs a cycle: plain functions without a Prefect server, a flow run with one,
and the plain functions again when the flow run cannot start (a slow or absent orchestrator
never costs a cycle).  And the deliver-alerts task's own retries, decided by a typed error."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import rss_feed, write_config
from prefect.settings import PREFECT_API_URL, temporary_settings
from protocol_env import HOOK_PATH, NEGATIVE, THREAT, Hook, make_config
from protocol_env import feed as forum_feed
from protocol_env import write_config as write_full_config

import flows.monitor as monitor
from core.config import load_config
from edumon.cli import main
from fakes.rss import FeedHandler
from fakes.server import FakeServer, Response
from protocol.alerts import DeliveryError, post_webhook, smtp_transient
from warehouse import Warehouse

FEED = rss_feed(
    [
        ("g1", "Leerlingen Ley College winnen debatwedstrijd", "Vier leerlingen wonnen de finale."),
        ("g2", "Ouders boos over verkeerschaos bij De Regenboog", "Ouders in Leiderdorp klagen."),
    ]
)


@pytest.fixture()
def feed():
    with FakeServer() as srv:
        srv.route("/good.xml", FeedHandler(FEED))
        yield srv


def stored(cfg_path: Path) -> list[str]:
    return sorted(r[0] for r in Warehouse(load_config(cfg_path).warehouse.path).query("SELECT source_id FROM mentions"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Stands in for the monitor-cycle flow: records that a flow run was asked for."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls = 0
        self.error = error

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.error:
            raise self.error
        raise AssertionError("no flow run expected")


def test_without_a_prefect_server_run_uses_the_plain_functions(feed, tmp_path, monkeypatch):
    cfg = write_config(tmp_path, [feed.url + "/good.xml"])
    flow = Recorder()
    monkeypatch.setattr(monitor, "monitor_cycle", flow)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert monitor.prefect_api_url() is None
        res = CliRunner().invoke(main, ["run", "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    assert flow.calls == 0  # no flow run, so no temporary Prefect server either
    assert stored(cfg) == ["g1", "g2"]


def test_a_prefect_server_that_does_not_answer_costs_no_cycle(feed, tmp_path, monkeypatch):
    cfg = write_config(tmp_path, [feed.url + "/good.xml"])
    flow = Recorder()
    monkeypatch.setattr(monitor, "monitor_cycle", flow)
    dead = f"http://127.0.0.1:{free_port()}/api"
    with temporary_settings(updates={PREFECT_API_URL: dead}):
        res = CliRunner().invoke(main, ["run", "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    assert f"the Prefect server at {dead} did not answer" in res.stderr
    assert "running the cycle without Prefect" in res.stderr
    assert flow.calls == 0 and stored(cfg) == ["g1", "g2"]


def test_a_flow_run_that_cannot_start_falls_back_to_the_plain_functions(feed, tmp_path, monkeypatch):
    cfg = write_config(tmp_path, [feed.url + "/good.xml"])
    flow = Recorder(RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server"))
    monkeypatch.setattr(monitor, "monitor_cycle", flow)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        res = CliRunner().invoke(main, ["run", "--prefect", "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    assert flow.calls == 1
    assert "the Prefect flow run could not start; running the cycle without Prefect" in res.stderr
    assert stored(cfg) == ["g1", "g2"]


def test_with_a_prefect_server_run_is_a_flow_run(prefect_harness, feed, tmp_path):
    from prefect.client.orchestration import get_client

    cfg = write_config(tmp_path, [feed.url + "/good.xml"])
    with get_client(sync_client=True) as client:
        before = len(client.read_flow_runs())
        res = CliRunner().invoke(main, ["run", "--config", str(cfg)])
        runs = client.read_flow_runs()
    assert res.exit_code == 0, res.output
    assert len(runs) == before + 1
    assert stored(cfg) == ["g1", "g2"]
    # and --no-prefect still runs the plain functions beside the server
    res = CliRunner().invoke(main, ["run", "--no-prefect", "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    with get_client(sync_client=True) as client:
        assert len(client.read_flow_runs()) == before + 1


# --- deliver-alerts: its own retries, decided by a typed error ----------------------------------


def flow_env(tmp_path: Path, srv: FakeServer, statuses: list[int]) -> tuple[Path, Hook]:
    srv.route("/forum.xml", FeedHandler(forum_feed(THREAT, NEGATIVE)))
    hook = Hook(statuses)
    srv.route(HOOK_PATH, hook)
    cfg = make_config(tmp_path / "w.duckdb", srv, schedule={"retry_delays_s": [0, 0], "retry_jitter_factor": 0})
    cfg.alerts.email_to = []
    return write_full_config(cfg, tmp_path / "edumon.toml"), hook


def alert_rows(cfg_path: Path) -> list[tuple]:
    wh = Warehouse(load_config(cfg_path).warehouse.path)
    return wh.query("SELECT channel, status, attempts FROM alerts ORDER BY channel")


def test_a_webhook_that_is_down_for_a_moment_gets_the_alert_in_the_same_cycle(prefect_harness, tmp_path):
    with FakeServer() as srv:
        cfg, hook = flow_env(tmp_path, srv, [503, 200])
        state = monitor.monitor_cycle(str(cfg), return_state=True)
    assert state.is_completed(), state.message
    report = state.result()
    assert report.actions.ok and len(report.actions.delivered) == 1
    assert len(hook.calls) == 2 and len(hook.delivered) == 1
    assert alert_rows(cfg) == [("webhook", "sent", 2)]


def test_a_webhook_that_refuses_is_not_retried_within_the_cycle(prefect_harness, tmp_path):
    with FakeServer() as srv:
        cfg, hook = flow_env(tmp_path, srv, [404])
        state = monitor.monitor_cycle(str(cfg), return_state=True)
    report = state.result(raise_on_failure=False)
    assert len(hook.calls) == 1  # a 404 is a refusal: the next cycle tries again, not this one
    assert [a["last_error"] for a in report.actions.failed] == ["webhook answered HTTP 404"]
    assert alert_rows(cfg) == [("webhook", "failed", 1)]


def test_a_webhook_that_stays_down_is_tried_once_per_retry_then_left_for_the_next_cycle(prefect_harness, tmp_path):
    with FakeServer() as srv:
        cfg, hook = flow_env(tmp_path, srv, [503])
        state = monitor.monitor_cycle(str(cfg), return_state=True)
        report = state.result(raise_on_failure=False)
    assert len(hook.calls) == 3  # the first try and retry_delays_s = [0, 0]
    assert [a["last_error"] for a in report.actions.failed] == ["webhook answered HTTP 503"]
    assert alert_rows(cfg) == [("webhook", "failed", 3)]
    assert report.stored  # storage never depends on alerting


def test_delivery_errors_say_whether_they_pass():
    with FakeServer() as srv:
        for status, transient in ((503, True), (429, True), (500, True), (404, False), (400, False)):
            srv.route(f"/s{status}", lambda req, s=status: Response(s, b"x"))
            with pytest.raises(DeliveryError) as e:
                post_webhook(f"{srv.url}/s{status}", {}, 3)
            assert e.value.transient is transient, status
    with pytest.raises(DeliveryError) as e:
        post_webhook(f"http://127.0.0.1:{free_port()}/hook", {}, 3)
    assert e.value.transient and "unreachable" in str(e.value)
    import smtplib
    import ssl

    assert smtp_transient(ConnectionRefusedError(111, "refused"))
    assert smtp_transient(smtplib.SMTPServerDisconnected("gone"))
    assert smtp_transient(smtplib.SMTPResponseException(451, b"try again later"))
    assert not smtp_transient(smtplib.SMTPAuthenticationError(535, b"bad login"))
    assert not smtp_transient(smtplib.SMTPRecipientsRefused({"a@b.nl": (550, b"no such user")}))
    assert not smtp_transient(ssl.SSLCertVerificationError("certificate verify failed"))
