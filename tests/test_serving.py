"""`edumon serve`'s bookkeeping without a server: whose process a run is, one serve per warehouse.
The real thing (Ctrl-C, kill -9, restart against a Prefect server) is in test_serve.py."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import write_config

from core.config import load_config
from edumon.cli import main
from flows.serving import ServeBusy, process_alive, serve_lock, serve_lock_path


def test_a_run_is_alive_only_while_its_flow_process_runs_here():
    host = socket.gethostname()
    flow_proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "prefect.engine"])
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert process_alive(f"{host}:{flow_proc.pid}")
        assert not process_alive(f"{host}:{other.pid}")  # a recycled pid is not the run's process
        assert not process_alive(f"elsewhere:{flow_proc.pid}")
        assert not process_alive(None) and not process_alive("") and not process_alive(f"{host}:x")
    finally:
        flow_proc.kill()
        other.kill()
        flow_proc.wait()
        other.wait()
    assert not process_alive(f"{host}:{flow_proc.pid}")


def test_one_serve_per_warehouse(tmp_path):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    cfg_path = write_config(tmp_path, [])
    cfg = load_config(cfg_path)
    with serve_lock(cfg):
        with pytest.raises(ServeBusy):
            with serve_lock(cfg):
                pass
        with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
            res = CliRunner().invoke(main, ["serve", "--config", str(cfg_path)])
        assert res.exit_code == 1, res.output
        assert res.output.strip().startswith("Error: another edumon serve (pid ")
        assert str(serve_lock_path(cfg)) in res.output
    with serve_lock(cfg):  # free again once the first serve is gone
        pass


def test_no_flow_or_task_persists_its_result():
    """Results carry texts (a cycle report, a digest): none may go to Prefect's result storage,
    whatever the server's default storage says."""
    from prefect import Flow
    from prefect.tasks import Task

    from flows import digest, monitor, retention

    found = [
        (mod.__name__, name, obj)
        for mod in (monitor, digest, retention)
        for name, obj in vars(mod).items()
        if isinstance(obj, (Flow, Task))
    ]
    assert len(found) >= 10
    assert [(m, n) for m, n, obj in found if obj.persist_result is not False] == []
