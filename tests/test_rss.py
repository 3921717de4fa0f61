"""The RSS connector against a local HTTP server speaking real HTTP."""

from __future__ import annotations

from connectors import rss
from connectors.base import Target
from connectors.http import retry_after_seconds
from core.config import RssSource
from fakes.rss import FeedHandler, Scripted, rss_xml
from fakes.server import FakeServer, Response

ITEMS = [
    {
        "title": "Ley College wint <b>debat</b> &amp; prijs",
        "link": "https://nieuws.example.nl/a?utm_source=rss",
        "guid": "a",
        "description": "<p>Leerlingen van het <a href='https://x'>Ley College</a> wonnen.</p>",
        "pubDate": "Tue, 24 Nov 2026 07:15:00 +0100",
    },
    {"title": "Nieuwe fietsbrug", "link": "https://nieuws.example.nl/b", "guid": "b", "description": "Open."},
]


def target(url: str, retries: int = 2) -> Target:
    return Target("rss", url, {"source": RssSource(url=url, retries=retries, timeout_s=2)})


def test_entries_become_plain_text_mentions(fake_server: FakeServer) -> None:
    fake_server.route("/feed.xml", FeedHandler(rss_xml(ITEMS)))
    res = rss.fetch(target(fake_server.url + "/feed.xml"), {})
    assert res.status == "ok" and res.error is None
    first = res.mentions[0]
    assert first.title == "Ley College wint debat & prijs"
    assert first.text == "Ley College wint debat & prijs\nLeerlingen van het Ley College wonnen."
    assert first.published_at.isoformat() == "2026-11-24T06:15:00+00:00"
    assert first.url == "https://nieuws.example.nl/a?utm_source=rss"
    assert first.canonical_url == "https://nieuws.example.nl/a"
    assert '"guid"' not in first.raw and "Ley College" in first.raw
    req = fake_server.requests_to("/feed.xml")[0]
    assert req.headers["user-agent"].startswith("edumon/")


def test_conditional_get_sends_validators_and_handles_304(fake_server: FakeServer) -> None:
    fake_server.route("/feed.xml", FeedHandler(rss_xml(ITEMS)))
    url = fake_server.url + "/feed.xml"
    first = rss.fetch(target(url), {})
    assert first.state["etag"] and first.state["last_modified"]
    second = rss.fetch(target(url), first.state)
    assert second.status == "not_modified" and second.mentions == []
    req = fake_server.requests_to("/feed.xml")[-1]
    assert req.headers["if-none-match"] == first.state["etag"]
    assert req.headers["if-modified-since"] == first.state["last_modified"]


def test_503_then_200_is_retried(fake_server: FakeServer) -> None:
    fake_server.route("/flaky.xml", Scripted([Response(503, "down"), Response(200, rss_xml(ITEMS))]))
    res = rss.fetch(target(fake_server.url + "/flaky.xml"), {})
    assert res.status == "ok" and len(res.mentions) == 2 and res.requests == 2


def test_persistent_5xx_fails_with_a_readable_error(fake_server: FakeServer) -> None:
    fake_server.route("/down.xml", Scripted([Response(502, "bad gateway")]))
    res = rss.fetch(target(fake_server.url + "/down.xml", retries=1), {})
    assert res.status == "failed" and res.error == "HTTP 502 Bad Gateway" and res.requests == 2


def test_429_honours_retry_after_or_gives_up_for_this_cycle(fake_server: FakeServer) -> None:
    fake_server.route("/slow.xml", Scripted([Response(429, "", {"Retry-After": "1"}), Response(200, rss_xml(ITEMS))]))
    assert rss.fetch(target(fake_server.url + "/slow.xml"), {}).status == "ok"
    fake_server.route("/limit.xml", Scripted([Response(429, "", {"Retry-After": "3600"})]))
    res = rss.fetch(target(fake_server.url + "/limit.xml"), {"etag": '"x"'})
    assert res.status == "rate_limited" and "429" in res.error and res.requests == 1
    assert res.state == {"etag": '"x"'}  # the cursor is kept for the next cycle
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_malformed_xml_keeps_what_it_can(fake_server: FakeServer) -> None:
    broken = rss_xml(ITEMS).replace(b"</channel></rss>", b"<item><title>Ley College & kapot")
    fake_server.route("/broken.xml", FeedHandler(broken))
    res = rss.fetch(target(fake_server.url + "/broken.xml"), {})
    assert res.status == "partial"  # kept, and health can see it was broken
    assert len(res.mentions) == 2
    assert res.error.startswith("malformed feed, kept 2 entries")
    assert "etag" not in res.state  # fetched fully again next time


def test_html_page_and_empty_body_are_failures(fake_server: FakeServer) -> None:
    fake_server.route("/page", FeedHandler(b"<html><body><h1>Welkom</h1><p>Geen feed</p></body></html>", "text/html"))
    fake_server.route("/empty", FeedHandler(b"", "application/rss+xml"))
    page = rss.fetch(target(fake_server.url + "/page"), {})
    assert page.status == "failed" and "not an RSS or Atom feed (content-type text/html)" in page.error
    empty = rss.fetch(target(fake_server.url + "/empty"), {})
    assert empty.status == "failed" and empty.error == "empty response body"


def test_redirect_is_followed(fake_server: FakeServer) -> None:
    fake_server.route("/old", lambda req: Response(301, "", {"Location": "/new.xml"}))
    fake_server.route("/new.xml", FeedHandler(rss_xml(ITEMS)))
    res = rss.fetch(target(fake_server.url + "/old"), {})
    assert res.status == "ok" and len(res.mentions) == 2
    assert res.state["final_url"].endswith("/new.xml")


def test_unreachable_host_fails_cleanly() -> None:
    srv = FakeServer().start()
    url = srv.url + "/feed.xml"
    srv.stop()
    res = rss.fetch(target(url, retries=0), {})
    assert res.status == "failed" and res.error.startswith("network error")
