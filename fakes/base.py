"""A small threaded HTTP server with a request log and failure injection."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MALFORMED = b'{"posts": [{"uri": "at://'  # cut off mid-object: not valid JSON


@dataclass
class LoggedRequest:
    method: str
    path: str
    params: dict[str, Any]  # query parameters; a list when repeated
    headers: dict[str, str]
    body: bytes = b""
    status: int = 0  # what the fake answered

    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)


@dataclass
class _Failure:
    match: str  # substring of the path
    status: int
    body: bytes | None
    headers: dict[str, str]
    delay: float
    count: int
    drop: bool = False  # close the connection without an answer (a RemoteProtocolError)


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able, or bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)


class ProtocolFake:
    """Base class: subclasses implement `handle(req) -> Reply`."""

    def __init__(self) -> None:
        self.log: list[LoggedRequest] = []
        self._failures: deque[_Failure] = deque()
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> ProtocolFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = -1  # headers and body leave in one write (flushed per request): no 40 ms delayed-ACK stall

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                fake._dispatch(self)

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ProtocolFake:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # --- test controls -----------------------------------------------------------------

    def fail_next(
        self,
        match: str,
        status: int = 500,
        *,
        body: Any = None,
        count: int = 1,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        drop: bool = False,
    ) -> None:
        """Answer the next `count` requests whose path contains `match` with `status`
        and `body` (JSON-able, or bytes; `MALFORMED` for broken JSON with status 200).
        `delay` seconds before answering (to provoke client timeouts); `drop`: close the
        connection without answering (the client sees a dropped connection)."""
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
        with self._lock:
            self._failures.append(_Failure(match, status, body, dict(headers or {}), delay, count, drop))

    def requests_to(self, match: str) -> list[LoggedRequest]:
        """Logged requests whose path contains `match`, oldest first."""
        with self._lock:
            return [r for r in self.log if match in r.path]

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    # --- dispatch ----------------------------------------------------------------------

    def handle(self, req: LoggedRequest) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    def _take_failure(self, path: str) -> _Failure | None:
        with self._lock:
            for f in self._failures:
                if f.match in path:
                    f.count -= 1
                    if f.count <= 0:
                        self._failures.remove(f)
                    return f
        return None

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        params: dict[str, Any] = {}
        for k, vs in parse_qs(parts.query, keep_blank_values=True).items():
            params[k] = vs[0] if len(vs) == 1 else vs
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        req = LoggedRequest(h.command, parts.path, params, {k.lower(): v for k, v in h.headers.items()}, body)
        with self._lock:
            self.log.append(req)

        failure = self._take_failure(parts.path)
        if failure:
            if failure.delay:
                time.sleep(failure.delay)
            if failure.drop:
                req.status = 0
                h.close_connection = True
                h.wfile.flush()
                h.connection.shutdown(2)  # socket.SHUT_RDWR: no status line at all
                return
            reply = Reply(
                failure.status,
                failure.body
                if failure.body is not None
                else {"error": _REASONS.get(failure.status, "Error"), "message": f"fake failure {failure.status}"},
                failure.headers,
            )
        else:
            try:
                reply = self.handle(req)
            except Exception as e:  # a bug in the fake: answer 500 rather than hang the client
                reply = Reply(500, {"error": "InternalServerError", "message": repr(e)})
        req.status = reply.status
        self._send(h, reply)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, reply: Reply) -> None:
        body = reply.body
        headers = dict(reply.headers)
        if isinstance(body, bytes):
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        else:
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        try:
            h.send_response(reply.status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(body)
            h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass


_REASONS = {
    400: "InvalidRequest",
    401: "AuthenticationRequired",
    403: "Forbidden",
    404: "NotFound",
    429: "RateLimitExceeded",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


# --- shared helpers --------------------------------------------------------------------------


def parse_ts(value: str) -> datetime:
    """An ISO 8601 timestamp (with Z or an offset) as an aware UTC datetime."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def iso_z(dt: datetime) -> str:
    """`2025-11-20T09:12:00.000Z`: the millisecond UTC form both APIs use."""
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def shift_timestamps(obj: Any, delta, keys: set[str]) -> Any:
    """Shift every timestamp under one of `keys` (recursively) by `delta`."""
    if isinstance(obj, dict):
        return {
            k: (
                iso_z(parse_ts(v) + delta)
                if k in keys and isinstance(v, str) and v[:4].isdigit()
                else shift_timestamps(v, delta, keys)
            )
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [shift_timestamps(v, delta, keys) for v in obj]
    return obj


Handler = Callable[[LoggedRequest], Reply]
