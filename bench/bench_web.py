"""Review page figures: overview latency with many follow-ups, how long one action holds the
warehouse's write lock, and the cost of one password check; then, against a running page
(uvicorn) with real-cost password hashes: 30 concurrent wrong guesses (how many were checked),
the overview's latency for a logged-in user during a flood of logins from 30 clients, and
reads and writes while another process holds the warehouse's lock.

    .venv/bin/python bench/bench_web.py [--followups 2000]
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
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
from tests.locks import hold_lock  # noqa: E402
from tests.web_helpers import (  # noqa: E402
    PASSWORDS,
    SECRET,
    USERS,
    LiveServer,
    all_at_once,
    browser,
    post_login,
    token,
)
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
        live(cfg, ms_[0].mention_id)


def timed_get(c: object, path: str) -> float:
    t = time.perf_counter()
    r = c.get(path)  # type: ignore[attr-defined]
    assert r.status_code == 200, r.status_code
    return time.perf_counter() - t


def live(cfg: object, mention_id: str) -> None:
    """The page served by uvicorn, users with the real scrypt cost (n = 2**14)."""
    logging.getLogger("edumon.web").setLevel(logging.ERROR)  # the flood's failed logins, not printed
    real = [{**u, "password_hash": hash_password(PASSWORDS[u["username"]])} for u in USERS]
    cfg = replace(cfg, users=parse_config({"schools": SCHOOLS, "users": real, "organisation": {"name": "x"}}).users)  # type: ignore[type-var]
    with LiveServer(create_app(cfg, SECRET)) as srv:  # type: ignore[arg-type]
        guesses = [browser(srv.url) for _ in range(30)]
        toks = [token(c) for c in guesses]
        codes = all_at_once(30, lambda i: post_login(guesses[i], "bert", f"gok{i}", toks[i]).status_code)
        print(f"30 concurrent wrong guesses for one user: {codes.count(401)} checked, {codes.count(429)} refused (429)")
        anna = browser(srv.url, "127.0.0.99")
        assert post_login(anna, "anna", PASSWORDS["anna"]).status_code == 303
        quiet = [timed_get(anna, "/?status=all&school=regenboog-leiderdorp") for _ in range(20)]
        flood = [browser(srv.url, f"127.0.1.{i + 1}") for i in range(30)]
        ftoks = [token(c) for c in flood]
        busy: list[float] = []
        stop = threading.Event()

        def measure() -> None:
            while not stop.is_set():
                busy.append(timed_get(anna, "/?status=all&school=regenboog-leiderdorp"))

        t = threading.Thread(target=measure)
        t.start()
        t0 = time.perf_counter()
        fcodes = all_at_once(
            30, lambda i: [post_login(flood[i], "anna", f"x{k}", ftoks[i]).status_code for k in range(10)]
        )
        took = time.perf_counter() - t0
        stop.set()
        t.join()
        flat = [c for cs in fcodes for c in cs]
        print(
            f"flood of 30 clients x 10 wrong logins ({took:.1f} s; {flat.count(401)} checked, "
            f"{flat.count(429)} refused, {flat.count(503)} busy): overview {ms(quiet)} before, {ms(busy)} during"
        )
        with tempfile.TemporaryDirectory():
            lock = hold_lock(Path(cfg.warehouse.path), 60)  # type: ignore[attr-defined]
            try:
                t0 = time.perf_counter()
                reads = all_at_once(10, lambda i: anna.get("/?status=all&school=regenboog-leiderdorp").status_code)
                r_s = time.perf_counter() - t0
                form = anna.get(f"/opvolging/{mention_id}").text
                tok = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
                t0 = time.perf_counter()
                writes = all_at_once(
                    5,
                    lambda i: (
                        anna.post(
                            f"/opvolging/{mention_id}/actie", data={"act": "note", "note": f"n{i}", "csrf_token": tok}
                        ).status_code
                    ),
                )
                w_s = time.perf_counter() - t0
            finally:
                lock.kill()
                lock.wait()
        print(
            f"warehouse locked by another process (lock_timeout_s {cfg.warehouse.lock_timeout_s:g}): "  # type: ignore[attr-defined]
            f"10 concurrent reads answered in {r_s:.1f} s ({reads.count(200)} from the last answer), "
            f"5 concurrent writes answered 'bezig' in {w_s:.1f} s ({writes.count(503)} x 503)"
        )


if __name__ == "__main__":
    main()
