"""RSS and Atom feeds: httpx fetch (conditional GET, retries, whole-request deadline,
size cap), feedparser on the bytes.

Identity: an entry with a link is the story at that link (resolved against the
feed's URL and `xml:base`, then canonicalised), so two feeds carrying one story
give one mention.  An entry without a link is identified within its own feed (by
its guid, else its title, else its text), never globally.

Text: title, then the description (the title cut from its start only on a word
boundary); `content:encoded` stands in for a missing description, and is
otherwise searched by relevance (`Mention.elsewhere`) without being stored.

Status: ``ok``; ``partial`` when feedparser reports the feed malformed but still
read entries (they are kept, `error` says what was wrong); ``failed`` when it is
malformed and yields nothing, empty, not a feed, too large, or unreachable.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin

import feedparser

from core.config import Config, RssSource
from core.mention import Mention, normalise_text, utcnow
from core.secrets import Secrets

from .base import ErrorKind, FetchResult, Target
from .html import html_to_text
from .http import FetchError, HttpPolicy, get

# feedparser "bozo" reasons that do not mean the feed is broken: it was read in full.
_HARMLESS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_WORD = re.compile(r"\w")


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


def _http(url: str | None) -> bool:
    return bool(url) and str(url).lower().startswith(("http://", "https://"))


def best_link(entry: Any, base: str) -> str | None:
    """The entry's link resolved against `base`: <link>, an alternate link, a permalink
    guid, then an enclosure, then <comments>."""
    candidates = [entry.get("link")]
    candidates += [x.get("href") for x in entry.get("links") or [] if x.get("rel", "alternate") == "alternate"]
    if entry.get("guidislink"):
        candidates.append(entry.get("id"))
    candidates += [x.get("href") for x in entry.get("links") or [] if x.get("rel") == "enclosure"]
    candidates += [x.get("href") for x in entry.get("enclosures") or []]
    candidates.append(entry.get("comments"))
    for c in candidates:
        if c and c.strip():
            try:
                url = urljoin(base, c.strip())
            except ValueError:  # "http://[::1/x": keep it as it is (canonical_url copes)
                url = c.strip()
            if _http(url):
                return url
    return None


def strip_title(title: str, summary: str) -> str:
    """The summary without a repeated title at its start, cut on a word boundary only
    ("Open dag" + "Open dagen op ..." keeps "Open dagen op ...")."""
    if title and summary.startswith(title):
        rest = summary[len(title) :]
        if not rest or not _WORD.match(rest[0]) or not _WORD.match(title[-1]):
            return rest.strip()
    return summary


def _content(entry: Any) -> str:
    for c in entry.get("content") or []:
        text = html_to_text(c.get("value"))
        if text:
            return text
    return ""


def _identity(entry: Any, feed: str, title: str, text: str) -> str:
    """source_id of an entry without a link: its guid, else title, else a hash of its text,
    scoped to the feed (`feed#...`) so two feeds' "1" are two stories."""
    local = entry.get("id") or title or ("sha256:" + hashlib.sha256(normalise_text(text).encode()).hexdigest()[:32])
    return f"{feed}#{local}"


def entries(parsed: Any, target: str, fetched_at: datetime) -> Iterator[Mention | None]:
    """One `Mention` per feed entry (title + summary as plain text); None for an entry
    with no text at all (counted as dropped).  Relative links are resolved against
    `parsed.href` (the feed's final URL, as feedparser names it), else `target`."""
    base = parsed.get("href") or target
    for entry in parsed.entries:
        link = best_link(entry, base)
        title = html_to_text(entry.get("title"))
        content = _content(entry)
        summary = html_to_text(entry.get("summary") or "") or content
        summary = strip_title(title, summary)
        text = "\n".join(p for p in (title, summary) if p)
        if not text:
            yield None
            continue
        elsewhere = []
        if content and content not in text:
            elsewhere.append({"where": "content", "text": content})
        yield Mention(
            source="rss",
            source_id=entry.get("id") or link or _identity(entry, target, title, text),
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
            elsewhere=elsewhere,
            # no link: the story is identified within this feed, not by a guid other feeds may reuse
            mention_id="" if link else _mention_id(_identity(entry, target, title, text)),
        )


def _mention_id(scoped: str) -> str:
    return hashlib.sha256(f"rss:{scoped}".encode()).hexdigest()[:24]


def _request(src: RssSource, state: dict[str, Any]) -> tuple[dict[str, str], HttpPolicy]:
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"}
    if state.get("etag"):
        headers["If-None-Match"] = state["etag"]
    if state.get("last_modified"):
        headers["If-Modified-Since"] = state["last_modified"]
    policy = HttpPolicy(timeout_s=src.timeout_s, retries=src.retries, max_bytes=src.max_bytes)
    return headers, policy


def fetch(target: Target, state: dict[str, Any], secrets: Secrets | None = None) -> FetchResult:
    """Fetch one feed, conditionally on the ETag/Last-Modified kept in `state`."""
    src: RssSource = target.params["source"]
    result = FetchResult(target=target, state=dict(state))
    headers, policy = _request(src, state)
    try:
        resp, result.requests = get(src.url, headers=headers, policy=policy)
    except FetchError as e:
        return result.fail(e)
    result.http_status = resp.status_code
    if resp.status_code == 304:
        result.status = "not_modified"
        return result
    body = resp.content
    if not body.strip():
        return result.fail("empty response body", ErrorKind.BAD_PAYLOAD)
    final_url = str(resp.url)
    # feedparser applies xml:base; `best_link` then resolves what is still relative against
    # the feed's URL (not passed to feedparser: it would rewrite relative guids too)
    parsed = feedparser.parse(body, response_headers={k.lower(): v for k, v in resp.headers.items()})
    if not parsed.version and not parsed.entries:
        ctype = resp.headers.get("content-type", "?")
        return result.fail(f"not an RSS or Atom feed (content-type {ctype})", ErrorKind.BAD_PAYLOAD)
    parsed["href"] = final_url  # the base for relative links (after redirects)
    made = list(entries(parsed, target.key, utcnow()))
    result.mentions = [m for m in made if m is not None]
    result.dropped = len(made) - len(result.mentions)
    notes = [f"dropped {result.dropped} entries without any text"] if result.dropped else []
    broken = parsed.bozo and not isinstance(parsed.get("bozo_exception"), _HARMLESS)
    if parsed.bozo:
        exc = parsed.get("bozo_exception")
        what = "malformed feed" if broken else "feed read in full, but"
        notes.insert(0, f"{what}, kept {len(result.mentions)} entries: {type(exc).__name__}: {exc}")
    result.error = "; ".join(notes) or None
    if broken and not result.mentions:
        return result.fail(result.error or "malformed feed", ErrorKind.BAD_PAYLOAD)
    if broken:
        result.status = "partial"
    # Remember validators only for a feed we read fully, so a broken one is fetched again.
    new_state: dict[str, Any] = {}
    if resp.headers.get("etag") and not broken:
        new_state["etag"] = resp.headers["etag"]
    if resp.headers.get("last-modified") and not broken:
        new_state["last_modified"] = resp.headers["last-modified"]
    if final_url != src.url:
        new_state["final_url"] = final_url
    result.state = new_state
    return result
