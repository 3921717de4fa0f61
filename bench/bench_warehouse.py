"""Warehouse bulk upsert: 100,000 mentions through `warehouse.upsert_mentions` against a plain
DuckDB `INSERT ... SELECT` of the same rows from Arrow, in the same run.  Target: within 2x.

    .venv/bin/python bench/bench_warehouse.py [--n 100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe  # noqa: E402
from core.mention import Mention  # noqa: E402
from warehouse import Warehouse, upsert_mentions  # noqa: E402
from warehouse.rows import mentions_to_arrow  # noqa: E402
from warehouse.store import INSERT_COLS, MENTION_SELECT  # noqa: E402

WORDS = (
    "ouders leerlingen docent rooster kantine fiets open dag toets excursie gym musical "
    "schoolplein verkeer brug regen mentor les"
).split()


def make_mentions(n: int, offset: int = 0) -> list[Mention]:
    """n distinct mentions, half posts and half articles, with realistic field sizes."""
    t0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
    out = []
    for i in range(offset, offset + n):
        body = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(25))
        text = f"Bericht {i} over het Ley College: {body}."
        if i % 2:
            m = Mention(
                source="bluesky",
                source_id=f"at://did:plc:{i:08x}/app.bsky.feed.post/{i}",
                text=text,
                url=f"https://bsky.app/profile/u{i}/post/{i}",
                author=f"user{i}.bsky.social",
                author_id=f"did:plc:{i:08x}",
                published_at=t0 + timedelta(seconds=i),
                target="bsky|Ley College",
                lang="nl",
                school_ids=["ley-college"],
                metrics={"likes": i % 50, "reposts": i % 7},
                raw='{"text": "' + text + '"}',
            )
        else:
            m = Mention(
                source="rss",
                source_id=f"guid-{i}",
                text=text,
                title=f"Nieuws {i}",
                url=f"https://nieuws.example.nl/artikel/{i}?utm_source=rss",
                author="Redactie",
                published_at=t0 + timedelta(seconds=i),
                target="https://nieuws.example.nl/rss",
                lang="nl",
                links=[f"https://nieuws.example.nl/artikel/{i}"],
                school_ids=["ley-college"],
                raw="<item>...</item>",
            )
        m.sentiment, m.harm, m.classifier = "neutral", "none", "bench/1"
        m.scores = {"negative": 0.1, "neutral": 0.8, "positive": 0.1}
        out.append(m)
    return out


def one_round(tmp: Path, rnd: int, mentions: list[Mention], more: list[Mention]) -> dict[str, float]:
    n = len(mentions)
    out: dict[str, float] = {}
    t = time.perf_counter()
    tbl = mentions_to_arrow(mentions)
    out["arrow"] = time.perf_counter() - t

    # edumon's path: Arrow conversion + de-duplicating upsert, in one transaction (commit included)
    wh = Warehouse(tmp / f"upsert{rnd}.duckdb")
    wh.migrate()
    t = time.perf_counter()
    with wh.transaction() as con:
        res = upsert_mentions(con, mentions)
    out["upsert"] = time.perf_counter() - t
    assert res.inserted == n, res.inserted

    # a plain INSERT ... SELECT of the same rows from the ready Arrow table (no checks; commit included)
    plain = Warehouse(tmp / f"plain{rnd}.duckdb")
    plain.migrate()
    t = time.perf_counter()
    with plain.transaction() as con:
        con.register("incoming", tbl)
        con.execute(f"INSERT INTO mentions ({INSERT_COLS}) SELECT {MENTION_SELECT} FROM incoming")
        con.unregister("incoming")
    out["plain"] = time.perf_counter() - t
    assert plain.query("SELECT count(*) FROM mentions")[0][0] == n

    # the same batch again (all duplicates), then a fresh batch into the full table
    t = time.perf_counter()
    with wh.transaction() as con:
        again = upsert_mentions(con, mentions)
    out["again"] = time.perf_counter() - t
    assert again.inserted == 0
    t = time.perf_counter()
    with wh.transaction() as con:
        nxt = upsert_mentions(con, more)
    out["more"] = time.perf_counter() - t
    assert nxt.inserted == n
    assert wh.query("SELECT count(*), count(DISTINCT mention_id) FROM mentions")[0] == (2 * n, 2 * n)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3, help="best of this many rounds (the machine is shared)")
    args = ap.parse_args()
    print(describe())
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    mentions = make_mentions(args.n)
    more = make_mentions(args.n, offset=args.n)
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(args.rounds):
            rounds.append(one_round(Path(tmp), rnd, mentions, more))
    best = {k: min(r[k] for r in rounds) for k in rounds[0]}
    n = args.n
    print(f"mentions: {n:,}; best of {args.rounds} rounds; load average after: {os.getloadavg()[0]:.2f}")
    print(f"mentions_to_arrow (part of the upsert):  {best['arrow']:7.3f} s")
    print(f"upsert_mentions into an empty table:     {best['upsert']:7.3f} s  ({n / best['upsert']:,.0f} rows/s)")
    print(f"plain INSERT ... SELECT from Arrow:      {best['plain']:7.3f} s  ({n / best['plain']:,.0f} rows/s)")
    print(f"ratio upsert / plain:                    {best['upsert'] / best['plain']:7.2f}x  (target: within 2x)")
    print("ratio per round:                         " + ", ".join(f"{r['upsert'] / r['plain']:.2f}x" for r in rounds))
    print(f"upsert of the same batch again (0 new):  {best['again']:7.3f} s")
    print(f"upsert of {n:,} new into {n:,} rows:  {best['more']:7.3f} s")


if __name__ == "__main__":
    main()
