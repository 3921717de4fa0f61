"""Review page figures: overview latency with many follow-ups, how long one action holds the
warehouse's write lock, and the cost of one password check.

    .venv/bin/python bench/bench_web.py [--followups 2000]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starlette.testclient import TestClient  # noqa: E402

from core.config import parse_config  # noqa: E402
from core.mention import Mention  # noqa: E402
from core.passwords import hash_password, verify_password  # noqa: E402
from edumon.web.app import create_app  # noqa: E402
from protocol.followups import create_followups  # noqa: E402
from tests.conftest import SCHOOLS  # noqa: E402
from tests.web_helpers import PASSWORDS, SECRET, USERS  # noqa: E402
from warehouse import Warehouse, upsert_mentions  # noqa: E402


def ms(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1000:.1f} ms, max {max(xs) * 1000:.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--followups", type=int, default=2000)
    n = ap.parse_args().followups
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = parse_config(
            {
                "organisation": {"name": "Edu-Ley"},
                "schools": SCHOOLS,
                "users": USERS,
                "warehouse": {"path": f"{tmp}/edumon.duckdb"},
            }
        )
        wh = Warehouse(cfg.warehouse.path)
        harms = ["none", "none", "insult", "threat"]
        ms_ = [
            Mention(
                source="mastodon",
                source_id=f"s{i}",
                text=f"Bericht {i} over het Ley College: slecht geregeld",
                fetched_at=now - timedelta(minutes=i),
                published_at=now - timedelta(minutes=i),
                school_ids=[SCHOOLS[i % 2]["id"]],
                sentiment="negative",
                harm=harms[i % 4],
                harm_kind="bedreigen" if harms[i % 4] == "threat" else None,
                classifier="bench",
            )
            for i in range(n)
        ]
        with wh.transaction() as con:
            upsert_mentions(con, ms_)
            create_followups(con, ms_, now)
        app = create_app(cfg, SECRET)
        c = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
        tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
        c.post("/login", data={"username": "anna", "password": PASSWORDS["anna"], "csrf_token": tok})
        pages = []
        for _ in range(10):
            t = time.perf_counter()
            r = c.get("/?status=all")
            pages.append(time.perf_counter() - t)
            assert r.status_code == 200
        store = app.state.store
        writes = []
        for m in ms_[:20]:
            t = time.perf_counter()
            store.act([s["id"] for s in SCHOOLS], m.mention_id, by="bench", act="note", note="gebeld met ouder")
            writes.append(time.perf_counter() - t)
        t = time.perf_counter()
        verify_password("x" * 12, hash_password("x" * 12))
        pw = (time.perf_counter() - t) / 2
        print(f"overview of {n} follow-ups (status all): {ms(pages)}, {len(r.content) / 1e6:.1f} MB HTML")
        print(f"one action (open, write, commit, close the warehouse): {ms(writes)}")
        print(f"one scrypt password check: {pw * 1000:.0f} ms")


if __name__ == "__main__":
    main()
