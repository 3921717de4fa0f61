"""The one record that flows through every stage: connectors produce it,
classifiers annotate it, the warehouse stores it."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from core.vocabulary import SOURCES

_TRACKING_PARAMS = re.compile(r"^(utm_.*|fbclid|gclid|mc_cid|mc_eid|ref|oc)$", re.I)
_WS = re.compile(r"\s+")


def canonical_url(url: str | None) -> str | None:
    """Normalise a link so the same story from two feeds gets the same key (cached: a link is
    canonicalised when its mention is made and again when it is stored)."""
    return _canonical_url(url) if url else None


@lru_cache(maxsize=1 << 16)
def _canonical_url(url: str) -> str:
    """Normalise a link so the same story from two feeds gets the same key.

    Lower-cases scheme and host, drops the fragment, tracking parameters
    (utm_*, fbclid, ...), a default port and a trailing slash.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # "http://[::1", "https://x.nl:99999/": keep the link as it is
        return url.strip()
    if not parts.scheme or not parts.netloc:
        return url.strip()
    host = parts.hostname or ""
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    if host.startswith("www."):
        host = host[4:]
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING_PARAMS.match(k))
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https" if parts.scheme in ("http", "https") else parts.scheme, host.lower(), path, query, ""))


def normalise_text(text: str) -> str:
    """Case-, accent- and whitespace-insensitive form of a text, for de-duplication.

    NFKD, then combining marks and format characters (zero-width, direction
    marks) dropped, white space collapsed, lower case.  ASCII text skips the
    Unicode steps (they change nothing there), and the per-character checks
    run once per distinct character, not once per character.
    """
    text = text or ""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        drop = {
            ord(c): None
            for c in set(text)
            if c >= "\x80" and (unicodedata.combining(c) or unicodedata.category(c) == "Cf")
        }
        if drop:
            text = text.translate(drop)
    return " ".join(text.split()).lower()  # str.split() splits on exactly what \\s matches


def hash_normalised(norm: str) -> str:
    """SHA-256 (hex) of an already normalised text."""
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    """SHA-256 (hex) of the normalised text: the classification cache key and dedup key."""
    return hash_normalised(normalise_text(text))


_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub(value: Any) -> Any:
    """`value` with lone UTF-16 surrogates replaced by U+FFFD (strings, lists and dicts, deeply).

    JSON lets a post carry "\\ud800"; Python decodes it into a string that no
    UTF-8 writer (Arrow, DuckDB, the spool) accepts, so one such post would
    stop every cycle.  A valid pair that arrives as two code points is joined.
    Everything else (NUL, control characters, RTL marks) is kept as it is.
    """
    if isinstance(value, str):
        if _SURROGATE.search(value) is None:
            return value
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    return value


def make_mention_id(source: str, source_id: str, url: str | None = None) -> str:
    """A stable id: from the canonical link where there is one (RSS), else source + source_id."""
    key = (canonical_url(url) if source == "rss" and url else None) or f"{source}:{source_id}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def parse_timestamp(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp (`Z` or an offset; naive means UTC) as an aware UTC datetime,
    or None when absent or unreadable."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# the fields a source controls, cleaned of lone surrogates when a Mention is made
_SCRUBBED = (
    "source_id",
    "text",
    "url",
    "author",
    "author_id",
    "title",
    "target",
    "lang",
    "links",
    "media",
    "reply_to",
    "raw",
    "school_ids",
    "cues",
    "elsewhere",
)


@dataclass
class Mention:
    """A public post or article that mentions one or more schools.

    Connectors fill the identity and content fields; `school_ids` is set by
    relevance matching; the classification fields by a classifier.
    """

    source: str  # rss | bluesky | mastodon
    source_id: str  # guid / at-uri / status id (instance-qualified)
    text: str  # plain text (title + summary for RSS)
    url: str | None = None
    author: str | None = None  # handle / acct / feed author name
    author_id: str | None = None  # did / account id
    title: str | None = None
    published_at: datetime | None = None
    fetched_at: datetime = field(default_factory=utcnow)
    target: str | None = None  # the feed URL / query / hashtag that found it
    lang: str | None = None
    links: list[str] = field(default_factory=list)
    has_media: bool = False
    media: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, int] = field(default_factory=dict)  # replies, reposts, likes, ...
    reply_to: str | None = None  # source_id of the parent post, if a reply
    raw: str | None = None  # the item as fetched (JSON or XML text), kept unaltered
    # Text of the post outside `text` that relevance also searches: [{"where": one of
    # vocabulary.TEXT_PLACES, "text": ...}] (alt text, link card, quoted post, full article).
    # Transient: not a column; relevance has read it (and noted a match in `text`) before storing.
    elsewhere: list[dict[str, str]] = field(default_factory=list, metadata={"transient": True})
    school_ids: list[str] = field(default_factory=list)
    # classification
    sentiment: str | None = None  # positive | neutral | negative
    harm: str | None = None  # none | insult | threat
    harm_kind: str | None = None  # pesten | kwetsen | stalken | bedreigen | zwartmaken | discriminatie
    scores: dict[str, float] = field(default_factory=dict)
    cues: list[str] = field(default_factory=list)
    classifier: str | None = None  # name/version
    mention_id: str = ""

    def __post_init__(self) -> None:
        for name in _SCRUBBED:
            value = getattr(self, name)
            if value:
                setattr(self, name, scrub(value))
        if self.source not in SOURCES:
            raise ValueError(f"unknown source {self.source!r}; expected one of {', '.join(SOURCES)}")
        if not self.mention_id:
            self.mention_id = make_mention_id(self.source, self.source_id, self.url)

    @property
    def canonical_url(self) -> str | None:
        return canonical_url(self.url)

    @property
    def text_hash(self) -> str:
        return text_hash(self.text)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=str, ensure_ascii=False)
