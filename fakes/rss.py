"""A fake news site: feeds with ETag/Last-Modified and scripted failures."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Callable, Sequence

from .server import FakeServer, Request, Response

LAST_MODIFIED = "Tue, 24 Nov 2026 08:00:00 GMT"


def feed_handler(body: bytes, content_type: str = "application/rss+xml; charset=utf-8") -> FeedHandler:
    return FeedHandler(body, content_type)


class FeedHandler:
    """Serves a feed and answers 304 to a matching If-None-Match / If-Modified-Since."""

    def __init__(self, body: bytes, content_type: str = "application/rss+xml; charset=utf-8") -> None:
        self.content_type = content_type
        self.set(body)

    def set(self, body: bytes) -> None:
        self.body = body
        self.etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'

    def __call__(self, req: Request) -> Response:
        if req.headers.get("if-none-match") == self.etag:
            return Response(304, b"", {"ETag": self.etag})
        return Response(
            200, self.body, {"Content-Type": self.content_type, "ETag": self.etag, "Last-Modified": LAST_MODIFIED}
        )


class Scripted:
    """Answers with the given responses in turn, then repeats the last one."""

    def __init__(self, responses: Sequence[Response]) -> None:
        self.responses = list(responses)
        self.calls = 0

    def __call__(self, req: Request) -> Response:
        r = self.responses[min(self.calls, len(self.responses) - 1)]
        self.calls += 1
        return r


def serve_feeds(server: FakeServer, feeds: dict[str, bytes]) -> dict[str, FeedHandler]:
    """Route each `path -> feed bytes`; returns the handlers (to change a feed later)."""
    handlers = {}
    for path, body in feeds.items():
        handlers[path] = FeedHandler(body)
        server.route(path, handlers[path])
    return handlers


def rss_xml(items: Sequence[dict[str, str]], title: str = "Test feed") -> bytes:
    """An RSS 2.0 document from dicts with title, link, guid, description, pubDate, author."""
    from xml.sax.saxutils import escape

    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>{escape(title)}</title>'
        "<link>https://example.nl/</link><description>test</description><language>nl</language>"
    ]
    for it in items:
        parts.append("<item>")
        for key in ("title", "link", "guid", "description", "pubDate", "author"):
            if key in it:
                parts.append(f"<{key}>{escape(it[key])}</{key}>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


class RawServer:
    """A TCP server on 127.0.0.1 that answers every connection with `script(send)`:
    raw bytes, at the pace the script chooses (to trickle a body, to send a chunked
    body without Content-Length, or to drop the connection mid-answer).

        with RawServer(trickle(body, 20, 0.5)) as srv: srv.url + "/feed.xml"
    """

    def __init__(self, script: Callable[[Callable[[bytes], None]], None]) -> None:
        self.script = script
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.connections = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    more = conn.recv(4096)
                    if not more:
                        return
                    data += more
                self.script(conn.sendall)
            except OSError:  # the client gave up
                pass

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.sock.close()


def trickle(body: bytes, size: int, every_s: float) -> Callable[[Callable[[bytes], None]], None]:
    """A 200 whose body comes `size` bytes every `every_s` seconds."""

    def script(send: Callable[[bytes], None]) -> None:
        send(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n" + b"Content-Length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body), size):
            send(body[i : i + size])
            time.sleep(every_s)

    return script


def chunked(total: int, chunk: int = 65536) -> Callable[[Callable[[bytes], None]], None]:
    """A 200 with a chunked body of `total` bytes and no Content-Length."""

    def script(send: Callable[[bytes], None]) -> None:
        send(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nTransfer-Encoding: chunked\r\n\r\n")
        sent = 0
        while sent < total:
            n = min(chunk, total - sent)
            send(b"%x\r\n" % n + b"<!-- padding -->"[:1] * n + b"\r\n")
            sent += n
        send(b"0\r\n\r\n")

    return script


def drop_after_headers() -> Callable[[Callable[[bytes], None]], None]:
    """Headers promising a body, then the connection closes."""

    def script(send: Callable[[bytes], None]) -> None:
        send(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 5000\r\n\r\n<rss")

    return script
