"""Bluesky Jetstream: the public firehose as JSON over a WebSocket, for `edumon listen`.

`follow(url, ...)` connects to `<url>?wantedCollections=app.bsky.feed.post[&cursor=...]`
and hands every event (parsed JSON) to a callback until told to stop; a dropped
connection is reconnected with backoff from the newest `time_us` seen, so Jetstream
replays the gap.  The cursor of an event is its `time_us` (microseconds).

`to_mention(event)` turns a post-creation commit into a Mention with the SAME identity
the search connector gives that post (`source="bluesky"`, `source_id` the at:// URI
built from `did` + `rkey`), so a post seen by both the stream and the search is one
mention.  The event carries no handle: `author` is the DID.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import websockets
from websockets.asyncio.client import connect

from connectors.bluesky import settings
from connectors.bluesky.helpers import elsewhere_of, links_of, post_url
from core.mention import Mention, parse_timestamp

log = logging.getLogger("edumon.jetstream")

POST = "app.bsky.feed.post"
CDN = "https://cdn.bsky.app/img"
MAX_BACKOFF_S = 30.0


def stream_key(url: str) -> str:
    """The stream's name in `stream_state` and `source_runs`."""
    return f"jetstream {url}"


def subscribe_url(url: str, cursor_us: int | None) -> str:
    """`url` with `wantedCollections=app.bsky.feed.post` and, to replay, `cursor`."""
    parts = urlsplit(url)
    params = [p for p in parts.query.split("&") if p and not p.startswith(("wantedCollections=", "cursor="))]
    extra = {"wantedCollections": POST, **({"cursor": str(int(cursor_us))} if cursor_us else {})}
    return urlunsplit(parts._replace(query="&".join([*params, urlencode(extra)])))


def event_time(event: dict[str, Any]) -> datetime | None:
    t = event.get("time_us")
    return datetime.fromtimestamp(t / 1e6, timezone.utc) if isinstance(t, int) else None


def created_post(event: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    """(did, rkey, record) of an event that creates a post, else None."""
    c = event.get("commit")
    if event.get("kind") != "commit" or not isinstance(c, dict):
        return None
    if c.get("operation") != "create" or c.get("collection") != POST:
        return None
    did, rkey, record = event.get("did"), c.get("rkey"), c.get("record")
    if not isinstance(did, str) or not isinstance(rkey, str) or not isinstance(record, dict):
        return None
    return did, rkey, record


def record_media(did: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    """Images and video of a post record's embed (also inside recordWithMedia)."""
    embed = record.get("embed") if isinstance(record.get("embed"), dict) else {}
    if str(embed.get("$type", "")).startswith("app.bsky.embed.recordWithMedia"):
        embed = embed.get("media") if isinstance(embed.get("media"), dict) else {}
    kind = str(embed.get("$type", ""))
    if kind.startswith("app.bsky.embed.images"):
        out = []
        for img in embed.get("images") or []:
            if not isinstance(img, dict):
                continue
            cid = (
                ((img.get("image") or {}).get("ref") or {}).get("$link") if isinstance(img.get("image"), dict) else None
            )
            url = f"{CDN}/feed_fullsize/plain/{did}/{cid}@jpeg" if cid else None
            out.append({"type": "image", "url": url, "preview_url": url, "alt": str(img.get("alt") or "")})
        return out
    if kind.startswith("app.bsky.embed.video"):
        return [{"type": "video", "url": None, "preview_url": None, "alt": str(embed.get("alt") or "")}]
    return []


def searchable_text(record: dict[str, Any]) -> str:
    """Everything of a record relevance may read (text, alt texts, link card), for the prefilter."""
    parts = [str(record.get("text") or "")]
    embed = record.get("embed") if isinstance(record.get("embed"), dict) else {}
    for e in (embed, embed.get("media") if isinstance(embed.get("media"), dict) else {}):
        for img in e.get("images") or []:
            if isinstance(img, dict) and img.get("alt"):
                parts.append(str(img["alt"]))
        ext = e.get("external")
        if isinstance(ext, dict):
            parts += [str(ext.get(k) or "") for k in ("title", "description")]
    return "\n".join(parts)


def to_mention(event: dict[str, Any], target: str, fetched_at: datetime) -> Mention | None:
    """A post-creation event as a Mention (None for any other event); `raw` is the event."""
    found = created_post(event)
    if found is None:
        return None
    did, rkey, record = found
    uri = f"at://{did}/{POST}/{rkey}"
    post = {"uri": uri, "author": {"did": did}, "record": record}
    media = record_media(did, record)
    langs = record.get("langs") or []
    parent = (
        ((record.get("reply") or {}).get("parent") or {}).get("uri") if isinstance(record.get("reply"), dict) else None
    )
    return Mention(
        source=settings.SOURCE,
        source_id=uri,
        text=str(record.get("text") or ""),
        url=post_url(post),
        author=did,
        author_id=did,
        published_at=parse_timestamp(record.get("createdAt")) or event_time(event),
        fetched_at=fetched_at,
        target=target,
        lang=langs[0] if langs and isinstance(langs[0], str) else None,
        links=links_of(post),
        has_media=bool(media),
        media=media,
        reply_to=parent if isinstance(parent, str) else None,
        raw=json.dumps(event, ensure_ascii=False),
        elsewhere=elsewhere_of(post, media),
    )


def follow(
    url: str,
    on_event: Callable[[dict[str, Any]], None],
    on_state: Callable[[bool, str | None], None],
    cursor: Callable[[], int | None],
    stop: threading.Event,
    timeout_s: float = 20.0,
) -> None:
    """Follow the stream until `stop` is set (blocking; run it in a thread).  `cursor()` gives
    the `time_us` to resume from on every (re)connect; `on_state(connected, error)` reports
    each connect and each loss.  A message that is not JSON is skipped and logged."""
    asyncio.run(_follow(url, on_event, on_state, cursor, stop, timeout_s))


async def _follow(
    url: str,
    on_event: Callable[[dict[str, Any]], None],
    on_state: Callable[[bool, str | None], None],
    cursor: Callable[[], int | None],
    stop: threading.Event,
    timeout_s: float,
) -> None:
    backoff = 1.0
    while not stop.is_set():
        try:
            async with connect(subscribe_url(url, cursor()), open_timeout=timeout_s, max_size=2**22) as ws:
                on_state(True, None)
                backoff = 1.0
                watcher = asyncio.ensure_future(_close_on_stop(ws, stop))
                try:
                    async for raw in ws:
                        try:
                            event = json.loads(raw)
                        except ValueError:
                            log.warning("jetstream %s: a message that is not JSON was skipped", url)
                            continue
                        if isinstance(event, dict):
                            on_event(event)
                finally:
                    watcher.cancel()
            if not stop.is_set():
                on_state(False, "the server closed the connection")
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as e:
            on_state(False, f"{type(e).__name__}: {e}"[:300])
        if stop.is_set():
            break
        await asyncio.sleep(0)  # let a close settle
        waited = 0.0
        while waited < backoff and not stop.is_set():
            await asyncio.sleep(0.1)
            waited += 0.1
        backoff = min(backoff * 2, MAX_BACKOFF_S)


async def _close_on_stop(ws: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        await asyncio.sleep(0.1)
    await ws.close()
