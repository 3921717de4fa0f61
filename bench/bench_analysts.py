"""Time the analysts' and retention operations on a synthetic warehouse; prints figures.

    .venv/bin/python bench/bench_analysts.py [N_MENTIONS]

Builds N mentions (default 100 000) spread over 180 days, 500 authors, three schools, then
times: computing pseudonyms, querying each view, `export`, publishing the analysts' copy,
`purge` (which removes about half of them) and the compaction that follows it (`warehouse.compact`).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import parse_config  # noqa: E402
from core.mention import Mention  # noqa: E402
from core.secrets import Secrets  # noqa: E402
from warehouse import Warehouse, upsert_mentions  # noqa: E402
from warehouse.compact import compact  # noqa: E402
from warehouse.export import export  # noqa: E402
from warehouse.publish import publish  # noqa: E402
from warehouse.retention import COMPACTION_DUE, purge  # noqa: E402
from warehouse.views import prepare  # noqa: E402

KEY = "bench-key-0123456789abcdef"


def main(n: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="edumon-bench-"))
    cfg = parse_config(
        {
            "organisation": {"name": "Bench"},
            "schools": [{"id": f"s{i}", "name": f"School {i}"} for i in range(3)],
            "warehouse": {"path": str(tmp / "edumon.duckdb")},
        }
    )
    wh = Warehouse(cfg.warehouse.path)
    now = datetime.now(timezone.utc)
    sentiments, harms = ["positive", "neutral", "negative", "negative"], ["none"] * 9 + ["insult"]
    ms = [
        Mention(
            source="bluesky" if i % 3 else "mastodon",
            source_id=f"id{i}",
            text=f"School {i % 3} bericht {i} over de les en het rooster, @user{i % 500}.bsky.social",
            author=f"user{i % 500}.bsky.social",
            author_id=f"did:plc:{i % 500}",
            url=f"https://bsky.app/profile/user{i % 500}.bsky.social/post/{i}",
            published_at=now - timedelta(minutes=i * 180 * 24 * 60 // n),
            school_ids=[f"s{i % 3}"],
            sentiment=sentiments[i % 4],
            harm=harms[i % 10],
            cues=["rooster"],
        )
        for i in range(n)
    ]
    t = time.perf_counter()
    for k in range(0, n, 20_000):
        with wh.transaction() as con:
            upsert_mentions(con, ms[k : k + 20_000])
    print(f"insert {n} mentions: {time.perf_counter() - t:.2f} s")

    t = time.perf_counter()
    prepare(wh, cfg, KEY.encode())
    print(f"pseudonyms for 500 authors + settings: {time.perf_counter() - t:.2f} s")
    for view in ("daily_mentions", "mentions_pseudonymous", "followup_stats"):
        t = time.perf_counter()
        rows = wh.query(f"SELECT count(*), max(hash(v)) FROM {view} v")[0][0]  # hash: every column computed
        print(f"SELECT * FROM {view}: {rows} rows in {time.perf_counter() - t:.2f} s")

    t = time.perf_counter()
    rep = export(cfg, tmp / "export", secrets=Secrets(environ={"EDUMON_PSEUDONYM_KEY": KEY}))
    size = sum(f.stat().st_size for f in (tmp / "export").rglob("*.parquet"))
    print(f"export: {time.perf_counter() - t:.2f} s, {size / 1e6:.1f} MB Parquet ({rep.summary()})")

    pub = publish(cfg, Secrets(environ={"EDUMON_PSEUDONYM_KEY": KEY}))
    size = os.path.getsize(pub.path) / 1e6
    print(f"publish the analysts' copy: {pub.seconds:.2f} s, {size:.1f} MB ({pub.summary()})")

    before = os.path.getsize(cfg.warehouse.path)
    t = time.perf_counter()
    prep = purge(cfg, compact_file=False)
    print(f"purge: {time.perf_counter() - t:.2f} s ({prep.summary()})")
    t = time.perf_counter()
    done = compact(wh, clear_setting=COMPACTION_DUE)
    print(f"compaction: {time.perf_counter() - t:.2f} s ({done.summary()}; {before / 1e6:.1f} MB before the purge)")
    t = time.perf_counter()
    purge(cfg)
    print(f"purge again (nothing to do): {time.perf_counter() - t:.2f} s")
    print(f"warehouse: {os.path.getsize(cfg.warehouse.path) / 1e6:.1f} MB")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
