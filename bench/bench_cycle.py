"""A full monitoring cycle over 10 schools x 3 fake sources (an RSS feed, a Bluesky search
query and a Mastodon hashtag per school) delivering 5,000 new posts, then a steady-state
cycle with nothing new (target: under 5 s, no classification, no writes beyond `source_runs`).

    .venv/bin/python bench/bench_cycle.py [--posts 5000]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import pipeline  # noqa: E402
from bench.machine import describe  # noqa: E402
from classifiers import Labels, load_classifier  # noqa: E402
from core.config import Config, parse_config  # noqa: E402
from core.secrets import Secrets  # noqa: E402
from fakes.bluesky import FakeBluesky  # noqa: E402
from fakes.mastodon import FakeMastodon  # noqa: E402
from fakes.rss import rss_xml, serve_feeds  # noqa: E402
from fakes.server import FakeServer  # noqa: E402
from warehouse import Warehouse  # noqa: E402

SCHOOLS = 10
WORDS = "ouders leerlingen docent rooster kantine fietsenstalling open dag toets excursie musical".split()


class Counting:
    """The default classifier, counting the texts it is asked to classify."""

    def __init__(self) -> None:
        self.inner = load_classifier()
        self.name, self.version = "counting", "1"
        self.texts = 0

    def classify(self, texts: Sequence[str]) -> list[Labels]:
        self.texts += len(texts)
        return self.inner.classify(texts)


def text(school: int, i: int, kind: str) -> str:
    body = " ".join(WORDS[(i * 3 + k) % len(WORDS)] for k in range(12))
    return f"{kind} {i} over Testschool {school}: {body}."


def table_digest(path: Path) -> dict[str, str]:
    """A digest of every table's contents, to prove what a cycle wrote."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY 1"
        ).fetchall():
            rows = con.execute(f'SELECT * FROM "{t}"').fetchall()
            out[t] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()[:12] + f" ({len(rows)} rows)"
        return out
    finally:
        con.close()


def fill_sources(
    bsky: FakeBluesky, masto: FakeMastodon, per_source: int, extra: int, now: datetime
) -> dict[str, bytes]:
    """Posts for every school on the fakes; returns the RSS feeds to serve (path -> bytes)."""
    feeds = {}
    for s in range(SCHOOLS):
        n = per_source + (extra if s == 0 else 0)
        feeds[f"/school{s}.xml"] = rss_xml(
            [
                {
                    "title": text(s, i, "Artikel"),
                    "guid": f"s{s}-{i}",
                    "link": f"https://nieuws.example.nl/s{s}/{i}",
                    "description": "Nieuws uit de regio.",
                }
                for i in range(n)
            ]
        )
        for i in range(per_source):
            when = now - timedelta(minutes=30, seconds=i)
            bsky.add_post(f"ouder{s}-{i}.bsky.social", text(s, i, "Post"), when)
            masto.add_status(
                f"ouder{s}_{i}", f"<p>{text(s, i, 'Toot')} #Testschool{s}</p>", when, tags=[f"Testschool{s}"]
            )
    return feeds


def bench_config(tmp: str, rss_url: str, feeds: list[str], bsky_url: str, masto_url: str) -> Config:
    return parse_config(
        {
            "organisation": {"name": "Bench"},
            "warehouse": {"path": f"{tmp}/edumon.duckdb", "lock_timeout_s": 30},
            "schools": [{"id": f"school-{s}", "name": f"Testschool {s}"} for s in range(SCHOOLS)],
            "sources": {
                "rss": [{"url": rss_url + p, "retries": 0} for p in feeds],
                "bluesky": [
                    {
                        "handle": "edumon.bsky.social",
                        "app_password_env": "BENCH_BSKY",
                        "base_url": bsky_url,
                        "queries": [f'"Testschool {s}"' for s in range(SCHOOLS)],
                        "max_pages": 10,
                    }
                ],
                "mastodon": [
                    {
                        "api_base_url": masto_url,
                        "hashtags": [f"Testschool{s}" for s in range(SCHOOLS)],
                        "max_pages": 10,
                    }
                ],
            },
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--posts", type=int, default=5000)
    args = ap.parse_args()
    print(describe())
    per_source = args.posts // (3 * SCHOOLS)
    extra = args.posts - per_source * 3 * SCHOOLS
    now = datetime.now(timezone.utc)
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeServer() as rss,
        FakeBluesky(accounts={"edumon.bsky.social": "bench-pass"}) as bsky,
        FakeMastodon("mastodon.nl") as masto,
    ):
        feeds = fill_sources(bsky, masto, per_source, extra, now)
        serve_feeds(rss, feeds)
        cfg = bench_config(tmp, rss.url, list(feeds), bsky.url, masto.url)
        secrets = Secrets(environ={"BENCH_BSKY": "bench-pass"}, secrets_dir=f"{tmp}/secrets")
        clf = Counting()
        t = time.perf_counter()
        first = pipeline.run_cycle(cfg, secrets=secrets, classifier=clf)
        t_first = time.perf_counter() - t
        assert first.ok, [(x.target, x.error) for x in first.failed]
        wh = Warehouse(cfg.warehouse.path)
        stored = wh.query("SELECT source, count(*) FROM mentions GROUP BY 1 ORDER BY 1")
        before = table_digest(wh.path)
        classified = clf.texts

        t = time.perf_counter()
        second = pipeline.run_cycle(cfg, secrets=secrets, classifier=clf)
        t_second = time.perf_counter() - t
        after = table_digest(wh.path)
        changed = sorted(k for k in after if before.get(k) != after[k])

    n = len(first.stored)
    print(f"targets: {len(first.targets)} ({SCHOOLS} schools x rss feed, Bluesky query, Mastodon hashtag)")
    print(f"first cycle:  {n:,} new mentions stored ({dict(stored)}), {classified:,} texts classified")
    print(f"              wall {t_first:6.2f} s  ->  {n / t_first:,.0f} posts/s")
    print(
        f"steady cycle: wall {t_second:6.2f} s (target: under 5 s); {len(second.stored)} new, "
        f"{clf.texts - classified} texts classified; statuses " + ", ".join(sorted({x.status for x in second.targets}))
    )
    print(f"              tables changed by the steady cycle: {', '.join(changed) or 'none'}")
    for k in changed:
        print(f"                {k}: {before.get(k)} -> {after[k]}")


if __name__ == "__main__":
    main()
