"""A fake news site: feeds with ETag/Last-Modified and scripted failures."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

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
