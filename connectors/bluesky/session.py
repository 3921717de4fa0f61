"""The Bluesky account's session: login with a stored or new session, one fetch at a time
per account, and a failure as (status, one readable line). Used by search and by lookup."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from atproto import Client
from atproto_client import exceptions as atx
from atproto_client.request import Request

from connectors.base import ErrorKind, retry_transient
from connectors.bluesky import settings
from connectors.bluesky.helpers import host, xrpc_error
from core.secrets import MissingSecret, Secrets

T = TypeVar("T")

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def account_lock(key: str) -> threading.Lock:
    """One fetch at a time per account: they share the stored session (refresh tokens rotate)."""
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


class Stats:
    """Counts the HTTP responses the client gets (httpx event hook)."""

    def __init__(self) -> None:
        self.requests = 0
        self.status: int | None = None

    def __call__(self, response: httpx.Response) -> None:
        self.requests += 1
        self.status = response.status_code


class Failure(Exception):
    def __init__(self, status: str, message: str, kind: ErrorKind = ErrorKind.AUTH) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


def make_client(p: dict[str, Any], stats: Stats) -> Client:
    return Client(base_url=p["base_url"], request=Request(timeout=p["timeout_s"], event_hooks={"response": [stats]}))


def login(p: dict[str, Any], secrets: Secrets, stats: Stats, *, reuse: bool) -> tuple[Client, bool]:
    """A logged-in client and whether it uses a stored session.  New and refreshed
    sessions are saved with the secrets."""
    handle = p["handle"]
    key = settings.SESSION_KEY.format(base_url=p["base_url"].rstrip("/"), handle=handle)
    client = make_client(p, stats)
    client.on_session_change(lambda event, session: secrets.save_session(key, session.export()))
    stored = secrets.load_session(key) if reuse else None
    if stored:
        try:
            client.login(session_string=stored, fetch_bsky_profile=False)
            return client, True
        except Exception:  # unreadable session string: start over
            secrets.drop_session(key)
            client = make_client(p, stats)
            client.on_session_change(lambda event, session: secrets.save_session(key, session.export()))
    password = secrets.require(p["app_password_env"], f"app password for {handle}")
    try:
        client.login(handle, password, fetch_bsky_profile=False)
    except atx.UnauthorizedError:
        secrets.drop_session(key)
        raise Failure(
            "failed",
            f"login refused: check the app password for {handle} (environment variable {p['app_password_env']})",
        ) from None
    return client, False


def drop_session(p: dict[str, Any], secrets: Secrets) -> None:
    secrets.drop_session(settings.SESSION_KEY.format(base_url=p["base_url"].rstrip("/"), handle=p["handle"]))


def is_token_error(exc: Exception) -> bool:
    if isinstance(exc, atx.LoginRequiredError):
        return True
    if isinstance(exc, (atx.UnauthorizedError, atx.BadRequestError)):
        status, name, _ = xrpc_error(exc)
        return status == 401 or name in settings.TOKEN_ERRORS
    return False


def error_kind(e: Exception) -> ErrorKind:
    """The type of a failure, from the exception's class and HTTP status (never its text)."""
    if isinstance(e, Failure):
        return e.kind
    if isinstance(e, MissingSecret):
        return ErrorKind.AUTH
    if isinstance(e, atx.RateLimitExceededError):
        return ErrorKind.RATE_LIMITED
    if isinstance(e, atx.InvokeTimeoutError) or isinstance(e, httpx.TimeoutException):
        return ErrorKind.TIMEOUT
    if isinstance(e, atx.RequestErrorBase):
        status = e.response.status_code if e.response is not None else None
        if status is None:
            return ErrorKind.NETWORK
        if status >= 500:
            return ErrorKind.SERVER
        if status in (401, 403) or is_token_error(e):
            return ErrorKind.AUTH
        return ErrorKind.CLIENT
    if isinstance(e, httpx.TransportError):  # RemoteProtocolError is not wrapped by atproto
        return ErrorKind.NETWORK
    if isinstance(e, (ValueError, atx.ModelError)):
        return ErrorKind.BAD_PAYLOAD
    return ErrorKind.UNEXPECTED


def with_retries(call: Callable[[], T], retries: int, stats: Stats) -> T:
    """`call()` with the connector's one retry layer (`connectors.base.retry_transient`)."""

    def count(e: Exception) -> None:
        if error_kind(e) is not ErrorKind.SERVER:
            stats.requests += 1  # a request that got no response is still a request

    return retry_transient(call, retries, error_kind, on_retry=count)


def classify_error(e: Exception, p: dict[str, Any]) -> tuple[str, str]:
    """(status, one readable line) for a failed fetch."""
    where = host(p["base_url"])
    if isinstance(e, atx.RateLimitExceededError):
        reset = f", window resets {e.reset_at:%Y-%m-%d %H:%M} UTC" if e.reset_at else ""
        return "rate_limited", f"rate limited by {where} (429{reset}); resumes from the watermark next cycle"
    if isinstance(e, atx.InvokeTimeoutError):
        return "failed", f"{where} did not answer within {p['timeout_s']:g}s"
    if isinstance(e, atx.RequestErrorBase):
        status, name, msg = xrpc_error(e)
        if status is None:
            cause = e.__cause__ or e
            return "failed", f"network error talking to {where}: {type(cause).__name__}: {cause}"
        return "failed", f"{status} {name or 'error'} from {where}: {msg}".rstrip(": ")
    if isinstance(e, httpx.TransportError):
        return "failed", f"network error talking to {where}: {type(e).__name__}: {e}"
    if isinstance(e, (ValueError, atx.ModelError)):
        return "failed", f"malformed JSON from {where} ({settings.SEARCH_NSID}): {str(e)[:160]}"
    return "failed", f"unexpected {type(e).__name__} talking to {where}: {str(e)[:200]}"
