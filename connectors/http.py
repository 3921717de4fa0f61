"""The one HTTP helper every httpx-based connector uses: timeout, User-Agent,
retries with exponential backoff on 5xx, network errors and 429 (honouring
Retry-After up to a cap), and redirects followed."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx

USER_AGENT = "edumon/0.1 (+https://github.com/edumon/edumon; social-media monitoring for schools)"
MAX_RETRY_AFTER_S = 30.0  # a longer Retry-After ends this source's cycle instead of stalling it


class FetchError(Exception):
    """A request that failed for good; `status` is the HTTP status if there was one."""

    def __init__(
        self, message: str, status: int | None = None, rate_limited: bool = False, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.rate_limited = rate_limited
        self.retry_after_s = retry_after_s
        self.requests = 0  # how many requests were made before giving up


@dataclass
class HttpPolicy:
    timeout_s: float = 20.0
    retries: int = 3
    backoff_s: float = 0.5


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Parse a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def get(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    policy: HttpPolicy | None = None,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[httpx.Response, int]:
    """GET `url` with retries; returns (response, number of requests made).

    2xx and 304 are returned; 4xx other than 429 raise at once; 5xx, 429 and
    network errors are retried `policy.retries` times, then raise `FetchError`.
    """
    policy = policy or HttpPolicy()
    own = client is None
    client = client or httpx.Client(timeout=policy.timeout_s, follow_redirects=True, headers={"User-Agent": USER_AGENT})
    requests = 0
    try:
        attempt = 0
        while True:
            attempt += 1
            requests += 1
            try:
                resp = client.get(url, headers=dict(headers or {}))
            except httpx.TimeoutException:
                err = FetchError(f"timed out after {policy.timeout_s:g} s")
            except httpx.HTTPError as e:
                err = FetchError(f"network error: {type(e).__name__}: {e}")
            else:
                if resp.status_code < 400 or resp.status_code == 304:
                    return resp, requests
                wait = retry_after_seconds(resp.headers.get("Retry-After"))
                if resp.status_code == 429:
                    err = FetchError(
                        f"HTTP 429 Too Many Requests (Retry-After: {resp.headers.get('Retry-After', '-')})",
                        429,
                        rate_limited=True,
                        retry_after_s=wait,
                    )
                    if wait is not None and wait > MAX_RETRY_AFTER_S:
                        err.requests = requests
                        raise err
                elif resp.status_code >= 500:
                    err = FetchError(
                        f"HTTP {resp.status_code} {resp.reason_phrase}", resp.status_code, retry_after_s=wait
                    )
                else:
                    err = FetchError(f"HTTP {resp.status_code} {resp.reason_phrase}", resp.status_code)
                    err.requests = requests
                    raise err
            if attempt > policy.retries:
                err.requests = requests
                raise err
            delay = err.retry_after_s if err.retry_after_s is not None else policy.backoff_s * 2 ** (attempt - 1)
            sleep(min(delay, MAX_RETRY_AFTER_S))
    finally:
        if own:
            client.close()
