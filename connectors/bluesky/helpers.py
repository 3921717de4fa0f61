"""Bluesky helpers: PostView -> Mention, timestamps, error lines."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from atproto_client import exceptions as atx
from atproto_client.models.common import XrpcError

from connectors.bluesky import settings
from core.mention import Mention
from core.mention import parse_timestamp as parse_ts


def iso_ms(dt: datetime) -> str:
    """`2025-11-20T09:12:00.123Z`, truncated to the millisecond (never later than `dt`)."""
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def sort_at(post: dict[str, Any]) -> datetime | None:
    """The timestamp `since` filters on: the earlier of createdAt and indexedAt."""
    times = [t for t in (parse_ts((post.get("record") or {}).get("createdAt")), parse_ts(post.get("indexedAt"))) if t]
    return min(times) if times else None


def search_query(alias: str) -> str:
    """A multi-word alias is searched as a phrase."""
    alias = alias.strip()
    return f'"{alias}"' if " " in alias and '"' not in alias else alias


def post_url(post: dict[str, Any]) -> str:
    author = post.get("author") or {}
    rkey = post["uri"].rsplit("/", 1)[-1]
    return f"{settings.WEB_URL}/profile/{author.get('handle') or author.get('did')}/post/{rkey}"


def links_of(post: dict[str, Any]) -> list[str]:
    """Link facets of the text, then an external embed (also inside recordWithMedia)."""
    record = post.get("record") or {}
    out: list[str] = []
    for facet in record.get("facets") or []:
        for feature in facet.get("features") or []:
            if feature.get("$type") == "app.bsky.richtext.facet#link" and feature.get("uri"):
                out.append(feature["uri"])
    for embed in (record.get("embed") or {}, (record.get("embed") or {}).get("media") or {}):
        ext = embed.get("external") if isinstance(embed, dict) else None
        if ext and ext.get("uri"):
            out.append(ext["uri"])
    return list(dict.fromkeys(out))


def media_of(post: dict[str, Any]) -> list[dict[str, Any]]:
    """Images and video of the post view's embed (also inside recordWithMedia#view)."""
    embed = post.get("embed") or {}
    if embed.get("$type", "").startswith("app.bsky.embed.recordWithMedia"):
        embed = embed.get("media") or {}
    kind = embed.get("$type", "")
    if kind.startswith("app.bsky.embed.images"):
        return [
            {"type": "image", "url": i.get("fullsize"), "preview_url": i.get("thumb"), "alt": i.get("alt") or ""}
            for i in embed.get("images") or []
        ]
    if kind.startswith("app.bsky.embed.video"):
        return [
            {
                "type": "video",
                "url": embed.get("playlist"),
                "preview_url": embed.get("thumbnail"),
                "alt": embed.get("alt") or "",
            }
        ]
    return []


def to_mention(post: dict[str, Any], target: str, fetched_at: datetime) -> Mention:
    """A searchPosts PostView as a Mention; `raw` is the PostView as fetched."""
    record = post.get("record") or {}
    author = post.get("author") or {}
    media = media_of(post)
    langs = record.get("langs") or []
    parent = ((record.get("reply") or {}).get("parent") or {}).get("uri")
    return Mention(
        source=settings.SOURCE,
        source_id=post["uri"],
        text=record.get("text") or "",
        url=post_url(post),
        author=author.get("handle"),
        author_id=author.get("did"),
        published_at=parse_ts(record.get("createdAt")) or parse_ts(post.get("indexedAt")),
        fetched_at=fetched_at,
        target=target,
        lang=langs[0] if langs else None,
        links=links_of(post),
        has_media=bool(media),
        media=media,
        metrics={
            "replies": int(post.get("replyCount") or 0),
            "reposts": int(post.get("repostCount") or 0),
            "likes": int(post.get("likeCount") or 0),
            "quotes": int(post.get("quoteCount") or 0),
        },
        reply_to=parent,
        raw=json.dumps(post, ensure_ascii=False),
    )


def xrpc_error(exc: atx.RequestErrorBase) -> tuple[int | None, str | None, str]:
    """(HTTP status, XRPC error name, message) of a failed request."""
    resp = exc.response
    if resp is None:
        return None, None, ""
    content = resp.content
    if isinstance(content, XrpcError):
        return resp.status_code, content.error, content.message or ""
    if isinstance(content, (bytes, bytearray)):
        return resp.status_code, None, content[:200].decode("utf-8", "replace")
    return resp.status_code, None, str(content or "")[:200]


def host(url: str) -> str:
    return urlsplit(url).netloc or url
