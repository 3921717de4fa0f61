"""The one HTTP helper every httpx-based connector uses: a whole-request deadline, a
body-size cap, User-Agent, retries with exponential backoff on 5xx, network errors
and 429 (honouring Retry-After up to a cap), and redirects followed.

This is the only retry layer for these sources: whether to retry is decided by the
type of the failure (`connectors.base.ErrorKind`), and a request that fails for
good raises `FetchError` (a `SourceError`) carrying that type.

The deadline bounds the whole attempt (connect, headers and every byte of the
body), not each read: a server that trickles 20 bytes every half second is cut
off at `timeout_s`.  The size cap counts the body as decoded (so a gzip bomb is
stopped too) and refuses a declared Content-Length over the cap before reading.
"""

from __future__ import annotations

import email.utils
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx

from .base import ErrorKind, SourceError

USER_AGENT = "edumon/0.1 (+https://github.com/edumon/edumon; social-media monitoring for schools)"
MAX_RETRY_AFTER_S = 30.0  # a longer Retry-After ends this source's cycle instead of stalling it
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


class FetchError(SourceError):
    """A request that failed for good; `status` is the HTTP status if there was one,
    `kind` why (`ErrorKind`), `requests` how many requests were made."""


@dataclass
class HttpPolicy:
    timeout_s: float = 20.0  # the whole request, per attempt
    retries: int = 3
    backoff_s: float = 0.5
    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass
class HttpAnswer:
    """A response read in full within the deadline and the size cap."""

    status_code: int
    headers: httpx.Headers
    url: httpx.URL
    content: bytes


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


def _mb(n: float) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _read_body(resp: httpx.Response, policy: HttpPolicy, deadline: float) -> bytes:
    """The decoded body, within the deadline and the size cap."""
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes and not resp.headers.get("content-encoding"):
        raise FetchError(
            f"response too large: Content-Length {_mb(int(declared))} is over the cap of {_mb(policy.max_bytes)}",
            ErrorKind.TOO_LARGE,
            status=resp.status_code,
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_bytes():
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("whole-request deadline passed", request=resp.request)
        size += len(chunk)
        if size > policy.max_bytes:
            raise FetchError(
                f"response too large: over the cap of {_mb(policy.max_bytes)} (sources.rss max_bytes)",
                ErrorKind.TOO_LARGE,
                status=resp.status_code,
            )
        chunks.append(chunk)
    return b"".join(chunks)


class _Watchdog:
    """Shuts the response's socket down at the deadline, so a read blocked on a server
    that trickles (or stalls) returns at once instead of waiting out its own timeout."""

    def __init__(self, resp: httpx.Response, left: float) -> None:
        self.fired = False
        stream = resp.extensions.get("network_stream")
        self.sock = stream.get_extra_info("socket") if stream is not None else None
        self.timer = threading.Timer(max(0.0, left), self._fire)
        self.timer.daemon = True
        if self.sock is not None:
            self.timer.start()

    def _fire(self) -> None:
        self.fired = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def cancel(self) -> None:
        self.timer.cancel()


def _attempt(client: httpx.Client, url: str, headers: Mapping[str, str], policy: HttpPolicy) -> HttpAnswer:
    """One GET, read in full within `policy.timeout_s` (the whole request); raises a typed
    `FetchError` for every failure."""
    deadline = time.monotonic() + policy.timeout_s
    timeout = FetchError(f"timed out after {policy.timeout_s:g} s (whole request)", ErrorKind.TIMEOUT)
    resp: httpx.Response | None = None
    dog: _Watchdog | None = None
    try:
        with client.stream("GET", url, headers=dict(headers)) as resp:
            dog = _Watchdog(resp, deadline - time.monotonic())
            body = _read_body(resp, policy, deadline)
            answer = HttpAnswer(resp.status_code, resp.headers, resp.url, body)
    except httpx.HTTPError as e:
        if isinstance(e, httpx.TimeoutException) or (dog is not None and dog.fired):
            raise timeout from None
        raise _typed(e, resp) from None
    finally:
        if dog is not None:
            dog.cancel()
    if time.monotonic() > deadline:
        raise timeout
    return answer


def _typed(e: httpx.HTTPError, resp: httpx.Response | None) -> FetchError:
    """The typed error of an exception httpx raised (other than a timeout)."""
    if isinstance(e, httpx.TooManyRedirects):
        return FetchError(f"too many redirects: {e}", ErrorKind.CLIENT)
    if isinstance(e, httpx.DecodingError):
        encoding = resp.headers.get("content-encoding", "?") if resp is not None else "?"
        return FetchError(
            f"corrupt response body: could not decode Content-Encoding {encoding}: {e}",
            ErrorKind.BAD_PAYLOAD,
            status=resp.status_code if resp is not None else None,
        )
    return FetchError(f"network error: {type(e).__name__}: {e}", ErrorKind.NETWORK)


def _status_error(answer: HttpAnswer) -> FetchError | None:
    """The typed error of a non-success answer (None for 2xx and 304)."""
    code = answer.status_code
    reason = httpx.codes.get_reason_phrase(code)
    if code < 300 or code == 304:
        return None
    if code < 400:  # a redirect httpx could not follow
        return FetchError(f"HTTP {code} {reason} without a Location header", ErrorKind.CLIENT, status=code)
    wait = retry_after_seconds(answer.headers.get("Retry-After"))
    if code == 429:
        return FetchError(
            f"HTTP 429 Too Many Requests (Retry-After: {answer.headers.get('Retry-After', '-')})",
            ErrorKind.RATE_LIMITED,
            status=429,
            retry_after_s=wait,
        )
    if code >= 500:
        return FetchError(f"HTTP {code} {reason}", ErrorKind.SERVER, status=code, retry_after_s=wait)
    kind = ErrorKind.AUTH if code in (401, 403) else ErrorKind.CLIENT
    return FetchError(f"HTTP {code} {reason}", kind, status=code)


def should_retry(err: SourceError) -> bool:
    """The retry rule, by type: timeouts, network errors and 5xx; a 429 unless it asks
    to wait longer than `MAX_RETRY_AFTER_S`.  Never 4xx, too-large or bad payloads."""
    if err.kind is ErrorKind.RATE_LIMITED:
        return err.retry_after_s is None or err.retry_after_s <= MAX_RETRY_AFTER_S
    return err.retryable


def get(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    policy: HttpPolicy | None = None,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[HttpAnswer, int]:
    """GET `url` with retries; returns (answer, number of requests made).

    2xx and 304 are returned; anything else raises `FetchError` (with its `kind`),
    at once when `should_retry` says no, else after `policy.retries` more tries.
    """
    policy = policy or HttpPolicy()
    own = client is None
    client = client or httpx.Client(timeout=policy.timeout_s, follow_redirects=True, headers={"User-Agent": USER_AGENT})
    requests = 0
    try:
        while True:
            requests += 1
            try:
                answer = _attempt(client, url, headers or {}, policy)
                err = _status_error(answer)
            except FetchError as e:
                err = e
            if err is None:
                return answer, requests
            err.requests = requests
            if not should_retry(err) or requests > policy.retries:
                raise err
            delay = err.retry_after_s if err.retry_after_s is not None else policy.backoff_s * 2 ** (requests - 1)
            sleep(min(delay, MAX_RETRY_AFTER_S))
    finally:
        if own:
            client.close()
