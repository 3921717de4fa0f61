"""Time `edumon backup` and `edumon restore` on a synthetic warehouse; prints figures.

    .venv/bin/python bench/bench_backup.py [N_MENTIONS]

Builds N mentions (default 100 000, with raw payloads as a cycle stores them) and N/10 alerts
with their messages, then times a backup (`warehouse.backup.backup`), a backup while another
process holds the lock for 2 s (the wait is included), and a restore of the first backup that
carries the alert history over. Prints the file sizes too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow as pa  # noqa: E402

from bench.machine import describe  # noqa: E402
from core.mention import Mention  # noqa: E402
from warehouse import Warehouse, upsert_mentions  # noqa: E402
from warehouse.backup import backup, restore  # noqa: E402

HOLD = "import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); print('x', flush=True); time.sleep(2); c.close()"


def build(wh: Warehouse, n: int) -> None:
    now = datetime.now(timezone.utc)
    ms = [
        Mention(
            source="bluesky",
            source_id=f"id{i}",
            text=f"School {i % 3} bericht {i} over de les en het rooster, met wat meer tekst erbij.",
            author=f"user{i % 500}.bsky.social",
            url=f"https://bsky.app/profile/user{i % 500}.bsky.social/post/{i}",
            published_at=now - timedelta(minutes=i),
            school_ids=[f"s{i % 3}"],
            sentiment="negative",
            harm="none",
            raw='{"uri": "at://did:plc:x/app.bsky.feed.post/%d", "record": {"text": "..."}}' % i,
        )
        for i in range(n)
    ]
    k = n // 10
    alerts = pa.table(
        {
            "alert_id": [f"a{i}" for i in range(k)],
            "mention_id": [ms[i].mention_id for i in range(k)],
            "school_id": ["s0"] * k,
            "kind": ["insult"] * k,
            "severity": ["normal"] * k,
            "channel": ["webhook"] * k,
            "recipient": ["alerts.webhook_url"] * k,
            "status": ["sent"] * k,
            "attempts": [1] * k,
            "last_error": pa.nulls(k, pa.string()),
            "created_at": pa.array([now] * k, pa.timestamp("us", tz="UTC")),
            "sent_at": pa.array([now] * k, pa.timestamp("us", tz="UTC")),
        }
    )
    msgs = pa.table(
        {
            "alert_id": [f"a{i}" for i in range(k)],
            "ref": [ms[i].mention_id for i in range(k)],
            "subject": ["Belediging"] * k,
            "body": ["tekst " * 40] * k,
            "link": pa.nulls(k, pa.string()),
        }
    )
    with wh.transaction() as con:
        upsert_mentions(con, ms)
        con.register("a_in", alerts)
        con.register("m_in", msgs)
        con.execute("INSERT INTO alerts SELECT * FROM a_in")
        con.execute("INSERT INTO alert_messages SELECT * FROM m_in")


def main(n: int) -> None:
    print(describe())
    tmp = Path(tempfile.mkdtemp(prefix="edumon-bench-backup-"))
    try:
        wh = Warehouse(tmp / "edumon.duckdb")
        build(wh, n)
        size = (tmp / "edumon.duckdb").stat().st_size / 1e6
        print(f"warehouse: {n} mentions, {n // 10} alerts, {size:.1f} MB")
        res = backup(wh, tmp / "b1.duckdb")
        print(f"backup: {res.seconds:.2f} s, {res.path.stat().st_size / 1e6:.1f} MB, {sum(res.rows.values())} rows")
        holder = subprocess.Popen([sys.executable, "-c", HOLD, str(wh.path)], stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None and holder.stdout.readline()
        res = backup(wh, tmp / "b2.duckdb")
        holder.wait()
        print(f"backup while another process held the lock for 2 s: {res.seconds:.2f} s (wait included)")
        started = time.monotonic()
        r = restore(wh, tmp / "b1.duckdb")
        print(f"restore with the alert history carried over ({r.carried}): {time.monotonic() - started:.2f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
