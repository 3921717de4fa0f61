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


INVALID_HANDLE = "handle.invalid"  # what the AppView shows for a handle that no longer verifies


def author_name(author: dict[str, Any]) -> str | None:
    """The handle, or the DID when the handle is missing or does not verify."""
    handle = author.get("handle")
    return handle if handle and handle != INVALID_HANDLE else author.get("did")


def post_url(post: dict[str, Any]) -> str:
    """The post on the web: `/profile/<did>/post/<rkey>` (a DID link keeps working when the
    handle changes or is `handle.invalid`); the DID is the at-uri's authority."""
    author = post.get("author") or {}
    authority, rkey = post["uri"].removeprefix("at://").split("/", 1)[0], post["uri"].rsplit("/", 1)[-1]
    handle = author.get("handle")
    who = handle if handle and handle != INVALID_HANDLE else (author.get("did") or authority)
    return f"{settings.WEB_URL}/profile/{who}/post/{rkey}"


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
    if kind.startswith("app.bsky.embed.gallery"):
        return [
            {"type": "image", "url": i.get("fullsize"), "preview_url": i.get("thumbnail"), "alt": i.get("alt") or ""}
            for i in embed.get("items") or []
            if isinstance(i, dict)
        ]
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


def _card_and_quote(embed: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(link card, quoted record view) of a post view's embed, also inside recordWithMedia."""
    kind = embed.get("$type", "")
    if kind.startswith("app.bsky.embed.recordWithMedia"):
        media = embed.get("media") or {}
        return media.get("external") or {}, (embed.get("record") or {}).get("record") or {}
    if kind.startswith("app.bsky.embed.record"):
        return {}, embed.get("record") or {}
    if kind.startswith("app.bsky.embed.external"):
        return embed.get("external") or {}, {}
    return {}, {}


def elsewhere_of(post: dict[str, Any], media: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Text outside the post's own text, for relevance: alt texts, the link card's title
    and description, a quoted post's text (and its alt texts)."""
    out = [{"where": "image_alt", "text": m["alt"]} for m in media if m.get("alt")]
    card, quote = _card_and_quote(post.get("embed") or {})
    if not card:  # the record's own external embed, when the view has none
        embed = (post.get("record") or {}).get("embed") or {}
        card = embed.get("external") or (embed.get("media") or {}).get("external") or {}
    card_text = "\n".join(str(card[k]).strip() for k in ("title", "description") if card.get(k))
    if card_text:
        out.append({"where": "link_card", "text": card_text})
    value = quote.get("value") if isinstance(quote, dict) else None
    if isinstance(value, dict) and value.get("text"):
        who = author_name(quote.get("author") or {})
        out.append({"where": "quoted_post", "text": (f"@{who}: " if who else "") + str(value["text"])})
    for sub in quote.get("embeds") or [] if isinstance(quote, dict) else []:
        if isinstance(sub, dict):
            out += [{"where": "quoted_post", "text": m["alt"]} for m in media_of({"embed": sub}) if m.get("alt")]
    return out


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
        author=author_name(author),
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
        elsewhere=elsewhere_of(post, media),
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
