"""The connector contract.

A connector module exposes
  ``targets(cfg) -> list[Target]``: one target per feed / query / hashtag, and
  ``fetch(target, state, secrets) -> FetchResult``: what is new since `state`
  (the cursor the warehouse kept from the last cycle).
`fetch` never raises for a source's own failure (HTTP error, 429, bad payload):
it returns a `FetchResult` with status ``failed`` or ``rate_limited`` and a
readable `error`, and keeps whatever it fetched before the failure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edumon.mention import Mention

STATUSES = ("ok", "not_modified", "failed", "rate_limited")


@dataclass(frozen=True)
class Target:
    source: str                 # rss | bluesky | mastodon
    key: str                    # stable name of the target: feed URL, "handle|query", "instance#tag"
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass
class FetchResult:
    target: Target
    mentions: list[Mention] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)   # the cursor to keep for the next cycle
    status: str = "ok"
    error: str | None = None
    requests: int = 0
    http_status: int | None = None
