"""The Bluesky connector against the fake XRPC server, through atproto's real Client."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import connectors.bluesky as bsky
from connectors.base import Target
from fakes.base import MALFORMED

BSKY_HANDLE = "edumon.bsky.social"  # as in conftest.py
BSKY_PASSWORD = "abcd-efgh-ijkl-mnop"

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def target(fake, query="Ley College", **kw) -> Target:
    params = {
        "handle": BSKY_HANDLE,
        "base_url": fake.url,
        "app_password_env": "BSKY_APP_PASSWORD",
        "query": query,
        "max_pages": 5,
        "page_size": 100,
        "timeout_s": 5.0,
        "lookback_days": 7,
    }
    params.update(kw)
    return Target("bluesky", f"{BSKY_HANDLE}|{query}", params)


def add_posts(fake, n, start_minutes_ago=60, text="Nieuws over het Ley College nr {i}"):
    return [
        fake.add_post(f"ouder{i}.bsky.social", text.format(i=i), NOW - timedelta(minutes=start_minutes_ago - i))
        for i in range(n)
    ]


def searches(fake):
    return fake.requests_to("app.bsky.feed.searchPosts")


# --- targets ---------------------------------------------------------------------------------


def test_targets_default_to_school_aliases(make_config):
    cfg = make_config(sources={"bluesky": [{"handle": BSKY_HANDLE, "app_password_env": "BSKY_APP_PASSWORD"}]})
    keys = [t.key for t in bsky.targets(cfg)]
    assert keys == [f"{BSKY_HANDLE}|{a}" for s in cfg.schools for a in s.aliases]
    cfg = make_config(
        sources={
            "bluesky": [{"handle": BSKY_HANDLE, "app_password_env": "X", "queries": ["a", "A", "b"], "page_size": 500}]
        }
    )
    ts = bsky.targets(cfg)
    assert [t.params["query"] for t in ts] == ["a", "b"]
    assert ts[0].params["page_size"] == 100  # searchPosts' maximum


# --- paging, cap, watermark ------------------------------------------------------------------


def test_paging_follows_cursor_and_stops_at_page_cap_then_resumes(bluesky_fake, secrets):
    posts = add_posts(bluesky_fake, 7)
    t = target(bluesky_fake, page_size=3, max_pages=2)

    first = bsky.fetch(t, {}, secrets)
    assert first.status == "ok", first.error
    assert len(first.mentions) == 6
    calls = searches(bluesky_fake)
    assert [c.param("cursor") for c in calls] == [None, "3"]
    assert all(c.param("limit") == "3" and c.param("sort") == "latest" for c in calls)
    assert calls[0].param("q") == '"Ley College"'  # a phrase
    assert first.state["cursor"] == "6"  # the cap stopped the walk
    first_since = calls[0].param("since")  # the first cycle looks back 7 days
    assert datetime.fromisoformat(first_since.replace("Z", "+00:00")) < NOW - timedelta(days=6)

    bluesky_fake.clear_log()
    second = bsky.fetch(t, first.state, secrets)
    assert second.status == "ok"
    assert [m.source_id for m in second.mentions] == [posts[0]["uri"]]  # the oldest, left over
    (call,) = searches(bluesky_fake)
    assert call.param("cursor") == "6" and call.param("since") == first_since
    assert "cursor" not in second.state
    assert second.state["since"] == posts[-1]["record"]["createdAt"]  # the newest post's sortAt
    assert second.state["boundary"] == [posts[-1]["uri"]]

    bluesky_fake.clear_log()
    third = bsky.fetch(t, second.state, secrets)
    assert third.status == "ok" and third.mentions == []
    (call,) = searches(bluesky_fake)
    assert call.param("since") == second.state["since"] and call.param("cursor") is None


def test_second_cycle_asks_only_for_what_is_new(bluesky_fake, secrets):
    add_posts(bluesky_fake, 3)
    t = target(bluesky_fake)
    first = bsky.fetch(t, {}, secrets)
    assert len(first.mentions) == 3
    newest = max(m.published_at for m in first.mentions)

    new = [
        bluesky_fake.add_post("nieuw.bsky.social", f"Ley College open dag {i}", NOW + timedelta(minutes=i))
        for i in range(2)
    ]
    bluesky_fake.clear_log()
    second = bsky.fetch(t, first.state, secrets)
    assert second.status == "ok"
    assert sorted(m.source_id for m in second.mentions) == sorted(p["uri"] for p in new)
    (call,) = searches(bluesky_fake)
    since = datetime.fromisoformat(call.param("since").replace("Z", "+00:00"))
    assert since == newest  # asked from the watermark on, not from the start
    assert bluesky_fake.requests_to("createSession") == []  # and with the stored session


def test_one_post_found_by_two_queries_is_one_mention(bluesky_fake, secrets):
    (post,) = [bluesky_fake.add_post("ouder.bsky.social", "Het Ley College, ook wel LeyCollege genoemd", NOW)]
    a = bsky.fetch(target(bluesky_fake, "Ley College"), {}, secrets)
    b = bsky.fetch(target(bluesky_fake, "LeyCollege"), {}, secrets)
    assert len(a.mentions) == len(b.mentions) == 1
    assert a.mentions[0].mention_id == b.mentions[0].mention_id
    assert a.mentions[0].source_id == post["uri"]
    assert a.mentions[0].target != b.mentions[0].target


# --- the post itself ---------------------------------------------------------------------------


def test_post_fields(bluesky_fake, secrets):
    parent = bluesky_fake.add_post("school.bsky.social", "Ley College: rooster aangepast", NOW - timedelta(hours=1))
    post = bluesky_fake.add_post(
        "ouder.bsky.social",
        "Wéér uitval bij het Ley College 😡🙄 lees dit:",
        NOW,
        links=["https://www.leidschdagblad.nl/leiderdorp/ley-college"],
        images=["foto van het rooster"],
        reply_to=parent["uri"],
        likes=4,
        reposts=2,
        replies=1,
        langs=["nl", "en"],
    )
    res = bsky.fetch(target(bluesky_fake), {}, secrets)
    m = next(m for m in res.mentions if m.source_id == post["uri"])
    rkey = post["uri"].rsplit("/", 1)[-1]
    assert m.source == "bluesky"
    assert (
        m.text == "Wéér uitval bij het Ley College 😡🙄 lees dit: https://www.leidschdagblad.nl/leiderdorp/ley-college"
    )
    assert m.url == f"https://bsky.app/profile/ouder.bsky.social/post/{rkey}"
    assert m.author == "ouder.bsky.social" and m.author_id.startswith("did:plc:")
    assert m.published_at == NOW and m.published_at.tzinfo is not None
    assert m.lang == "nl"
    assert m.links == ["https://www.leidschdagblad.nl/leiderdorp/ley-college"]
    assert m.has_media and m.media[0]["type"] == "image" and m.media[0]["alt"] == "foto van het rooster"
    assert m.metrics == {"replies": 1, "reposts": 2, "likes": 4, "quotes": 0}
    assert m.reply_to == parent["uri"]
    assert json.loads(m.raw) == post
    assert m.school_ids == [] and m.sentiment is None
    assert m.target == f"{BSKY_HANDLE}|Ley College"


# --- sessions ----------------------------------------------------------------------------------


def test_session_is_reused_between_cycles_and_targets(bluesky_fake, secrets):
    add_posts(bluesky_fake, 2)
    bsky.fetch(target(bluesky_fake, "Ley College"), {}, secrets)
    bsky.fetch(target(bluesky_fake, "LeyCollege"), {}, secrets)
    bsky.fetch(target(bluesky_fake, "Ley College"), {}, secrets)
    assert len(bluesky_fake.requests_to("createSession")) == 1
    assert len(searches(bluesky_fake)) == 3
    saved = list(secrets.dir.iterdir())
    assert len(saved) == 1 and oct(saved[0].stat().st_mode & 0o777) == "0o600"
    assert BSKY_PASSWORD not in saved[0].read_text()


def test_dead_stored_session_logs_in_again(bluesky_fake, secrets):
    add_posts(bluesky_fake, 1)
    t = target(bluesky_fake)
    assert bsky.fetch(t, {}, secrets).status == "ok"
    bluesky_fake._access.clear()  # the server forgot the token (revoked / server restart)
    res = bsky.fetch(t, {}, secrets)
    assert res.status == "ok", res.error
    assert len(res.mentions) == 1
    assert len(bluesky_fake.requests_to("createSession")) == 2


def test_expiring_session_is_refreshed_and_saved(secrets):
    from fakes import FakeBluesky

    with FakeBluesky(accounts={BSKY_HANDLE: BSKY_PASSWORD}, access_ttl_s=60) as fake:  # within atproto's 15-min margin
        fake.add_post("ouder.bsky.social", "Ley College", NOW)
        t = target(fake)
        assert bsky.fetch(t, {}, secrets).status == "ok"
        before = next(secrets.dir.iterdir()).read_text()
        res = bsky.fetch(t, {}, secrets)
        assert res.status == "ok", res.error
        assert len(fake.requests_to("createSession")) == 1
        assert len(fake.requests_to("refreshSession")) >= 1
        assert next(secrets.dir.iterdir()).read_text() != before  # the refreshed session was kept


# --- failures ----------------------------------------------------------------------------------


def test_wrong_app_password_is_one_clear_line(bluesky_fake, tmp_path):
    from core.secrets import Secrets

    wrong = Secrets(environ={"BSKY_APP_PASSWORD": "wrong-pass-9999"}, secrets_dir=tmp_path / "s")
    res = bsky.fetch(target(bluesky_fake), {"since": "2025-01-01T00:00:00.000Z"}, wrong)
    assert res.status == "failed"
    assert f"check the app password for {BSKY_HANDLE}" in res.error and "\n" not in res.error
    assert "wrong-pass-9999" not in res.error
    assert res.http_status == 401 and res.requests == 1
    assert res.state == {"since": "2025-01-01T00:00:00.000Z"}


def test_missing_app_password(bluesky_fake, tmp_path):
    from core.secrets import Secrets

    res = bsky.fetch(target(bluesky_fake), {}, Secrets(environ={}, secrets_dir=tmp_path / "s"))
    assert res.status == "failed" and "BSKY_APP_PASSWORD" in res.error and res.requests == 0


def test_403_on_search(bluesky_fake, secrets):
    bluesky_fake.fail_next("searchPosts", 403, body={"error": "Forbidden", "message": "app password lacks scope"})
    res = bsky.fetch(target(bluesky_fake), {}, secrets)
    assert res.status == "failed" and f"check the app password for {BSKY_HANDLE}" in res.error
    assert res.http_status == 403


def test_429_keeps_the_watermark_and_what_was_fetched(bluesky_fake, secrets):
    add_posts(bluesky_fake, 5)
    t = target(bluesky_fake, page_size=2)
    old = {"since": (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"), "boundary": []}
    bsky.fetch(t, old, secrets)  # logs in; the stored session is used below
    bluesky_fake.clear_log()
    # the second page is refused
    orig = bluesky_fake.handle
    calls = {"n": 0}

    def second_page_429(req):
        if "searchPosts" in req.path:
            calls["n"] += 1
            if calls["n"] == 2:
                from fakes.base import Reply

                return Reply(
                    429,
                    {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                    {"ratelimit-limit": "3000", "ratelimit-remaining": "0", "ratelimit-reset": "1893456000"},
                )
        return orig(req)

    bluesky_fake.handle = second_page_429
    res = bsky.fetch(t, old, secrets)
    assert res.status == "rate_limited"
    assert "429" in res.error and "next cycle" in res.error
    assert len(res.mentions) == 2  # the first page is kept
    assert res.state == old  # the watermark is not moved
    assert res.http_status == 429


def test_5xx_is_a_readable_failure(bluesky_fake, secrets):
    bluesky_fake.fail_next("searchPosts", 502, body=b"<html>Bad Gateway</html>", headers={"Content-Type": "text/html"})
    res = bsky.fetch(target(bluesky_fake), {}, secrets)
    assert res.status == "failed" and "502" in res.error and "127.0.0.1" in res.error
    bluesky_fake.fail_next("searchPosts", 500)
    res = bsky.fetch(target(bluesky_fake), {}, secrets)
    assert res.status == "failed" and res.error.startswith("500 InternalServerError")


def test_malformed_json(bluesky_fake, secrets):
    bluesky_fake.fail_next("searchPosts", 200, body=MALFORMED)
    res = bsky.fetch(target(bluesky_fake), {}, secrets)
    assert res.status == "failed" and "malformed JSON" in res.error
    bluesky_fake.fail_next("searchPosts", 200, body={"posts": [{"uri": "at://x"}]})  # JSON, wrong shape
    res = bsky.fetch(target(bluesky_fake), {}, secrets)
    assert res.status == "failed" and "malformed" in res.error


def test_timeout(bluesky_fake, secrets):
    bluesky_fake.fail_next("searchPosts", 200, body={"posts": []}, delay=1.0)
    res = bsky.fetch(target(bluesky_fake, timeout_s=0.2), {}, secrets)
    assert res.status == "failed" and "did not answer within 0.2s" in res.error


def test_unreachable_server(secrets):
    t = Target(
        "bluesky",
        "x",
        {
            "handle": BSKY_HANDLE,
            "base_url": "http://127.0.0.1:9",
            "query": "Ley",
            "app_password_env": "BSKY_APP_PASSWORD",
            "max_pages": 1,
            "page_size": 10,
            "timeout_s": 1.0,
            "lookback_days": 1,
        },
    )
    res = bsky.fetch(t, {}, secrets)
    assert res.status == "failed" and "network error" in res.error


def test_a_stale_cursor_falls_back_to_the_watermark(bluesky_fake, secrets):
    posts = add_posts(bluesky_fake, 3)
    since = "2020-01-01T00:00:00.000Z"
    res = bsky.fetch(
        target(bluesky_fake),
        {"since": since, "boundary": [], "cursor": "not-a-cursor", "pending": since, "pending_boundary": []},
        secrets,
    )
    assert res.status == "ok", res.error
    assert len(res.mentions) == 3
    assert [c.param("cursor") for c in searches(bluesky_fake)] == ["not-a-cursor", None]
    assert res.state == {"since": posts[-1]["record"]["createdAt"], "boundary": [posts[-1]["uri"]]}
