"""Time the deletion check; prints figures.

    .venv/bin/python bench/bench_deletion.py [N_MENTIONS]

1. The warehouse side on N stored Bluesky/Mastodon mentions (default 100 000): one capped
   run (500 due posts, an in-process lookup that says 1 in 50 is gone): choosing the due
   posts, marking, recording the checks.
2. The network side against the local fakes through the real clients: 500 Bluesky posts
   (getPosts, 25 a request) and 500 Mastodon statuses (one GET each).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import connectors  # noqa: E402
from core.config import parse_config  # noqa: E402
from core.mention import Mention  # noqa: E402
from core.secrets import Secrets  # noqa: E402
from fakes import FakeBluesky, FakeMastodon  # noqa: E402
from pipeline.deletion import check_deleted  # noqa: E402
from warehouse import Warehouse, upsert_mentions  # noqa: E402

SCHOOLS = [{"id": "ley-college", "name": "Ley College"}]


def warehouse_side(tmp: Path, n: int) -> None:
    cfg = parse_config(
        {"organisation": {"name": "Bench"}, "schools": SCHOOLS, "warehouse": {"path": str(tmp / "wh.duckdb")}}
    )
    wh = Warehouse(cfg.warehouse.path)
    now = datetime.now(timezone.utc)
    ms = [
        Mention(
            source="bluesky" if i % 2 else "mastodon",
            source_id=f"at://did:plc:{i}/app.bsky.feed.post/{i}",
            text=f"Ley College bericht {i}",
            published_at=now - timedelta(minutes=i),
            school_ids=["ley-college"],
        )
        for i in range(n)
    ]
    for k in range(0, n, 20_000):
        with wh.transaction() as con:
            upsert_mentions(con, ms[k : k + 20_000])
    for night in range(2):
        t = time.perf_counter()
        rep = check_deleted(
            cfg, lambda due: {m.mention_id: hash(m.mention_id) % 50 != 0 for m in due}, now=now + timedelta(days=night)
        )
        print(
            f"warehouse side, {n} stored, night {night + 1}: {rep.checked} checked, {rep.marked} marked "
            f"in {time.perf_counter() - t:.2f} s"
        )


def network_side(tmp: Path, n: int = 500) -> None:
    secrets = Secrets(environ={"BSKY_APP_PASSWORD": "app-pass-1234"}, secrets_dir=tmp / "secrets")
    with FakeBluesky(accounts={"edumon.bsky.social": "app-pass-1234"}) as bsky, FakeMastodon("mastodon.nl") as masto:
        cfg = parse_config(
            {
                "organisation": {"name": "Bench"},
                "schools": SCHOOLS,
                "warehouse": {"path": str(tmp / "net.duckdb")},
                "retention": {"deletion_checks_per_run": 2 * n},
                "sources": {
                    "bluesky": [
                        {
                            "handle": "edumon.bsky.social",
                            "base_url": bsky.url,
                            "app_password_env": "BSKY_APP_PASSWORD",
                            "queries": ["Ley College"],
                        }
                    ],
                    "mastodon": [{"api_base_url": masto.url, "hashtags": ["leycollege"], "max_pages": 20}],
                },
            }
        )
        now = datetime.now(timezone.utc)
        posts = [
            bsky.add_post(f"u{i}.bsky.social", f"Ley College {i}", now - timedelta(minutes=n - i)) for i in range(n)
        ]
        toots = [
            masto.add_status(f"u{i}", f"<p>Ley College {i}</p>", now - timedelta(minutes=n - i), tags=["leycollege"])
            for i in range(n)
        ]
        found: list[Mention] = []
        for target in connectors.all_targets(cfg):
            found.extend(connectors.connector(target.source).fetch(target, {}, secrets).mentions)
        for m in found:
            m.school_ids = ["ley-college"]
        with Warehouse(cfg.warehouse.path).transaction() as con:
            upsert_mentions(con, found)
        for p in posts[::50]:
            bsky.delete_post(p["uri"])
        for s in toots[::50]:
            masto.delete_status(s["id"])
        for source in ("bluesky", "mastodon"):
            t = time.perf_counter()
            rep = check_deleted(cfg, secrets=secrets, sources=[source])
            print(
                f"{source} against the local fake: {rep.checked} posts, {rep.requests} requests, {rep.marked} marked "
                f"in {time.perf_counter() - t:.2f} s"
            )


def main(n: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="edumon-bench-"))
    try:
        warehouse_side(tmp, n)
        network_side(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
