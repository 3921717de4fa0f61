"""The Mastodon connector against fake instances, through the real Mastodon.py."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import connectors.mastodon as masto
from connectors.base import Target
from fakes.base import MALFORMED, Reply

MASTO_TOKEN = "masto-token-0123456789"  # as in conftest.py
NOW = datetime.now(timezone.utc).replace(microsecond=0)
TAG_HTML = (
    '<p>{text} <a href="https://{domain}/tags/leycollege" class="mention hashtag" rel="tag">'
    "#<span>LeyCollege</span></a></p>"
)


def tag_target(fake, tag="leycollege", **kw) -> Target:
    params = {
        "api_base_url": fake.url,
        "access_token_env": None,
        "max_pages": 5,
        "page_size": 40,
        "timeout_s": 5.0,
        "lookback_days": 7,
        "mastodon_version": "4.3.0",
        "kind": "tag",
        "tag": tag,
    }
    params.update(kw)
    return Target("mastodon", f"{fake.url}#{tag}", params)


def search_target(fake, query="Ley College", **kw) -> Target:
    params = {
        "api_base_url": fake.url,
        "access_token_env": "MASTO_TOKEN",
        "max_pages": 5,
        "page_size": 40,
        "timeout_s": 5.0,
        "lookback_days": 7,
        "mastodon_version": "4.3.0",
        "kind": "search",
        "query": query,
    }
    params.update(kw)
    return Target("mastodon", f"{fake.url}?q={query}", params)


def add_tagged(fake, n, minutes_ago=60):
    return [
        fake.add_status(
            f"ouder_{i}",
            TAG_HTML.format(text=f"Bericht {i} over het Ley College", domain=fake.domain),
            NOW - timedelta(minutes=minutes_ago - i),
            tags=["leycollege"],
        )
        for i in range(n)
    ]


def timeline_calls(fake):
    return fake.requests_to("/api/v1/timelines/tag/")


# --- targets ---------------------------------------------------------------------------------


def test_targets_per_hashtag_and_search_only_with_token(make_config):
    cfg = make_config(
        sources={
            "mastodon": [
                {"api_base_url": "https://mastodon.nl", "hashtags": ["#LeyCollege", "leycollege", "leiderdorp"]},
                {
                    "api_base_url": "https://social.example",
                    "hashtags": ["onderwijs"],
                    "access_token_env": "MASTO_TOKEN",
                },
            ]
        }
    )
    keys = [t.key for t in masto.targets(cfg)]
    aliases = [a for s in cfg.schools for a in s.aliases]
    assert keys == (
        ["mastodon.nl#LeyCollege", "mastodon.nl#leiderdorp", "social.example#onderwijs"]
        + [f"social.example?q={a}" for a in aliases]
    )


# --- hashtag timelines: paging, cap, watermark -------------------------------------------------


def test_tag_timeline_walks_forward_with_page_cap_and_resumes(mastodon_fakes, secrets):
    fake = mastodon_fakes("mastodon.nl")
    statuses = add_tagged(fake, 7)
    t = tag_target(fake, page_size=3, max_pages=2)

    first = masto.fetch(t, {}, secrets)
    assert first.status == "ok", first.error
    assert sorted(m.source_id for m in first.mentions) == sorted(s["uri"] for s in statuses[:6])  # oldest first
    calls = timeline_calls(fake)
    assert len(calls) == 2
    lookback = int(calls[0].param("min_id"))  # the first cycle starts a week back
    assert lookback < int(statuses[0]["id"])
    assert calls[1].param("min_id") == statuses[2]["id"]  # followed the Link rel="prev"
    assert first.state == {"min_id": statuses[5]["id"]}

    fake.clear_log()
    second = masto.fetch(t, first.state, secrets)
    assert [m.source_id for m in second.mentions] == [statuses[6]["uri"]]
    calls = timeline_calls(fake)  # a short page is not the end: the walk follows Link until an empty page
    assert [c.param("min_id") for c in calls] == [statuses[5]["id"], statuses[6]["id"]]
    assert second.state == {"min_id": statuses[6]["id"]}

    fake.clear_log()
    third = masto.fetch(t, second.state, secrets)
    assert third.status == "ok" and third.mentions == [] and third.state == second.state
    assert [c.param("min_id") for c in timeline_calls(fake)] == [statuses[6]["id"]]


def test_second_cycle_asks_only_for_what_is_new(mastodon_fakes, secrets):
    fake = mastodon_fakes("mastodon.nl")
    add_tagged(fake, 3)
    t = tag_target(fake)
    first = masto.fetch(t, {}, secrets)
    assert len(first.mentions) == 3
    new = [
        fake.add_status(
            "nieuw",
            TAG_HTML.format(text=f"Open dag {i}", domain=fake.domain),
            NOW + timedelta(minutes=i),
            tags=["LeyCollege"],
        )
        for i in range(2)
    ]
    fake.clear_log()
    second = masto.fetch(t, first.state, secrets)
    assert sorted(m.source_id for m in second.mentions) == sorted(s["uri"] for s in new)
    calls = timeline_calls(fake)  # the new page, then the empty page above it ends the walk
    assert [c.param("min_id") for c in calls] == [first.state["min_id"], second.state["min_id"]]
    assert second.requests == 2  # the two timeline pages; no /api/v2/instance probe


def test_one_status_via_two_instances_and_two_tags_is_one_mention(mastodon_fakes, secrets):
    a, b = mastodon_fakes("mastodon.nl"), mastodon_fakes("social.rijnland.example")
    html = (
        '<p>Trots op <a href="https://mastodon.nl/tags/leycollege" class="mention hashtag" rel="tag">'
        '#<span>LeyCollege</span></a> <a href="https://mastodon.nl/tags/leiderdorp" class="mention hashtag" '
        'rel="tag">#<span>Leiderdorp</span></a></p>'
    )
    orig = a.add_status("juf_anna", html, NOW, tags=["leycollege", "leiderdorp"])
    copy = b.add_status(
        "juf_anna@mastodon.nl",
        html,
        NOW + timedelta(seconds=3),
        tags=["leycollege", "leiderdorp"],
        uri=orig["uri"],
        url=orig["url"],
    )
    assert orig["id"] != copy["id"]
    results = [masto.fetch(tag_target(f, tag), {}, secrets) for f in (a, b) for tag in ("leycollege", "leiderdorp")]
    ids = {m.mention_id for r in results for m in r.mentions}
    assert len(ids) == 1 and all(len(r.mentions) == 1 for r in results)
    assert {m.author for r in results for m in r.mentions} == {"juf_anna@mastodon.nl"}
    assert {m.url for r in results for m in r.mentions} == {orig["url"]}


def test_boost_is_the_original_once(mastodon_fakes, secrets):
    fake = mastodon_fakes("mastodon.nl")
    orig = fake.add_status(
        "juf_anna",
        TAG_HTML.format(text="Schoolreis!", domain=fake.domain),
        NOW - timedelta(hours=2),
        tags=["leycollege"],
        favourites=3,
    )
    boost = fake.add_boost("ouder_piet", orig, NOW - timedelta(hours=1))
    res = masto.fetch(tag_target(fake), {}, secrets)
    (m,) = res.mentions
    assert m.source_id == orig["uri"] and m.author == "juf_anna@mastodon.nl"
    assert m.text == "Schoolreis! #LeyCollege" and m.metrics["favourites"] == 3
    assert res.state == {"min_id": boost["id"]}

    # a later boost of an older status: the original, not the boost
    boost2 = fake.add_boost("ouder_kees", orig, NOW)
    res2 = masto.fetch(tag_target(fake), res.state, secrets)
    (m2,) = res2.mentions
    assert m2.source_id == orig["uri"] and m2.mention_id == m.mention_id
    assert json.loads(m2.raw)["id"] == boost2["id"]  # raw is the item as fetched
    assert res2.state == {"min_id": boost2["id"]}


# --- the status itself ---------------------------------------------------------------------------


def test_html_and_emoji_become_plain_text(mastodon_fakes, secrets):
    fake = mastodon_fakes("mastodon.nl")
    html = (
        '<p>Wat een dag op het <a href="https://mastodon.nl/tags/leycollege" class="mention hashtag" rel="tag">'
        "#<span>LeyCollege</span></a> 🎉🏫 &amp; &quot;feest&quot; &gt; niks!<br>Tweede regel</p>"
        '<p>Foto&#39;s: <a href="https://www.leycollege.nl/nieuws/open-dag" target="_blank" '
        'rel="nofollow noopener noreferrer"><span class="invisible">https://www.</span>'
        '<span class="ellipsis">leycollege.nl/nieuws/open</span><span class="invisible">-dag</span></a> '
        'cc <span class="h-card"><a href="https://mastodon.nl/@rector" class="u-url mention">@<span>rector'
        "</span></a></span></p>"
    )
    s = fake.add_status(
        "juf_anna",
        html,
        NOW,
        tags=["leycollege"],
        media=["klas op het schoolplein"],
        language="nl",
        replies=1,
        reblogs=2,
        favourites=5,
        card_url="https://www.leycollege.nl/nieuws/open-dag",
    )
    (m,) = masto.fetch(tag_target(fake), {}, secrets).mentions
    assert m.text == (
        'Wat een dag op het #LeyCollege 🎉🏫 & "feest" > niks!\nTweede regel\n\n'
        "Foto's: https://www.leycollege.nl/nieuws/open-dag cc @rector"
    )
    assert m.links == ["https://www.leycollege.nl/nieuws/open-dag"]
    assert m.source == "mastodon" and m.source_id == s["uri"] and m.url == s["url"]
    assert m.author == "juf_anna@mastodon.nl" and m.author_id == "https://mastodon.nl/users/juf_anna"
    assert m.published_at == NOW and m.lang == "nl"
    assert m.has_media and m.media[0]["alt"] == "klas op het schoolplein"
    assert m.metrics == {"replies": 1, "reblogs": 2, "favourites": 5}
    assert json.loads(m.raw) == s and m.reply_to is None


def test_reply_to_is_the_parents_uri(mastodon_fakes, secrets):
    fake = mastodon_fakes("mastodon.nl")
    old_parent = fake.add_status("school", "<p>Nieuw rooster</p>", NOW - timedelta(days=30))  # not in the timeline
    parent = fake.add_status(
        "school", TAG_HTML.format(text="Rooster", domain=fake.domain), NOW - timedelta(minutes=9), tags=["leycollege"]
    )
    r1 = fake.add_status(
        "ouder",
        TAG_HTML.format(text="Slecht plan", domain=fake.domain),
        NOW - timedelta(minutes=5),
        tags=["leycollege"],
        in_reply_to_id=parent["id"],
    )
    r2 = fake.add_status(
        "ouder2",
        TAG_HTML.format(text="Eens", domain=fake.domain),
        NOW,
        tags=["leycollege"],
        in_reply_to_id=old_parent["id"],
    )
    res = masto.fetch(tag_target(fake), {}, secrets)
    by_uri = {m.source_id: m for m in res.mentions}
    assert by_uri[r1["uri"]].reply_to == parent["uri"]  # seen in the same fetch: no lookup
    assert by_uri[r2["uri"]].reply_to == old_parent["uri"]  # looked up once
    assert [r.path for r in fake.requests_to("/api/v1/statuses/")] == [f"/api/v1/statuses/{old_parent['id']}"]


# --- keyword search ----------------------------------------------------------------------------


def test_search_needs_a_token_and_pages_by_offset_with_min_id(mastodon_fakes, secrets, tmp_path):
    from core.secrets import Secrets

    fake = mastodon_fakes("mastodon.nl")
    statuses = [
        fake.add_status(f"ouder_{i}", f"<p>Het Ley College is {i}x genoemd</p>", NOW - timedelta(minutes=50 - i))
        for i in range(5)
    ]
    fake.add_status("iemand", "<p>Iets anders</p>", NOW)
    t = search_target(fake, page_size=2, max_pages=2)

    no_token = masto.fetch(t, {}, Secrets(environ={}, secrets_dir=tmp_path / "s"))
    assert no_token.status == "failed" and "MASTO_TOKEN" in no_token.error and no_token.requests == 0

    first = masto.fetch(t, {}, secrets)
    assert first.status == "ok", first.error
    assert [m.source_id for m in first.mentions] == [s["uri"] for s in statuses[::-1][:4]]  # newest first
    calls = fake.requests_to("/api/v2/search")
    assert [c.param("offset") for c in calls] == [None, "2"]
    assert all(c.param("type") == "statuses" and c.param("resolve") is None for c in calls)  # resolve=False
    assert all(c.headers["authorization"] == f"Bearer {MASTO_TOKEN}" for c in calls)
    assert first.state["offset"] == 4 and first.state["pending"] == statuses[4]["id"]

    fake.clear_log()
    second = masto.fetch(t, first.state, secrets)  # finishes the capped walk
    assert [m.source_id for m in second.mentions] == [statuses[0]["uri"]]
    (call,) = fake.requests_to("/api/v2/search")
    assert call.param("offset") == "4" and call.param("min_id") == first.state["min_id"]
    assert second.state == {"min_id": statuses[4]["id"]}

    new = fake.add_status("nieuw", "<p>Ley College wint prijs</p>", NOW + timedelta(minutes=1))
    fake.clear_log()
    third = masto.fetch(t, second.state, secrets)
    assert [m.source_id for m in third.mentions] == [new["uri"]]
    (call,) = fake.requests_to("/api/v2/search")
    assert call.param("min_id") == statuses[4]["id"] and call.param("offset") is None


# --- failures ----------------------------------------------------------------------------------


def test_invalid_token_is_one_clear_line(mastodon_fakes, tmp_path):
    from core.secrets import Secrets

    fake = mastodon_fakes("mastodon.nl")
    wrong = Secrets(environ={"MASTO_TOKEN": "revoked-token-xyz"}, secrets_dir=tmp_path / "s")
    res = masto.fetch(search_target(fake), {"min_id": "1"}, wrong)
    assert res.status == "failed" and res.http_status == 401
    assert "check the access token in MASTO_TOKEN" in res.error and "revoked-token-xyz" not in res.error
    assert "\n" not in res.error and res.state == {"min_id": "1"}


def test_429_does_not_sleep_and_keeps_the_watermark(mastodon_fakes, secrets):
    fake = mastodon_fakes("mastodon.nl")
    add_tagged(fake, 5)
    t = tag_target(fake, page_size=2)
    orig, calls = fake.handle, {"n": 0}

    def second_page_429(req):
        if "/timelines/tag/" in req.path:
            calls["n"] += 1
            if calls["n"] == 2:
                reset = (datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat()
                return Reply(
                    429,
                    {"error": "Too many requests"},
                    {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
                )
        return orig(req)

    fake.handle = second_page_429
    started = time.monotonic()
    res = masto.fetch(t, {"min_id": "1"}, secrets)
    assert time.monotonic() - started < 3  # Mastodon.py did not wait for the reset
    assert res.status == "rate_limited" and "429" in res.error and "next cycle" in res.error
    assert len(res.mentions) == 2  # the first page is kept
    assert res.state == {"min_id": "1"} and res.http_status == 429


def test_5xx_malformed_json_and_timeout(mastodon_fakes, secrets):
    fake = mastodon_fakes("mastodon.nl")
    add_tagged(fake, 1)
    fake.fail_next("/timelines/tag/", 503, body={"error": "Service Unavailable"})
    res = masto.fetch(tag_target(fake), {}, secrets)
    assert res.status == "failed" and res.error.startswith("503") and "#leycollege timeline" in res.error

    fake.fail_next("/timelines/tag/", 200, body=MALFORMED)
    res = masto.fetch(tag_target(fake), {}, secrets)
    assert res.status == "failed" and "malformed JSON" in res.error

    fake.fail_next("/timelines/tag/", 200, body={"error": "not a list"})
    res = masto.fetch(tag_target(fake), {}, secrets)
    assert res.status == "failed" and "malformed JSON" in res.error

    fake.fail_next("/timelines/tag/", 200, body=[], delay=1.0)
    res = masto.fetch(tag_target(fake, timeout_s=0.2), {}, secrets)
    assert res.status == "failed" and "did not answer within 0.2s" in res.error


def test_failing_instance_endpoint_does_not_recurse(mastodon_fakes, secrets):
    fake = mastodon_fakes("mastodon.nl")
    add_tagged(fake, 2)
    fake.fail_next("/api/v2/instance", 500, count=5)
    fake.fail_next("/api/v1/instance", 500, count=5)
    res = masto.fetch(tag_target(fake), {}, secrets)
    assert res.status == "ok" and len(res.mentions) == 2
    assert len(fake.requests_to("/instance")) <= 1
