"""Every feed of feedparser's own test suite through the RSS connector (issue 16).

Downloads feedparser's source distribution from PyPI (it ships the test feeds; kept
in a cache directory, never committed), serves each feed from a local HTTP server
with the headers its test comment asks for (`Header: ...`; `.gz` / `.z` files as
gzip / deflate), fetches it with `connectors.rss.fetch`, and compares the mentions
with `feedparser.parse` on the same bytes:

  entries  every entry feedparser read is a mention, or counted as dropped (no text)
  words    every word of the entry's title and summary (or content) is in the stored text
  link     the stored link is feedparser's link resolved against the feed's URL
  date     the stored date is feedparser's published/updated date
  identity no two entries of one feed with different links share a mention id

Prints the counts (and, with --show N, up to N examples of each difference).
Not a test: it needs PyPI and runs for about a minute.

    .venv/bin/python bench/corpus_feedparser.py [--cache DIR] [--show 3]
"""

from __future__ import annotations

import argparse
import calendar
import gzip
import html
import re
import subprocess
import sys
import tarfile
import time
import zlib
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import feedparser  # noqa: E402

from bench.machine import describe  # noqa: E402
from connectors import rss  # noqa: E402
from connectors.base import Target  # noqa: E402
from core.config import RssSource  # noqa: E402
from fakes.server import FakeServer, Response  # noqa: E402

HEADER = re.compile(rb"^Header:\s+([^:]+):(.+)$", re.MULTILINE)
WORD = re.compile(r"\w+", re.UNICODE)
TAG = re.compile(r"<[^>]*>")


def corpus(cache: Path) -> Path:
    """The unpacked sdist's tests/ directory (downloaded once with pip)."""
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob("feedparser-*/tests"))
    if found:
        return found[-1]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "feedparser", "--no-binary", ":all:", "--no-deps", "-d", str(cache)],
        check=True,
    )
    (sdist,) = sorted(cache.glob("feedparser-*.tar.gz"))[-1:]
    with tarfile.open(sdist) as tar:
        tar.extractall(cache, filter="data")
    return sorted(cache.glob("feedparser-*/tests"))[-1]


def feeds(tests: Path) -> list[Path]:
    return sorted(p for p in tests.rglob("*") if p.is_file() and p.suffix in (".xml", ".gz", ".z", ".rdf", ".atom"))


def serve(path: Path, base: str) -> tuple[int, dict[str, str], bytes, bytes]:
    """(status, headers, body as sent, body as decoded) for one test feed."""
    sent = path.read_bytes()
    decoded = sent
    headers: dict[str, str] = {}
    status = 200
    if path.suffix == ".gz":
        headers["Content-Encoding"] = "gzip"
        try:
            decoded = gzip.decompress(sent)
        except Exception:
            decoded = b""
    elif path.suffix == ".z":
        headers["Content-Encoding"] = "deflate"
        try:
            decoded = zlib.decompress(sent)
        except Exception:
            try:
                decoded = zlib.decompress(sent, -15)
            except Exception:
                decoded = b""
    for name, value in HEADER.findall(decoded or sent):
        k, v = name.decode().strip(), value.decode().strip()
        if k.lower() == "status":
            status = int(v)
        elif k.lower() == "location":
            headers["Location"] = v.replace("http://localhost:8097", base)
        else:
            headers[k] = v
    headers.setdefault("Content-Type", "application/xml")
    return status, headers, sent, decoded


def words(value: str | None) -> set[str]:
    return {w.lower() for w in WORD.findall(html.unescape(TAG.sub(" ", value or "")))}


def when(entry: dict) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        if entry.get(key):
            return datetime.fromtimestamp(calendar.timegm(entry[key]), tz=timezone.utc)
    return None


