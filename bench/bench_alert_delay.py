"""How long a threat alert waits while an analyst holds a DuckDB connection; prints figures.

    .venv/bin/python bench/bench_alert_delay.py [HOLD_S]

A local feed serves one threatening post about a school and a local webhook receiver records
when the alert arrives. Each scenario starts from a fresh warehouse, starts an "analyst"
process that opens a read-only connection and keeps it HOLD_S seconds (default 20), and runs
one cycle (default classifier, loaded and warmed up first, `lock_timeout_s` 60):

- before: the cycle as it was before issue 18 point 7 (no urgent alerts before the store, every
  read waiting up to `lock_timeout_s`), the analyst on the main file;
- after, analyst on the main file: the urgent alert goes out before the store;
- after, analyst on the analysts' copy (where analysts now work): nothing waits at all.

Figures: seconds from the cycle's start to the webhook's receipt of the threat alert, and the
cycle's duration. (Held longer than `lock_timeout_s`, "before" spools and the alert waits for the
next scheduled cycle after the analyst lets go: 15 minutes by default.)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from protocol_env import HOOK_PATH, THREAT, feed, make_config  # noqa: E402

import pipeline  # noqa: E402
from bench.machine import describe  # noqa: E402
from classifiers import load_classifier  # noqa: E402
from fakes.rss import FeedHandler  # noqa: E402
from fakes.server import FakeServer, Request, Response  # noqa: E402
from warehouse import Warehouse, warehouse_for  # noqa: E402
from warehouse.publish import analysts_path, publish  # noqa: E402

ANALYST = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SELECT 1").fetchall()
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
"""


class Receiver:
    def __init__(self) -> None:
        self.arrivals: list[float] = []

    def __call__(self, req: Request) -> Response:
        self.arrivals.append(time.monotonic())
        return Response(200, b"ok")


def analyst(path: Path, hold_s: float) -> subprocess.Popen[str]:
    p = subprocess.Popen([sys.executable, "-c", ANALYST, str(path), str(hold_s)], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "holding"
    return p


def old_cycle() -> Callable[[], None]:
    """Make `pipeline` behave as before: no urgent step, reads wait the full lock timeout."""
    saved = (pipeline.send_urgent_alerts, pipeline.quick_warehouse)
    pipeline.send_urgent_alerts = lambda cfg, batch, report, secrets: report  # type: ignore[assignment]
    pipeline.quick_warehouse = warehouse_for  # type: ignore[assignment]

    def restore() -> None:
        pipeline.send_urgent_alerts, pipeline.quick_warehouse = saved  # type: ignore[assignment]

    return restore


def scenario(name: str, hold_on: str, old: bool, hold_s: float, clf: object) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="edumon-bench-delay-"))
    with FakeServer() as srv:
        srv.route("/forum.xml", FeedHandler(feed(THREAT)))
        hook = Receiver()
        srv.route(HOOK_PATH, hook)
        cfg = make_config(tmp / "edumon.duckdb", srv)
        cfg.warehouse.lock_timeout_s = 60
        cfg.alerts.smtp.host = None  # the webhook only
        Warehouse(cfg.warehouse.path).migrate()
        publish(cfg)
        target = Path(cfg.warehouse.path) if hold_on == "main" else analysts_path(cfg)
        restore = old_cycle() if old else (lambda: None)
        proc = analyst(target, hold_s)
        try:
            t0 = time.monotonic()
            report = pipeline.run_cycle(cfg, classifier=clf)  # type: ignore[arg-type]
            took = time.monotonic() - t0
        finally:
            restore()
            proc.kill()
            proc.wait()
    delay = f"{hook.arrivals[0] - t0:6.1f} s" if hook.arrivals else "  not sent (spooled; next cycle)"
    print(
        f"{name:<42} threat alert after {delay}; cycle {took:5.1f} s"
        f"{', spooled' if report.spooled else ''}{', copy published' if report.published else ''}"
    )


def main(hold_s: float) -> None:
    print(describe())
    print(f"analyst holds a read-only connection for {hold_s:g} s; warehouse.lock_timeout_s = 60")
    clf = load_classifier(make_config(Path(tempfile.mkdtemp()) / "x.duckdb", None).classifier)
    clf.classify(["Het Ley College houdt een open dag."])  # warm up
    scenario("before, analyst on the main file", "main", True, hold_s, clf)
    scenario("after, analyst on the main file", "main", False, hold_s, clf)
    scenario("after, analyst on the analysts' copy", "copy", False, hold_s, clf)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0)
