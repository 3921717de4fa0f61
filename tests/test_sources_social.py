"""Issue 16, Bluesky and Mastodon: posts that lose nothing and fetches that never stall,
through the whole cycle against the fakes (real atproto and Mastodon.py clients),
rows read back from the warehouse."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import connectors.bluesky as bsky
import connectors.mastodon as masto
import pipeline
from classifiers import load_classifier
from connectors.base import ErrorKind
from fakes.bluesky import did_for, external_view, gallery_view, quote_view
from warehouse import Warehouse

BSKY_HANDLE = "edumon.bsky.social"  # as in conftest.py
NOW = datetime.now(timezone.utc).replace(microsecond=0)
TAG = '<a href="https://mastodon.nl/tags/opendag" class="mention hashtag" rel="tag">#<span>opendag</span></a>'


def bsky_cfg(make_config, fake, **kw):
    src = {
        "handle": BSKY_HANDLE,
        "app_password_env": "BSKY_APP_PASSWORD",
        "base_url": fake.url,
        "queries": ["open dag"],
        "timeout_s": 5,
        **kw,
    }
    return make_config(sources={"bluesky": [src]})


def masto_cfg(make_config, fake, **kw):
    src = {"api_base_url": fake.url, "hashtags": ["opendag"], "timeout_s": 5, "page_size": 3, **kw}
    return make_config(sources={"mastodon": [src]})


def mentions(cfg, cols="source_id, text, school_ids"):
    return Warehouse(cfg.warehouse.path).query(f"SELECT {cols} FROM mentions ORDER BY source_id")


def run_rows(cfg):
    return Warehouse(cfg.warehouse.path).query("SELECT status, error, http_status, requests, fetched FROM source_runs")


def cycle(cfg, secrets):
    return pipeline.run_cycle(cfg, secrets=secrets, classifier=load_classifier())


# --- Bluesky ------------------------------------------------------------------------------------------


def test_bluesky_school_only_in_alt_text_card_or_quote_is_stored_with_where(bluesky_fake, make_config, secrets) -> None:
    quoted = bluesky_fake.add_post("ouder.bsky.social", "Trots op het Ley College!", NOW - timedelta(hours=2))
    did = did_for("a.bsky.social")
    alt = bluesky_fake.add_post(
        "a.bsky.social",
        "Open dag was druk",
        NOW - timedelta(minutes=30),
        embed=gallery_view(did, ["Hal van Ley College"]),
    )
    card = bluesky_fake.add_post(
        "b.bsky.social",
        "Open dag verslag",
        NOW - timedelta(minutes=20),
        embed=external_view("https://n.example/od", "Ley College trekt 800 bezoekers", "Verslag"),
    )
    quote = bluesky_fake.add_post(
        "c.bsky.social", "Open dag, zie hieronder", NOW - timedelta(minutes=10), embed=quote_view(quoted)
    )
    bluesky_fake.add_post("d.bsky.social", "Open dag bij de bakker", NOW - timedelta(minutes=5))
    cfg = bsky_cfg(make_config, bluesky_fake)
    cycle(cfg, secrets)
    cycle(cfg, secrets)  # a second cycle duplicates nothing and keeps the texts
    got = {r[0]: (r[1], r[2]) for r in mentions(cfg)}
    assert set(got) == {alt["uri"], card["uri"], quote["uri"]}
    assert got[alt["uri"]] == (
        "Open dag was druk\n\n[gevonden in alt-tekst van een afbeelding] Hal van Ley College",
        ["ley-college"],
    )
    assert got[card["uri"]][0] == (
        "Open dag verslag\n\n[gevonden in linkvoorbeeld] Ley College trekt 800 bezoekers\nVerslag"
    )
    assert got[quote["uri"]][0] == (
        "Open dag, zie hieronder\n\n[gevonden in geciteerd bericht] @ouder.bsky.social: Trots op het Ley College!"
    )


def test_bluesky_gallery_media_and_did_links(bluesky_fake, make_config, secrets) -> None:
    did = did_for("weg.bsky.social")
    post = bluesky_fake.add_post(
        "weg.bsky.social",
        "Open dag op het Ley College",
        NOW - timedelta(minutes=5),
        embed=gallery_view(did, ["leerlingen in de aula", ""]),
        author_handle="handle.invalid",
    )
    cfg = bsky_cfg(make_config, bluesky_fake)
    cycle(cfg, secrets)
    ((url, author, has_media, media),) = mentions(cfg, "url, author, has_media, media")
    rkey = post["uri"].rsplit("/", 1)[-1]
    assert url == f"https://bsky.app/profile/{did}/post/{rkey}" and author == did
    assert has_media is True
    assert [(m["type"], m["alt"]) for m in json.loads(media)] == [("image", "leerlingen in de aula"), ("image", "")]


def test_bluesky_dropped_connection_is_retried_in_the_connector(bluesky_fake, make_config, secrets) -> None:
    bluesky_fake.add_post("a.bsky.social", "Open dag op het Ley College", NOW - timedelta(minutes=5))
    bluesky_fake.fail_next("app.bsky.feed.searchPosts", drop=True)
    cfg = bsky_cfg(make_config, bluesky_fake)
    cycle(cfg, secrets)
    assert len(mentions(cfg)) == 1
    assert run_rows(cfg)[0][0] == "ok"
    assert len(bluesky_fake.requests_to("searchPosts")) == 2


def test_bluesky_persistent_drop_fails_typed_without_the_login_status(bluesky_fake, make_config, secrets) -> None:
    bluesky_fake.fail_next("app.bsky.feed.searchPosts", drop=True, count=3)
    (t,) = bsky.targets(bsky_cfg(make_config, bluesky_fake, retries=2))
    res = bsky.fetch(t, {}, secrets)
    assert res.status == "failed" and res.error_kind is ErrorKind.NETWORK and res.retryable
    assert res.http_status is None  # not the 200 of the login
    assert "RemoteProtocolError" in res.error
    assert len(bluesky_fake.requests_to("searchPosts")) == 3  # 1 + retries, one layer only


# --- Mastodon ---------------------------------------------------------------------------------------------


def test_mastodon_school_only_in_alt_text_card_or_quote(mastodon_fakes, make_config, secrets) -> None:
    fake = mastodon_fakes("mastodon.nl")
    quoted = fake.add_status("ouder", "<p>Trots op het Ley College</p>", NOW - timedelta(hours=1))
    alt = fake.add_status(
        "a", f"<p>Druk! {TAG}</p>", NOW - timedelta(minutes=30), tags=["opendag"], media=["De aula van Ley College"]
    )
    card = fake.add_status(
        "b",
        f"<p>Lees dit {TAG}</p>",
        NOW - timedelta(minutes=20),
        tags=["opendag"],
        card_url="https://n.example/od",
        card_title="Open dag",
        card_description="Het Ley College ontving 800 bezoekers",
    )
    quote = fake.add_status("c", f"<p>Ja! {TAG}</p>", NOW - timedelta(minutes=10), tags=["opendag"], quote_of=quoted)
    fake.add_status("d", f"<p>Niets over een school {TAG}</p>", NOW - timedelta(minutes=5), tags=["opendag"])
    cfg = masto_cfg(make_config, fake)
    cycle(cfg, secrets)
    got = {r[0]: (r[1], r[2]) for r in mentions(cfg)}
    assert set(got) == {alt["uri"], card["uri"], quote["uri"]}
    assert got[alt["uri"]][0].endswith("[gevonden in alt-tekst van een afbeelding] De aula van Ley College")
    assert got[card["uri"]][0].endswith("[gevonden in linkvoorbeeld] Open dag\nHet Ley College ontving 800 bezoekers")
    assert got[quote["uri"]][0].endswith("[gevonden in geciteerd bericht] @ouder@mastodon.nl: Trots op het Ley College")
    assert all(v[1] == ["ley-college"] for v in got.values())


def test_mastodon_short_page_is_not_the_end(mastodon_fakes, make_config, secrets) -> None:
    fake = mastodon_fakes("mastodon.nl")
    statuses = [
        fake.add_status(
            f"u{i}", f"<p>Ley College open dag {i} {TAG}</p>", NOW - timedelta(minutes=60 - i), tags=["opendag"]
        )
        for i in range(7)
    ]
    fake.filtered = {statuses[1]["id"], statuses[2]["id"]}  # the first page (3) arrives with 1 status
    cfg = masto_cfg(make_config, fake)
    cycle(cfg, secrets)
    kept = {s["uri"] for i, s in enumerate(statuses) if i not in (1, 2)}
    assert {r[0] for r in mentions(cfg)} == kept
    assert run_rows(cfg)[0][0] == "ok"


def test_mastodon_no_instance_probe(mastodon_fakes, make_config, secrets) -> None:
    fake = mastodon_fakes("mastodon.nl")
    fake.add_status("u", f"<p>Ley College {TAG}</p>", NOW - timedelta(minutes=5), tags=["opendag"])
    fake.fail_next("/api/v2/instance", 200, delay=4)  # a slow probe would add 4 s
    cfg = masto_cfg(make_config, fake)
    t0 = time.monotonic()
    cycle(cfg, secrets)
    assert time.monotonic() - t0 < 4
    assert fake.requests_to("/api/v2/instance") == [] and fake.requests_to("/api/v1/instance") == []
    assert len(mentions(cfg)) == 1


def test_mastodon_a_404_parent_does_not_stop_later_lookups(mastodon_fakes, make_config, secrets) -> None:
    fake = mastodon_fakes("mastodon.nl")
    gone = fake.add_status("x", "<p>weg</p>", NOW - timedelta(hours=3))
    there = fake.add_status("y", "<p>blijft</p>", NOW - timedelta(hours=2))
    fake.add_status(
        "a", f"<p>Ley College 1 {TAG}</p>", NOW - timedelta(minutes=20), tags=["opendag"], in_reply_to_id=gone["id"]
    )
    fake.add_status(
        "b", f"<p>Ley College 2 {TAG}</p>", NOW - timedelta(minutes=10), tags=["opendag"], in_reply_to_id=there["id"]
    )
    fake.delete_status(gone["id"])
    cfg = masto_cfg(make_config, fake)
    cycle(cfg, secrets)
    replies = {text.split("\n")[0]: parent for text, parent in mentions(cfg, "text, reply_to")}
    assert replies["Ley College 2 #opendag"] == there["uri"]  # looked up after the 404
    assert replies["Ley College 1 #opendag"] == f"{fake.url}/api/v1/statuses/{gone['id']}"


def test_mastodon_timeout_is_typed(mastodon_fakes, make_config, secrets) -> None:
    fake = mastodon_fakes("mastodon.nl")
    fake.fail_next("/api/v1/timelines/tag/", 200, delay=3, count=2)
    cfg = masto_cfg(make_config, fake, timeout_s=1, retries=1)
    res = masto.fetch(masto.targets(cfg)[0], {}, secrets)
    assert res.status == "failed" and res.error_kind is ErrorKind.TIMEOUT and res.retryable
    assert len(fake.requests_to("/api/v1/timelines/tag/")) == 2