def compare(srv: FakeServer, path: Path, tests: Path, counts: Counter, examples: dict[str, list[str]]) -> None:
    rel = "/tests/" + str(path.relative_to(tests))  # the http/ feeds redirect to /tests/http/...
    status, headers, sent, decoded = serve(path, srv.url)
    url = srv.url + rel
    res = rss.fetch(Target("rss", url, {"source": RssSource(url=url, retries=0, timeout_s=10)}), {})
    counts[f"status {res.status}"] += 1
    if res.status == "failed":
        counts[f"  failed: {re.sub(r'[:(].*', '', res.error or '').strip()}"] += 1
    counts["feeds"] += 1
    if status != 200 or not decoded:
        return
    ref = feedparser.parse(decoded, response_headers={k.lower(): v for k, v in headers.items()})
    counts["entries (feedparser)"] += len(ref.entries)
    counts["mentions"] += len(res.mentions)
    counts["dropped, counted (no text)"] += res.dropped
    lost = len(ref.entries) - len(res.mentions) - res.dropped
    if lost:
        counts["entries lost (neither kept nor counted as dropped)"] += lost
        examples.setdefault("entries lost", []).append(f"{rel}: {res.status} {res.error}")
    by_raw = {m.raw: m for m in res.mentions}
    if res.dropped:
        texts = [rss._entry_json(e) for e in ref.entries]
        for entry, raw in zip(ref.entries, texts):
            if raw not in by_raw:
                seen = words(entry.get("title")) | words(entry.get("summary"))
                key = "dropped whose feedparser text has words" if seen else "dropped with no words at all"
                counts[f"  {key}"] += 1
                if seen:
                    examples.setdefault("dropped with words", []).append(f"{rel}: {sorted(seen)[:6]}")
    ids: dict[str, str | None] = {}
    for entry in ref.entries:
        m = by_raw.get(rss._entry_json(entry))
        if m is None:
            continue
        counts["entries compared"] += 1
        want = words(entry.get("title")) | words(entry.get("summary"))
        if not entry.get("summary"):
            want |= words(" ".join(c.get("value", "") for c in entry.get("content") or []))
        have = {w.lower() for w in WORD.findall(f"{m.title or ''} {m.text}")}  # stored text: plain already
        if want - have:
            counts["words missing"] += 1
            examples.setdefault("words missing", []).append(f"{rel}: {sorted(want - have)[:5]}")
        link = urljoin(url, entry.get("link")) if entry.get("link") else None
        if link == m.url:
            counts["link same"] += 1
        elif link is None:
            counts["link found where feedparser has none (enclosure, comments, guid)"] += 1
        else:
            counts["link differs"] += 1
            examples.setdefault("link differs", []).append(f"{rel}: {link!r} vs {m.url!r}")
        if when(entry) == m.published_at:
            counts["date same"] += 1
        else:
            counts["date differs"] += 1
            examples.setdefault("date differs", []).append(f"{rel}: {when(entry)} vs {m.published_at}")
        if m.mention_id in ids and ids[m.mention_id] != m.url:
            counts["one id for two stories"] += 1
            examples.setdefault("one id for two stories", []).append(rel)
        ids[m.mention_id] = m.url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "edumon-corpus")
    ap.add_argument("--show", type=int, default=0, help="print up to N examples of each difference")
    args = ap.parse_args()
    tests = corpus(args.cache)
    files = feeds(tests)
    counts: Counter = Counter()
    examples: dict[str, list[str]] = {}
    t0 = time.monotonic()
    with FakeServer() as srv:
        for path in files:  # every route first: the http/ feeds redirect to each other
            status, headers, sent, _ = serve(path, srv.url)
            srv.route(
                "/tests/" + str(path.relative_to(tests)), lambda req, s=status, h=headers, b=sent: Response(s, b, h)
            )
        for path in files:
            compare(srv, path, tests, counts, examples)
    print(describe())
    print(f"feedparser {feedparser.__version__} test suite: {len(files)} feeds in {time.monotonic() - t0:.1f} s")
    for key in sorted(counts):
        print(f"  {key:<70} {counts[key]:>6}")
    for key, lines in examples.items():
        for line in lines[: args.show]:
            print(f"  e.g. {key}: {line}")


if __name__ == "__main__":
    main()
