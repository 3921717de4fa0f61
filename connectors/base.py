"""The connector contract.

A connector module exposes
  ``targets(cfg) -> list[Target]``: one target per feed / query / hashtag, and
  ``fetch(target, state, secrets) -> FetchResult``: what is new since `state`
  (the cursor the warehouse kept from the last cycle), and optionally
  ``exists(cfg, mentions, secrets) -> Existence``: whether stored posts are still
  there at the source (for deletion at the source, `pipeline.deletion`).
`fetch` never raises for a source's own failure (HTTP error, 429, bad payload):
it returns a `FetchResult` with status ``failed`` or ``rate_limited``, a
readable `error` and a typed `error_kind` (`ErrorKind`; `FetchResult.retryable`
says whether it was a transient fault), and keeps whatever it fetched before the
failure.  ``partial``: the source answered with something broken (a malformed
feed) but some items were read; they are kept and `error` says what was wrong.

Retries happen in ONE layer, inside the connector (`connectors.http.get` for
httpx sources; the Bluesky and Mastodon connectors for their clients), decided
by the type of the error, never by its wording.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from core.mention import Mention


class ErrorKind(StrEnum):
    """Why a fetch failed, as a type (never parse `FetchResult.error` text for this)."""

    TIMEOUT = "timeout"  # no whole answer within the deadline
    NETWORK = "network"  # connection refused/dropped, DNS, TLS, a corrupt transfer
    SERVER = "server"  # HTTP 5xx
    RATE_LIMITED = "rate_limited"  # HTTP 429 (or the source's own rate-limit error)
    CLIENT = "client"  # HTTP 4xx other than 401/403/429, a redirect without Location
    AUTH = "auth"  # 401/403, a refused login or token, a missing secret
    TOO_LARGE = "too_large"  # the body is over the configured size cap
    BAD_PAYLOAD = "bad_payload"  # empty body, not a feed, malformed JSON, a feed that yields nothing
    UNEXPECTED = "unexpected"  # anything else (a bug): not retried


# Transient faults: another attempt may succeed.  The connector's own retry layer
# (`connectors.http.get`, the Bluesky and Mastodon clients) already retried these as
# far as the source's `retries` allow; nothing above the connector retries again.
RETRYABLE = frozenset({ErrorKind.TIMEOUT, ErrorKind.NETWORK, ErrorKind.SERVER})


T = TypeVar("T")


def retry_transient(
    call: Callable[[], T],
    retries: int,
    kind_of: Callable[[Exception], ErrorKind],
    *,
    on_retry: Callable[[Exception], None] | None = None,
    backoff_s: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`call()`, tried again up to `retries` times when `kind_of(error)` is in `RETRYABLE`,
    with exponential backoff; any other error is raised at once.  The retry layer of the
    client-library connectors (Bluesky, Mastodon); `connectors.http.get` is the httpx one."""
    attempt = 0
    while True:
        try:
            return call()
        except Exception as e:
            if attempt >= retries or kind_of(e) not in RETRYABLE:
                raise
            if on_retry:
                on_retry(e)
            attempt += 1
            sleep(backoff_s * 2 ** (attempt - 1))


class SourceError(Exception):
    """A request that failed, typed: `kind` says why, `retryable` whether to try again."""

    def __init__(
        self,
        message: str,
        kind: ErrorKind,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after_s = retry_after_s
        self.requests = 0  # how many requests were made before giving up

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE

    @property
    def rate_limited(self) -> bool:
        return self.kind is ErrorKind.RATE_LIMITED


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
    # Why it failed, as a type (None when nothing failed); see `ErrorKind` and `retryable`.
    error_kind: ErrorKind | None = None
    # Items the source sent that were not kept (no text and no identity); `error` names them.
    dropped: int = 0

    @property
    def retryable(self) -> bool:
        """A transient failure (timeout, network, 5xx) that the connector already retried
        `retries` times; the next cycle tries again.  Flows must not add retries of their own."""
        return self.status == "failed" and self.error_kind in RETRYABLE

    def fail(self, error: SourceError | str, kind: ErrorKind | None = None, status: str | None = None) -> FetchResult:
        """Mark this result failed (or rate_limited) from a typed error."""
        if isinstance(error, SourceError):
            kind = error.kind
            self.http_status = error.status if error.status is not None else self.http_status
            self.requests = max(self.requests, error.requests)
        self.error_kind = kind or ErrorKind.UNEXPECTED
        self.status = status or ("rate_limited" if self.error_kind is ErrorKind.RATE_LIMITED else "failed")
        self.error = str(error)
        return self


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
