"""RSS stalls and size (issue 16): how long a trickling server holds a feed, and the
peak memory of a 52 MB feed with the default cap (and, with --uncapped, with the cap
raised above it: feedparser then spends minutes on the 52 MB body).

    .venv/bin/python bench/bench_sources.py [--uncapped]
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe  # noqa: E402
from connectors import rss  # noqa: E402
from connectors.base import Target  # noqa: E402
from core.config import RssSource  # noqa: E402
from fakes.rss import RawServer, chunked, rss_xml, trickle  # noqa: E402


def target(url: str, **kw) -> Target:
    return Target("rss", url, {"source": RssSource(url=url, retries=0, **kw)})


def trickling() -> None:
    body = rss_xml([{"title": f"Ley College {i}", "link": f"https://n.example/{i}"} for i in range(20)])
    with RawServer(trickle(body, 20, 0.5)) as srv:
        t0 = time.monotonic()
        res = rss.fetch(target(srv.url + "/f", timeout_s=2), {})
        took = time.monotonic() - t0
    print(f"trickle 20 B / 0.5 s, timeout_s=2: {took:.2f} s, status={res.status}, error={res.error!r}")


def big(max_bytes: int) -> None:
    """In a child process, so its peak RSS is this fetch's alone."""
    with RawServer(chunked(52 * 1024 * 1024)) as srv:
        t0 = time.monotonic()
        res = rss.fetch(target(srv.url + "/big", timeout_s=120, max_bytes=max_bytes), {})
        took = time.monotonic() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"52 MB feed, max_bytes={max_bytes / 1024 / 1024:.0f} MB: {took:.2f} s, peak RSS {peak:.0f} MB, "
        f"status={res.status}, error={(res.error or '')[:70]!r}"
    )


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--big":
        big(int(sys.argv[2]))
        return
    print(describe())
    trickling()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this process before the big fetches: {base:.0f} MB RSS)")
    caps = [10 * 1024 * 1024] + ([64 * 1024 * 1024] if "--uncapped" in sys.argv else [])
    for cap in caps:
        subprocess.run([sys.executable, __file__, "--big", str(cap)], check=True)


if __name__ == "__main__":
    main()
