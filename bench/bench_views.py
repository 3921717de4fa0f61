"""`daily_mentions` over 10 million mentions (target: under 500 ms).

    .venv/bin/python bench/bench_views.py [--n 10000000] [--keep PATH]

The mentions are generated inside DuckDB (10 schools, 3 sources, 2 years, 20,000 authors,
one or two schools per mention), pseudonyms and the time zone set as `prepare` does, then:
the whole view (every row fetched), one school's last 30 days, and a month's totals by
source, each the best of 3 runs on a read-only connection, as an analyst would run them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe  # noqa: E402
from warehouse import Warehouse  # noqa: E402
from warehouse.viewsql import POSTED_DAY_SQL  # noqa: E402

GENERATE = """
INSERT INTO mentions (mention_id, source, source_id, url, author, author_id, text, text_hash, published_at,
                      fetched_at, target, lang, school_ids, sentiment, harm, harm_kind, classifier)
SELECT 'm' || i, src, 'id' || i, 'https://example.nl/p/' || i, 'user' || (i % 20000), 'did:plc:' || (i % 20000),
       'Bericht ' || i || ' over school ' || (i % 10), md5(i::VARCHAR), ts, ts + INTERVAL 5 MINUTE, 'bench', 'nl',
       CASE WHEN i % 7 = 0 THEN ['school-' || (i % 10), 'school-' || ((i + 1) % 10)] ELSE ['school-' || (i % 10)] END,
       (['positive', 'neutral', 'negative'])[1 + (i % 3)::INT],
       CASE WHEN i % 50 = 0 THEN 'insult' WHEN i % 501 = 0 THEN 'threat' ELSE 'none' END,
       CASE WHEN i % 50 = 0 THEN 'kwetsen' WHEN i % 501 = 0 THEN 'bedreigen' END,
       'bench/1'
FROM (SELECT i, (['rss', 'bluesky', 'mastodon'])[1 + (i % 3)::INT] AS src,
             TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds(CAST((i * 63072000) // ? AS BIGINT)) AS ts
      FROM range(?, ?) t(i))
"""

QUERIES = {
    "whole view, every row fetched": "SELECT * FROM daily_mentions",
    "one school, last 30 days": """SELECT day, source, sentiment, harm, sum(n) FROM daily_mentions
                                   WHERE school_id = 'school-3' AND day > DATE '2026-12-31' - 30 GROUP BY ALL""",
    "one month's totals by source": """SELECT source, sum(n) FROM daily_mentions
                                       WHERE day BETWEEN DATE '2026-06-01' AND DATE '2026-06-30' GROUP BY ALL""",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--keep", help="build (or reuse) the warehouse here instead of a temp dir")
    args = ap.parse_args()
    print(describe())
    tmp = None if args.keep else tempfile.TemporaryDirectory()
    path = Path(args.keep) if args.keep else Path(tmp.name) / "edumon.duckdb"  # type: ignore[union-attr]
    wh = Warehouse(path)
    wh.migrate()
    have = wh.query("SELECT count(*) FROM mentions")[0][0]
    if have != args.n:
        t = time.perf_counter()
        with wh.transaction() as con:
            con.execute("DELETE FROM mentions")
            step = 2_000_000
            for lo in range(0, args.n, step):
                con.execute(GENERATE, [args.n, lo, min(args.n, lo + step)])
            con.execute("DELETE FROM settings WHERE key = 'timezone'")
            con.execute("INSERT INTO settings VALUES ('timezone', 'Europe/Amsterdam')")
            # the local day `upsert_mentions` stores with every mention it writes
            con.execute(f"UPDATE mentions SET posted_day = {POSTED_DAY_SQL}")
            con.execute("DELETE FROM pseudonyms")
            con.execute(
                "INSERT INTO pseudonyms SELECT DISTINCT m.source || ':' || m.author_id, md5(m.author_id) "
                "FROM mentions m"
            )
        print(
            f"generated {args.n:,} mentions in {time.perf_counter() - t:.1f} s; "
            f"file {os.path.getsize(path) / 1e9:.2f} GB"
        )
    with wh.connect(read_only=True) as con:
        threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
        print(
            f"mentions: {con.execute('SELECT count(*) FROM mentions').fetchone()[0]:,}; "
            f"daily_mentions rows: {con.execute('SELECT count(*) FROM daily_mentions').fetchone()[0]:,}; "
            f"DuckDB threads: {threads}"
        )
        for name, sql in QUERIES.items():
            times = []
            for _ in range(3):
                t = time.perf_counter()
                rows = con.execute(sql).fetchall()
                times.append(time.perf_counter() - t)
            print(
                f"{name:<32} {min(times) * 1000:8.0f} ms best of 3 ({', '.join(f'{x * 1000:.0f}' for x in times)}) "
                f"-> {len(rows):,} rows   (target: under 500 ms)"
            )
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
