"""The source-health check after a cycle, on a year of history: 30 targets (10 feeds, 10 Bluesky
queries, 10 Mastodon hashtags) run every 15 minutes, 06:00-23:00, for DAYS days, some failing for
days and some quiet.  Prints how many rows the query keeps, how long the check takes (read +
rules + alert transaction), and the cost of one heartbeat ping to a receiver on 127.0.0.1.

    .venv/bin/python bench/bench_health.py [--days 365]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import health  # noqa: E402
from bench.machine import describe  # noqa: E402
from core.config import parse_config  # noqa: E402
from fakes.server import FakeServer, Response  # noqa: E402
from warehouse import Warehouse  # noqa: E402


def config(tmp: Path, hb: str) -> dict:
    return {
        "organisation": {"name": "bench"},
        "warehouse": {"path": str(tmp / "w.duckdb")},
        "schools": [{"id": f"s{i}", "name": f"School {i}"} for i in range(10)],
        "sources": {
            "rss": [{"url": f"https://feed{i}.example.nl/rss"} for i in range(10)],
            "bluesky": [
                {"handle": "m.example.nl", "app_password_env": "X", "queries": [f"School {i}" for i in range(10)]}
            ],
            "mastodon": [{"api_base_url": "https://mastodon.example", "hashtags": [f"school{i}" for i in range(10)]}],
        },
        "alerts": {"admin_contacts": ["https://beheer.example.nl/hook"]},
        "health": {"heartbeat_url": hb},
    }


def history(targets: list[tuple[str, str]], days: int, now: datetime) -> pa.Table:
    cols: dict[str, list] = {k: [] for k in ("run_id", "cycle_id", "source", "target", "status", "fetched", "t", "n")}
    t = now - timedelta(days=days)
    i = 0
    while t <= now:
        if 6 <= t.hour <= 22:
            for j, (source, target) in enumerate(targets):
                failing = j % 7 == 0 and now - t < timedelta(days=3)  # some targets down for 3 days
                quiet = j % 5 == 1 and now - t < timedelta(days=20)  # some quiet for 20 days
                status = "failed" if failing else ("not_modified" if source == "rss" and quiet else "ok")
                fetched = 0 if failing or quiet else (5 if i % 4 == 0 else 0)
                cols["run_id"].append(f"{i}-{j}")
                cols["cycle_id"].append(f"c{i}")
                cols["source"].append(source)
                cols["target"].append(target)
                cols["status"].append(status)
                cols["fetched"].append(fetched)
                cols["t"].append(t)
                cols["n"].append(t - timedelta(hours=1) if fetched else None)
        i += 1
        t += timedelta(minutes=15)
    return pa.table(cols)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args()
    print(describe())
    now = datetime.now(timezone.utc).replace(hour=20, minute=0, second=0, microsecond=0)
    with tempfile.TemporaryDirectory() as d, FakeServer() as srv:
        srv.route("/ping", lambda req: Response(200, b"OK"))
        cfg = parse_config(config(Path(d), srv.url + "/ping"))
        targets = health.configured_targets(cfg)
        wh = Warehouse(cfg.warehouse.path)
        runs = history(targets, args.days, now)  # noqa: F841 - read by DuckDB's replacement scan
        with wh.transaction() as con:
            con.execute(
                "INSERT INTO source_runs (run_id, cycle_id, source, target, status, requests, fetched, relevant, new,"
                " started_at, finished_at, duration_ms, newest_item_at)"
                " SELECT run_id, cycle_id, source, target, status, 1, fetched, 0, 0, t, t, 0, n FROM runs"
            )
        total = wh.query("SELECT count(*) FROM source_runs")[0][0]
        with wh.connect(read_only=True) as con:
            t0 = time.perf_counter()
            kept = health.recent_runs(con, cfg.health, now)
            read_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        found, alerted = health.check_and_alert(cfg, now)
        check_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(20):
            health.heartbeat.ping(cfg, True)
        ping_ms = (time.perf_counter() - t0) / 20 * 1000
    kinds = sorted({(f.kind, f.source) for f in found})
    print(f"{len(targets)} targets, {args.days} days: {total:,} source_runs rows; the query keeps {len(kept):,}")
    print(f"read {read_s:.2f} s; whole check (read, rules, alert transaction) {check_s:.2f} s")
    print(f"{len(found)} findings {kinds}; {len(alerted)} alerts raised")
    print(f"heartbeat ping to 127.0.0.1: {ping_ms:.1f} ms")


if __name__ == "__main__":
    main()
