"""Issue 16, RSS: feeds that lose nothing and never stall, through the whole cycle
(fake news sites on 127.0.0.1, real HTTP, rows read back from the warehouse)."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable

import pipeline
from connectors import rss
from connectors.base import ErrorKind, Target
from core.config import Config, RssSource
from fakes.rss import FeedHandler, RawServer, chunked, drop_after_headers, rss_xml, trickle
from fakes.server import FakeServer, Response
from warehouse import Warehouse


def rows(cfg: Config, sql: str) -> list[tuple]:
    return Warehouse(cfg.warehouse.path).query(sql)


def runs(cfg: Config) -> list[tuple]:
    return rows(cfg, "SELECT target, status, error, fetched, relevant, new FROM source_runs ORDER BY target")


def target(url: str, **kw) -> Target:
    kw.setdefault("retries", 0)
    kw.setdefault("timeout_s", 2)
    return Target("rss", url, {"source": RssSource(url=url, **kw)})


# --- 1. relative links and link-less items -------------------------------------------------------


def test_relative_links_on_two_sites_are_two_stories(make_config: Callable[..., Config]) -> None:
    item = {"title": "Ley College open dag", "link": "/nieuws/1", "guid": "1", "description": "Kom kijken."}
    with FakeServer() as a, FakeServer() as b:
        a.route("/feed.xml", FeedHandler(rss_xml([item])))
        b.route("/feed.xml", FeedHandler(rss_xml([{**item, "description": "Een ander verhaal."}])))
        cfg = make_config(rss=[a.url + "/feed.xml", b.url + "/feed.xml"])
        pipeline.run_cycle(cfg)
        stored = rows(cfg, "SELECT url FROM mentions ORDER BY url")
        assert stored == sorted([(a.url + "/nieuws/1",), (b.url + "/nieuws/1",)])
        pipeline.run_cycle(cfg)  # a second cycle duplicates nothing
        assert rows(cfg, "SELECT count(*) FROM mentions") == [(2,)]


def test_xml_base_is_applied_before_identity(fake_server: FakeServer, make_config: Callable[..., Config]) -> None:
    atom = (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        b'xml:base="https://regio.example.nl/archief/"><title>Regio</title><id>urn:r</id>'
        b"<updated>2026-11-24T08:00:00Z</updated><entry><title>Ley College wint</title>"
        b'<link href="2026/wint"/><id>urn:1</id><updated>2026-11-24T08:00:00Z</updated>'
        b"<summary>Prijs.</summary></entry></feed>"
    )
    fake_server.route("/atom.xml", FeedHandler(atom, "application/atom+xml"))
    cfg = make_config(rss=[fake_server.url + "/atom.xml"])
    pipeline.run_cycle(cfg)
    assert rows(cfg, "SELECT url FROM mentions") == [("https://regio.example.nl/archief/2026/wint",)]


def test_items_without_link_are_identified_within_their_feed(make_config: Callable[..., Config]) -> None:
    # both sites number their items "1", without links: two stories, not one
    with FakeServer() as a, FakeServer() as b:
        a.route("/f", FeedHandler(rss_xml([{"title": "Ley College: sportdag", "guid": "1"}])))
        b.route("/f", FeedHandler(rss_xml([{"title": "Ley College: musical", "guid": "1"}])))
        cfg = make_config(rss=[a.url + "/f", b.url + "/f"])
        pipeline.run_cycle(cfg)
        pipeline.run_cycle(cfg)
        assert sorted(rows(cfg, "SELECT title, source_id FROM mentions")) == [
            ("Ley College: musical", "1"),
            ("Ley College: sportdag", "1"),
        ]


# --- 2. description-only items ----------------------------------------------------------------------


def test_description_only_items_are_kept(fake_server: FakeServer, make_config: Callable[..., Config]) -> None:
    items = [{"description": "Het Ley College opent een nieuw lab."}, {"description": "Ley College zoekt docenten."}]
    fake_server.route("/feed.xml", FeedHandler(rss_xml(items)))
    cfg = make_config(rss=[fake_server.url + "/feed.xml"])
    pipeline.run_cycle(cfg)
    pipeline.run_cycle(cfg)
    assert sorted(rows(cfg, "SELECT text, title FROM mentions")) == [
        ("Het Ley College opent een nieuw lab.", None),
        ("Ley College zoekt docenten.", None),
    ]
    assert [r[1:] for r in runs(cfg)][:1] == [("ok", None, 2, 2, 2)]


def test_an_empty_item_is_counted_as_dropped(fake_server: FakeServer, make_config: Callable[..., Config]) -> None:
    feed = rss_xml([{"title": "Ley College"}]).replace(b"</channel>", b"<item></item></channel>")
    fake_server.route("/feed.xml", FeedHandler(feed))
    cfg = make_config(rss=[fake_server.url + "/feed.xml"])
    pipeline.run_cycle(cfg)
    (run,) = runs(cfg)
    assert run[1] == "ok" and run[2] == "dropped 1 entries without any text" and run[3] == 1


# --- 3. malformed feeds --------------------------------------------------------------------------------


def test_malformed_feed_that_yields_nothing_is_failed(
    fake_server: FakeServer, make_config: Callable[..., Config]
) -> None:
    fake_server.route("/broken.xml", FeedHandler(b'<?xml version="1.0"?><rss version="2.0"><channel><title>x &'))
    cfg = make_config(rss=[fake_server.url + "/broken.xml"])
    report = pipeline.run_cycle(cfg)
    (run,) = runs(cfg)
    assert run[1] == "failed" and run[2].startswith("malformed feed, kept 0 entries")
    assert report.targets[0].status == "failed"
    res = rss.fetch(target(fake_server.url + "/broken.xml"), {})
    assert res.error_kind is ErrorKind.BAD_PAYLOAD and not res.retryable


def test_malformed_feed_with_entries_is_partial(fake_server: FakeServer, make_config: Callable[..., Config]) -> None:
    broken = rss_xml([{"title": "Ley College wint", "link": "https://n.example/1"}]).replace(
        b"</channel></rss>", b"<item><title>kapot &"
    )
    fake_server.route("/broken.xml", FeedHandler(broken))
    cfg = make_config(rss=[fake_server.url + "/broken.xml"])
    pipeline.run_cycle(cfg)
    (run,) = runs(cfg)
    assert run[1] == "partial" and run[2].startswith("malformed feed, kept 1 entries")
    assert rows(cfg, "SELECT url FROM mentions") == [("https://n.example/1",)]


# --- 4. content:encoded ------------------------------------------------------------------------------------


def test_content_encoded_is_searched_and_shown(fake_server: FakeServer, make_config: Callable[..., Config]) -> None:
    feed = (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        b"<channel><title>t</title><link>https://n.example/</link><description>d</description>"
        b"<item><title>Open dag in de regio</title><link>https://n.example/od</link>"
        b"<description>Scholen openen hun deuren.</description>"
        b"<content:encoded><![CDATA[<p>Zaterdag ontvangt ook het <b>Ley College</b> bezoekers.</p>]]>"
        b"</content:encoded></item></channel></rss>"
    )
    fake_server.route("/feed.xml", FeedHandler(feed))
    cfg = make_config(rss=[fake_server.url + "/feed.xml"])
    pipeline.run_cycle(cfg)
    ((text, schools),) = rows(cfg, "SELECT text, school_ids FROM mentions")
    assert text.startswith("Open dag in de regio\nScholen openen hun deuren.\n\n")
    assert text.endswith("[gevonden in volledige artikeltekst] Zaterdag ontvangt ook het Ley College bezoekers.")
    assert schools == ["ley-college"]


# --- 5. whole-request deadline -----------------------------------------------------------------------------


def test_a_trickling_server_is_cut_off_at_the_deadline(make_config: Callable[..., Config]) -> None:
    body = rss_xml([{"title": f"Ley College {i}", "link": f"https://n.example/{i}"} for i in range(20)])
    with RawServer(trickle(body, 20, 0.5)) as srv:
        cfg = make_config(sources={"rss": [{"url": srv.url + "/feed.xml", "timeout_s": 2, "retries": 0}]})
        t0 = time.monotonic()
        pipeline.run_cycle(cfg)
        took = time.monotonic() - t0
    (run,) = runs(cfg)
    assert run[1] == "failed" and run[2] == "timed out after 2 s (whole request)"
    assert took < 3.5, took  # was 14 s
    assert rows(cfg, "SELECT count(*) FROM mentions") == [(0,)]


# --- 6. size cap ------------------------------------------------------------------------------------------------


def test_a_body_over_the_cap_fails_the_feed(make_config: Callable[..., Config]) -> None:
    with RawServer(chunked(3 * 1024 * 1024)) as srv:  # no Content-Length: counted while reading
        cfg = make_config(sources={"rss": [{"url": srv.url + "/big.xml", "max_bytes": 1024 * 1024, "retries": 2}]})
        pipeline.run_cycle(cfg)
        assert srv.connections == 1  # too large is not retried
    (run,) = runs(cfg)
    assert run[1] == "failed" and run[2] == "response too large: over the cap of 1.0 MB (sources.rss max_bytes)"


def test_a_declared_length_over_the_cap_is_refused_unread(fake_server: FakeServer) -> None:
    fake_server.route("/big.xml", lambda req: Response(200, b"x" * 300_000, {"Content-Type": "application/rss+xml"}))
    res = rss.fetch(target(fake_server.url + "/big.xml", max_bytes=100_000), {})
    assert res.status == "failed" and res.error_kind is ErrorKind.TOO_LARGE and res.http_status == 200
    assert res.error.startswith("response too large: Content-Length 0.3 MB")


def test_a_gzip_bomb_is_stopped_by_the_decoded_size(fake_server: FakeServer) -> None:
    bomb = gzip.compress(b"<" * 5_000_000)
    fake_server.route("/z.xml", lambda req: Response(200, bomb, {"Content-Encoding": "gzip"}))
    res = rss.fetch(target(fake_server.url + "/z.xml", max_bytes=1024 * 1024), {})
    assert res.error_kind is ErrorKind.TOO_LARGE


# --- 9. clear errors and the best link ----------------------------------------------------------------------


def test_corrupt_gzip_and_redirect_without_location_name_the_cause(fake_server: FakeServer) -> None:
    fake_server.route("/gz", lambda req: Response(200, b"\x1f\x8bnot really gzip", {"Content-Encoding": "gzip"}))
    fake_server.route("/moved", lambda req: Response(302, b""))
    gz = rss.fetch(target(fake_server.url + "/gz"), {})
    assert gz.status == "failed" and gz.error.startswith(
        "corrupt response body: could not decode Content-Encoding gzip"
    )
    moved = rss.fetch(target(fake_server.url + "/moved"), {})
    assert moved.status == "failed" and moved.error == "HTTP 302 Found without a Location header"
    assert moved.error_kind is ErrorKind.CLIENT and moved.http_status == 302


def test_dropped_connection_is_retried_and_typed(fake_server: FakeServer) -> None:
    with RawServer(drop_after_headers()) as srv:
        res = rss.fetch(target(srv.url + "/f", retries=2), {})
        assert srv.connections == 3  # one layer of retries: 1 + 2, nothing more
    assert res.status == "failed" and res.error_kind is ErrorKind.NETWORK and res.retryable
    assert res.requests == 3 and res.error.startswith("network error: RemoteProtocolError")


def test_enclosure_or_comments_is_the_link(fake_server: FakeServer, make_config: Callable[..., Config]) -> None:
    feed = rss_xml([]).replace(
        b"</channel>",
        b'<item><title>Ley College podcast</title><enclosure url="/media/ep1.mp3" type="audio/mpeg" length="1"/>'
        b"</item><item><title>Ley College debat</title><comments>https://n.example/debat#reacties</comments>"
        b"</item></channel>",
    )
    fake_server.route("/feed.xml", FeedHandler(feed))
    cfg = make_config(rss=[fake_server.url + "/feed.xml"])
    pipeline.run_cycle(cfg)
    assert sorted(rows(cfg, "SELECT title, url FROM mentions")) == [
        ("Ley College debat", "https://n.example/debat#reacties"),
        ("Ley College podcast", fake_server.url + "/media/ep1.mp3"),
    ]


# --- 10. the title is cut from the description on a word boundary only ---------------------------------------


def test_title_is_cut_on_a_word_boundary_only(fake_server: FakeServer, make_config: Callable[..., Config]) -> None:
    items = [
        {"title": "Open dag", "link": "https://n.example/1", "description": "Open dagen op het Ley College"},
        {"title": "Ley College", "link": "https://n.example/2", "description": "Ley College - nieuw gebouw"},
    ]
    fake_server.route("/feed.xml", FeedHandler(rss_xml(items)))
    cfg = make_config(rss=[fake_server.url + "/feed.xml"])
    pipeline.run_cycle(cfg)
    assert rows(cfg, "SELECT text FROM mentions ORDER BY url") == [
        ("Open dag\nOpen dagen op het Ley College",),
        ("Ley College\n- nieuw gebouw",),
    ]
