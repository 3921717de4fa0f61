"""A local Mastodon streaming server: `/api/v1/streaming/hashtag?tag=...` as server-sent events,
the way Mastodon.py's stream listener reads them, plus `/api/v1/instance` (which Mastodon.py
asks for the streaming URL).

    with FakeMastodonStream("mastodon.nl") as fake:
        fake.post("juf_anna", "<p>... #LeyCollege</p>", tags=["LeyCollege"])   # an `update` event now

Statuses are built by a `FakeMastodon` (same entities as the REST fake).  A comment line
(`:thump`) is sent as a heartbeat every `heartbeat_s`.  `drop_clients()` ends every open
stream (the client reconnects); `refuse(n)` answers the next n stream requests with 503.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fakes.mastodon import FakeMastodon


class FakeMastodonStream:
    def __init__(self, domain: str = "mastodon.nl", heartbeat_s: float = 1.0) -> None:
        self.rest = FakeMastodon(domain)  # builds the status entities
        self.heartbeat_s = heartbeat_s
        self.sent: list[tuple[str, dict[str, Any]]] = []  # (tag, status) in order
        self.streams: list[str] = []  # the tag of every stream request
        self._cond = threading.Condition()
        self._generation = 0  # bumped by drop_clients
        self._refuse = 0
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> FakeMastodonStream:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                fake._serve(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self.drop_clients()
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeMastodonStream:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # --- test controls -----------------------------------------------------------------

    def post(self, acct: str, html: str, *, tags: list[str], **kw: Any) -> dict[str, Any]:
        """Create a status now and stream it to every client following one of its tags."""
        status = self.rest.add_status(acct, html, datetime.now(timezone.utc), tags=tags, **kw)
        with self._cond:
            for t in tags:
                self.sent.append((t.lower(), status))
            self._cond.notify_all()
        return status

    def drop_clients(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def refuse(self, n: int = 1) -> None:
        with self._cond:
            self._refuse += n

    # --- serving -----------------------------------------------------------------------

    def _json(self, h: BaseHTTPRequestHandler, body: Any, status: int = 200) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path = parts.path.rstrip("/")
        if path == "/api/v1/instance":
            info = self.rest._instance_v1()
            info["urls"] = {"streaming_api": self.url.replace("http://", "ws://")}
            return self._json(h, info)
        if path == "/api/v2/instance":
            return self._json(h, self.rest._instance_v2())
        if path == "/api/v1/streaming/hashtag":
            tag = (parse_qs(parts.query).get("tag") or [""])[0].lower()
            return self._stream(h, tag)
        return self._json(h, {"error": "Not Found"}, 404)

    def _stream(self, h: BaseHTTPRequestHandler, tag: str) -> None:
        with self._cond:
            self.streams.append(tag)
            refused = self._refuse > 0
            self._refuse -= 1 if refused else 0
            start, generation = len(self.sent), self._generation
        if refused:
            return self._json(h, {"error": "Service Unavailable"}, 503)
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-store")
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        i, beat = start, time.monotonic()
        try:
            h.wfile.write(b":)\n")
            h.wfile.flush()
            while True:
                with self._cond:
                    if self._generation != generation or self._httpd is None:
                        return
                    new = self.sent[i:]
                    i = len(self.sent)
                    if not new:
                        self._cond.wait(0.2)
                for t, status in new:
                    if t == tag:
                        payload = json.dumps(status)
                        h.wfile.write(f"event: update\ndata: {payload}\n\n".encode())
                if time.monotonic() - beat >= self.heartbeat_s:
                    h.wfile.write(b":thump\n")
                    beat = time.monotonic()
                h.wfile.flush()
        except OSError:
            return
