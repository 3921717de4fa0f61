"""The one mapping between a `Mention` and a warehouse row, both ways.

`mentions_to_arrow` turns mentions into an Arrow batch in the `mentions` table's column order (plus
the de-duplication helpers); `mention_from_row` turns a stored row back into a `Mention`. The spool
keeps `Mention.to_dict()` as JSON, which `mention_from_row` reads too (times as ISO strings, JSON
columns as values or strings).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa

from core.mention import Mention, canonical_url, hash_normalised, normalise_text

# Texts shorter than this (normalised) are not merged by text alone: "Ley College!" from two
# people is two mentions; a 60-character article lead carried by two feeds is one.
MIN_DEDUP_TEXT = 30

MENTION_SCHEMA = pa.schema(
    [
        ("mention_id", pa.string()),
        ("source", pa.string()),
        ("source_id", pa.string()),
        ("url", pa.string()),
        ("canonical_url", pa.string()),
        ("author", pa.string()),
        ("author_id", pa.string()),
        ("title", pa.string()),
        ("text", pa.string()),
        ("text_hash", pa.string()),
        ("dedup_hash", pa.string()),
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("fetched_at", pa.timestamp("us", tz="UTC")),
        ("target", pa.string()),
        ("lang", pa.string()),
        ("links", pa.list_(pa.string())),
        ("has_media", pa.bool_()),
        ("media", pa.string()),
        ("metrics", pa.map_(pa.string(), pa.int64())),
        ("reply_to", pa.string()),
        ("raw", pa.string()),
        ("school_ids", pa.list_(pa.string())),
        ("sentiment", pa.string()),
        ("harm", pa.string()),
        ("harm_kind", pa.string()),
        ("scores", pa.map_(pa.string(), pa.float64())),
        ("cues", pa.list_(pa.string())),
        ("classifier", pa.string()),
        ("ord", pa.int64()),
    ]
)

# The `Mention` fields a row holds, as a SELECT list for reading mentions back (`m.` is the table alias).
MENTION_FIELDS = [f.name for f in fields(Mention)]
MENTION_COLS = ", ".join(MENTION_FIELDS)


def utc(dt: datetime | str | None) -> datetime | None:
    """An aware UTC datetime (naive times are UTC; ISO strings are parsed)."""
    if dt is None:
        return None
    if isinstance(dt, str):
        dt = datetime.fromisoformat(dt)
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def mentions_to_arrow(mentions: Sequence[Mention]) -> pa.Table:
    """The mentions as an Arrow table in the `mentions` column order (plus dedup helpers).

    Built column by column; each text is normalised and hashed once (the
    text hash is both the classification key and, for long texts, the
    de-duplication key).
    """
    ms = list(mentions)
    norms = [normalise_text(m.text) for m in ms]
    hashes = [hash_normalised(n) for n in norms]
    dumps = json.dumps
    cols: dict[str, Any] = {
        "mention_id": [m.mention_id for m in ms],
        "source": [m.source for m in ms],
        "source_id": [m.source_id for m in ms],
        "url": [m.url for m in ms],
        "canonical_url": [canonical_url(m.url) if m.source == "rss" else None for m in ms],
        "author": [m.author for m in ms],
        "author_id": [m.author_id for m in ms],
        "title": [m.title for m in ms],
        "text": [m.text for m in ms],
        "text_hash": hashes,
        "dedup_hash": [h if len(n) >= MIN_DEDUP_TEXT else None for h, n in zip(hashes, norms)],
        # Arrow converts aware datetimes to UTC itself and reads naive ones as UTC
        "published_at": [m.published_at for m in ms],
        "fetched_at": [m.fetched_at for m in ms],
        "target": [m.target for m in ms],
        "lang": [m.lang for m in ms],
        "links": [m.links for m in ms],
        "has_media": [bool(m.has_media) for m in ms],
        "media": [dumps(m.media, ensure_ascii=False) if m.media else None for m in ms],
        "metrics": [m.metrics or None for m in ms],
        "reply_to": [m.reply_to for m in ms],
        "raw": [m.raw for m in ms],
        "school_ids": [m.school_ids for m in ms],
        "sentiment": [m.sentiment for m in ms],
        "harm": [m.harm for m in ms],
        "harm_kind": [m.harm_kind for m in ms],
        "scores": [m.scores or None for m in ms],
        "cues": [m.cues for m in ms],
        "classifier": [m.classifier for m in ms],
        "ord": pa.array(range(len(ms)), pa.int64()),
    }
    return pa.table(cols, schema=MENTION_SCHEMA)


def _json(v: Any, default: Any) -> Any:
    if v is None:
        return default
    return json.loads(v) if isinstance(v, str) else v


def mention_from_row(row: dict[str, Any]) -> Mention:
    """A stored `mentions` row, or a spooled `Mention.to_dict()`, back as a `Mention`."""
    return Mention(
        source=row["source"],
        source_id=row["source_id"],
        text=row["text"],
        url=row.get("url"),
        author=row.get("author"),
        author_id=row.get("author_id"),
        title=row.get("title"),
        published_at=utc(row.get("published_at")),
        fetched_at=utc(row.get("fetched_at")) or datetime.now(timezone.utc),
        target=row.get("target"),
        lang=row.get("lang"),
        links=list(row.get("links") or []),
        has_media=bool(row.get("has_media")),
        media=_json(row.get("media"), []),
        metrics=_json(row.get("metrics"), {}),
        reply_to=row.get("reply_to"),
        raw=row.get("raw"),
        school_ids=list(row.get("school_ids") or []),
        sentiment=row.get("sentiment"),
        harm=row.get("harm"),
        harm_kind=row.get("harm_kind"),
        scores=_json(row.get("scores"), {}),
        cues=list(row.get("cues") or []),
        classifier=row.get("classifier"),
        mention_id=row["mention_id"],
    )
