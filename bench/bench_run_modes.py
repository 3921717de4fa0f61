"""How long `edumon run` takes in each of its modes, and how many GETs a failing feed gets.

One good feed and one feed answering 503, with the connector's default retries (3, so 4 GETs).
Modes: plain functions (no Prefect server configured), a configured server that does not
answer (falls back to the plain functions), and a flow run against a Prefect server (the
test harness: a local server in a subprocess; its ~10 s start is not counted).

    .venv/bin/python bench/bench_run_modes.py
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from click.testing import CliRunner  # noqa: E402
from prefect.settings import PREFECT_API_URL, temporary_settings  # noqa: E402
from prefect.testing.utilities import prefect_test_harness  # noqa: E402

from bench.machine import describe  # noqa: E402
from edumon.cli import main  # noqa: E402
from fakes.rss import FeedHandler, rss_xml  # noqa: E402
from fakes.server import FakeServer, Response  # noqa: E402

ITEMS = [
    {
        "guid": f"n{i}",
        "title": f"Ley College nieuws {i}",
        "description": "Over het Ley College.",
        "link": f"https://nieuws.example.nl/n{i}",
    }
    for i in range(20)
]


def config(tmp: Path, url: str, name: str) -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(
        f"""
[organisation]
name = "Edu-Ley (bench)"
[warehouse]
path = "{(tmp / f"{name}.duckdb").as_posix()}"
[[schools]]
id = "ley-college"
name = "Ley College"
aliases = ["Ley College"]
[classifier]
backend = "rules"
[[sources.rss]]
url = "{url}/good.xml"
[[sources.rss]]
url = "{url}/down.xml"
""",
        encoding="utf-8",
    )
    return path


def timed(args: list[str]) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    res = CliRunner().invoke(main, args)
    return time.perf_counter() - t0, res.exit_code, res.stderr.strip().splitlines()[0] if res.stderr.strip() else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main_() -> None:
    print(describe())
    with tempfile.TemporaryDirectory() as d, FakeServer() as srv:
        tmp = Path(d)
        srv.route("/good.xml", FeedHandler(rss_xml(ITEMS)))
        srv.route("/down.xml", lambda req: Response(503, b"down"))

        def row(mode: str, name: str, settings: dict) -> None:
            before = len(srv.requests_to("/down.xml"))
            with temporary_settings(**settings):
                s, code, note = timed(["run", "--config", str(config(tmp, srv.url, name))])
            gets = len(srv.requests_to("/down.xml")) - before
            print(f"{mode:<42} {s:6.2f} s  exit {code}  GETs to the 503 feed: {gets}  {note[:60]}")

        row("plain functions (no PREFECT_API_URL)", "direct", {"restore_defaults": {PREFECT_API_URL}})
        dead = f"http://127.0.0.1:{free_port()}/api"
        row("server configured but down (fallback)", "fallback", {"updates": {PREFECT_API_URL: dead}})
        t0 = time.perf_counter()
        with prefect_test_harness(server_startup_timeout=120):
            print(f"(Prefect test server started in {time.perf_counter() - t0:.1f} s)")
            row("flow run (Prefect server)", "flow", {})


if __name__ == "__main__":
    main_()
