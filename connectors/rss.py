"""RSS and Atom feeds: httpx fetch (conditional GET, retries), feedparser on the bytes."""

from __future__ import annotations

import calendar
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import feedparser

from core.config import Config, RssSource
from core.mention import Mention, utcnow
from core.secrets import Secrets

from .base import FetchResult, Target
from .html import html_to_text
from .http import FetchError, HttpPolicy, get


def targets(cfg: Config) -> list[Target]:
    """One target per configured feed."""
    return [Target("rss", src.url, {"source": src}) for src in cfg.sources.rss]


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        t = entry.get(key)
        if t:
            return datetime.fromtimestamp(calendar.timegm(t), tz=timezone.utc)
    return None


def _entry_json(entry: Any) -> str:
    return json.dumps({k: v for k, v in entry.items() if not k.endswith("_parsed")}, ensure_ascii=False, default=str)


def entries(parsed: Any, target: str, fetched_at: datetime) -> Iterator[Mention]:
    """Yield one `Mention` per feed entry (title + summary as plain text)."""
    for entry in parsed.entries:
        link = entry.get("link")
        title = html_to_text(entry.get("title"))
        summary = html_to_text(entry.get("summary") or "")
        if summary.startswith(title):  # Google News repeats the title in the summary
            summary = summary[len(title) :].strip()
        text = "\n".join(p for p in (title, summary) if p)
        source_id = entry.get("id") or link or title
        if not source_id or not text:
            continue
        yield Mention(
            source="rss",
            source_id=source_id,
            url=link,
            title=title or None,
            text=text,
            author=entry.get("author") or (entry.get("source") or {}).get("title"),
            published_at=_when(entry),
            fetched_at=fetched_at,
            target=target,
            lang=(parsed.feed.get("language") or None),
            links=[link] if link else [],
            raw=_entry_json(entry),
        )


def fetch(target: Target, state: dict[str, Any], secrets: Secrets | None = None) -> FetchResult:
    """Fetch one feed, conditionally on the ETag/Last-Modified kept in `state`."""
    src: RssSource = target.params["source"]
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"}
    if state.get("etag"):
        headers["If-None-Match"] = state["etag"]
    if state.get("last_modified"):
        headers["If-Modified-Since"] = state["last_modified"]
    result = FetchResult(target=target, state=dict(state))
    try:
        resp, result.requests = get(
            src.url, headers=headers, policy=HttpPolicy(timeout_s=src.timeout_s, retries=src.retries)
        )
    except FetchError as e:
        result.status = "rate_limited" if e.rate_limited else "failed"
        result.error, result.http_status, result.requests = str(e), e.status, e.requests
        return result
    result.http_status = resp.status_code
    if resp.status_code == 304:
        result.status = "not_modified"
        return result
    body = resp.content
    if not body.strip():
        result.status, result.error = "failed", "empty response body"
        return result
    parsed = feedparser.parse(body, response_headers={k.lower(): v for k, v in resp.headers.items()})
    if not parsed.version and not parsed.entries:
        ctype = resp.headers.get("content-type", "?")
        result.status = "failed"
        result.error = f"not an RSS or Atom feed (content-type {ctype})"
        return result
    fetched_at = utcnow()
    result.mentions = list(entries(parsed, target.key, fetched_at))
    if parsed.bozo:
        exc = parsed.get("bozo_exception")
        result.error = f"malformed feed, kept {len(result.mentions)} entries: {type(exc).__name__}: {exc}"
    # Remember validators only for a feed we read fully, so a broken one is fetched again.
    new_state: dict[str, Any] = {}
    if resp.headers.get("etag") and not parsed.bozo:
        new_state["etag"] = resp.headers["etag"]
    if resp.headers.get("last-modified") and not parsed.bozo:
        new_state["last_modified"] = resp.headers["last-modified"]
    if str(resp.url) != src.url:
        new_state["final_url"] = str(resp.url)
    result.state = new_state
    return result
