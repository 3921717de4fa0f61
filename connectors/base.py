"""The connector contract.

A connector module exposes
  ``targets(cfg) -> list[Target]``: one target per feed / query / hashtag, and
  ``fetch(target, state, secrets) -> FetchResult``: what is new since `state`
  (the cursor the warehouse kept from the last cycle), and optionally
  ``exists(cfg, mentions, secrets) -> Existence``: whether stored posts are still
  there at the source (for deletion at the source, `pipeline.deletion`).
`fetch` never raises for a source's own failure (HTTP error, 429, bad payload):
it returns a `FetchResult` with status ``failed`` or ``rate_limited`` and a
readable `error`, and keeps whatever it fetched before the failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.mention import Mention


@dataclass(frozen=True)
class Target:
    source: str  # rss | bluesky | mastodon
    key: str  # stable name of the target: feed URL, "handle|query", "instance#tag"
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass
class FetchResult:
    target: Target
    mentions: list[Mention] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)  # the cursor to keep for the next cycle
    status: str = "ok"
    error: str | None = None
    requests: int = 0
    http_status: int | None = None


@dataclass
class Existence:
    """What the sources said about stored posts (`exists(cfg, mentions, secrets)`).

    `answers`: mention_id -> True (still there), False (gone at the source: not found),
    None (asked, but could not tell: an error). A mention absent from `answers` was not
    asked (a rate limit or an outage stopped that source's checks for this run).
    `notes`: one readable line per source that stopped early or could not be asked.
    """

    answers: dict[str, bool | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    requests: int = 0

    def merge(self, other: Existence) -> Existence:
        self.answers.update(other.answers)
        self.notes.extend(other.notes)
        self.requests += other.requests
        return self
