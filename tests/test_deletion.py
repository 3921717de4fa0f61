"""Deletion at the source, end to end: posts fetched by the real connectors from the fakes,
deleted there, looked up through atproto's Client and Mastodon.py, marked, then purged."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner

import connectors
from core.mention import Mention
from edumon.cli import main
from pipeline.deletion import check_deleted
from protocol.evidence import keep_evidence
from protocol.followups import create_followups, update_followup
from warehouse import Warehouse, upsert_mentions
from warehouse.retention import purge

BSKY_HANDLE = "edumon.bsky.social"  # as in conftest.py
NOW = datetime.now(timezone.utc).replace(microsecond=0)
TAG_HTML = '<p>{text} <a href="https://mastodon.nl/tags/leycollege" rel="tag">#<span>LeyCollege</span></a></p>'


def social_config(make_config, bluesky_fake=None, mastodon_fake=None, **retention):
    sources = {}
    if bluesky_fake is not None:
        sources["bluesky"] = [
            {
                "handle": BSKY_HANDLE,
                "app_password_env": "BSKY_APP_PASSWORD",
                "base_url": bluesky_fake.url,
                "queries": ["Ley College"],
                "timeout_s": 5,
            }
        ]
    if mastodon_fake is not None:
        sources["mastodon"] = [{"api_base_url": mastodon_fake.url, "hashtags": ["leycollege"], "timeout_s": 5}]
    return make_config(sources=sources, retention=retention)


def fetch_and_store(cfg, secrets) -> dict[str, Mention]:
    """One fetch of every target through the real connectors, stored: source_id -> Mention."""
    found: list[Mention] = []
    for t in connectors.all_targets(cfg):
        res = connectors.connector(t.source).fetch(t, {}, secrets)
        assert res.status == "ok", res.error
        found.extend(res.mentions)
    for m in found:
        m.school_ids = ["ley-college"]
    with Warehouse(cfg.warehouse.path).transaction() as con:
        upsert_mentions(con, found)
    return {m.source_id: m for m in found}


def add_bsky(fake, n: int, minutes_ago: int = 60) -> list[dict]:
    return [
        fake.add_post(
            f"ouder{i}.bsky.social", f"Bericht {i} over het Ley College", NOW - timedelta(minutes=minutes_ago - i)
        )
        for i in range(n)
    ]


def add_toots(fake, n: int, minutes_ago: int = 60) -> list[dict]:
    return [
        fake.add_status(
            f"ouder_{i}",
            TAG_HTML.format(text=f"Toot {i} over het Ley College"),
            NOW - timedelta(minutes=minutes_ago - i),
            tags=["leycollege"],
        )
        for i in range(n)
    ]


def marked(cfg) -> set[str]:
    return {
        r[0] for r in Warehouse(cfg.warehouse.path).query("SELECT source_id FROM mentions WHERE deleted_at IS NOT NULL")
    }


def stored(cfg) -> set[str]:
    return {r[0] for r in Warehouse(cfg.warehouse.path).query("SELECT source_id FROM mentions")}


def checks(cfg) -> dict[str, tuple[datetime, str]]:
    return {
        r[0]: (r[1], r[2])
        for r in Warehouse(cfg.warehouse.path).query(
            "SELECT m.source_id, c.checked_at, c.outcome FROM deletion_checks c JOIN mentions m USING (mention_id)"
        )
    }


def status_lookups(fake):
    return [r for r in fake.requests_to("/api/v1/statuses/") if r.method == "GET"]


def uris_asked(fake) -> list[list[str]]:
    out = []
    for r in fake.requests_to("app.bsky.feed.getPosts"):
        u = r.param("uris")
        out.append([u] if isinstance(u, str) else list(u))
    return out


# --- marked by the check, removed by the next purge --------------------------------------------


def test_deleted_post_and_status_are_marked_then_purged(bluesky_fake, mastodon_fakes, make_config, secrets):
    masto = mastodon_fakes("mastodon.nl")
    posts = add_bsky(bluesky_fake, 3)
    toots = add_toots(masto, 2)
    boost = masto.add_boost("fan_1", toots[1], NOW - timedelta(minutes=5))  # stored as the boosted status
    cfg = social_config(make_config, bluesky_fake, masto)
    assert set(fetch_and_store(cfg, secrets)) == {p["uri"] for p in posts} | {t["uri"] for t in toots}

    assert bluesky_fake.delete_post(posts[1]["uri"]) and masto.delete_status(toots[0]["id"])
    bluesky_fake.clear_log(), masto.clear_log()
    rep = check_deleted(cfg, secrets=secrets)
    assert (rep.checked, rep.gone, rep.marked, rep.unknown, rep.not_asked) == (5, 2, 2, 0, 0), rep.summary()
    assert marked(cfg) == {posts[1]["uri"], toots[0]["uri"]}
    # Bluesky: one getPosts for the three at-uris, with the stored session (no second login)
    assert sorted(uris_asked(bluesky_fake)[0]) == sorted(p["uri"] for p in posts) and len(uris_asked(bluesky_fake)) == 1
    assert bluesky_fake.requests_to("createSession") == []
    # Mastodon: each status by its id on the instance it came from; the boost by its original's id
    assert sorted(r.path.rsplit("/", 1)[1] for r in status_lookups(masto)) == sorted(t["id"] for t in toots)
    assert boost["id"] not in {r.path.rsplit("/", 1)[1] for r in status_lookups(masto)}
    assert all("authorization" not in r.headers for r in status_lookups(masto))  # public: no token configured
    outcomes = {sid: o for sid, (_, o) in checks(cfg).items()}
    assert outcomes == {
        posts[0]["uri"]: "present",
        posts[1]["uri"]: "gone",
        posts[2]["uri"]: "present",
        toots[0]["uri"]: "gone",
        toots[1]["uri"]: "present",
    }

    rep = purge(cfg)
    assert rep.deleted_at_source == 2 and rep.expired == 0 and rep.removed["deletion_checks"] == 2
    assert stored(cfg) == {posts[0]["uri"], posts[2]["uri"], toots[1]["uri"]}
    # a purged post the source still served would not come back; a second check finds nothing new
    rep = check_deleted(cfg, secrets=secrets)
    assert (rep.checked, rep.gone, rep.marked) == (3, 0, 0)


def test_server_errors_and_rate_limits_mark_nothing(bluesky_fake, mastodon_fakes, make_config, secrets):
    masto = mastodon_fakes("mastodon.nl")
    posts = add_bsky(bluesky_fake, 2)
    toots = add_toots(masto, 3)
    cfg = social_config(make_config, bluesky_fake, masto)
    fetch_and_store(cfg, secrets)
    bluesky_fake.delete_post(posts[0]["uri"])
    for t in toots:
        masto.delete_status(t["id"])
    bluesky_fake.clear_log(), masto.clear_log()

    bluesky_fake.fail_next("app.bsky.feed.getPosts", 503)
    masto.fail_next("/api/v1/statuses/", 429, body={"error": "Too many requests"})
    rep = check_deleted(cfg, secrets=secrets)
    assert marked(cfg) == set()
    assert rep.marked == 0 and rep.gone == 0
    assert rep.unknown == 2 and rep.not_asked == 3  # the Bluesky batch: could not tell; Mastodon: stopped
    assert len(status_lookups(masto)) == 1  # the 429 stopped that instance at once
    assert any("429" in e and "3 statuses wait for the next run" in e for e in rep.errors), rep.errors
    assert any("503" in e for e in rep.errors), rep.errors
    # asked-but-unknown is recorded (it rotates), not-asked is not (it goes first next run)
    assert {sid: o for sid, (_, o) in checks(cfg).items()} == {p["uri"]: "unknown" for p in posts}

    masto.clear_log()
    masto.fail_next("/api/v1/statuses/", 500)  # an instance error: that status unknown, stop
    rep = check_deleted(cfg, secrets=secrets, now=NOW + timedelta(hours=1))
    assert len(status_lookups(masto)) == 1
    assert marked(cfg) == {posts[0]["uri"]}  # Bluesky answered this time; Mastodon did not

    rep = check_deleted(cfg, secrets=secrets, now=NOW + timedelta(hours=2))  # the sources answer again
    assert marked(cfg) == {posts[0]["uri"]} | {t["uri"] for t in toots}, rep.summary()


def test_checks_are_capped_per_run_and_rotate(bluesky_fake, mastodon_fakes, make_config, secrets):
    masto = mastodon_fakes("mastodon.nl")
    posts = add_bsky(bluesky_fake, 30, minutes_ago=120)
    toots = add_toots(masto, 4)
    cfg = social_config(make_config, bluesky_fake, masto, deletion_checks_per_run=20)
    fetch_and_store(cfg, secrets)
    everything = {p["uri"] for p in posts} | {t["uri"] for t in toots}
    seen: list[set[str]] = []
    for night in range(3):
        bluesky_fake.clear_log(), masto.clear_log()
        rep = check_deleted(cfg, secrets=secrets, now=NOW + timedelta(days=night))
        assert rep.checked == 20 and rep.unknown == 0
        asked = {u for batch in uris_asked(bluesky_fake) for u in batch}
        asked |= {s["uri"] for s in toots if any(r.path.endswith("/" + s["id"]) for r in status_lookups(masto))}
        assert len(asked) == 20
        assert all(len(batch) <= 25 for batch in uris_asked(bluesky_fake))
        seen.append(asked)
    never_asked = everything - seen[0]
    assert len(never_asked) == 14 and never_asked <= seen[1]  # night 2: the 14 never asked first ...
    assert seen[1] - never_asked <= seen[0]  # ... then 6 asked the night before
    assert seen[0] | seen[1] == everything  # every post asked within two nights
    longest_ago = seen[0] - seen[1]
    assert len(longest_ago) == 14 and longest_ago <= seen[2]  # night 3: the ones asked longest ago
    assert seen[2] - longest_ago <= seen[1]
    last = checks(cfg)
    assert len(last) == 34 and {o for _, o in last.values()} == {"present"}

    cfg0 = social_config(make_config, bluesky_fake, masto, deletion_checks_per_run=0)
    bluesky_fake.clear_log(), masto.clear_log()
    assert check_deleted(cfg0, secrets=secrets).checked == 0
    assert uris_asked(bluesky_fake) == [] and status_lookups(masto) == []


def test_larger_runs_ask_getposts_in_batches_of_25(bluesky_fake, make_config, secrets):
    posts = add_bsky(bluesky_fake, 30, minutes_ago=120)
    cfg = social_config(make_config, bluesky_fake)
    fetch_and_store(cfg, secrets)
    bluesky_fake.delete_post(posts[29]["uri"])
    bluesky_fake.clear_log()
    rep = check_deleted(cfg, secrets=secrets)
    assert [len(b) for b in uris_asked(bluesky_fake)] == [25, 5] and rep.requests == 2
    assert marked(cfg) == {posts[29]["uri"]}


def test_an_expired_session_is_refreshed_or_replaced_as_the_search_does(bluesky_fake, make_config, secrets):
    posts = add_bsky(bluesky_fake, 2)
    cfg = social_config(make_config, bluesky_fake)
    fetch_and_store(cfg, secrets)
    bluesky_fake.delete_post(posts[0]["uri"])
    bluesky_fake._access.clear()  # the server forgets every access token ...
    bluesky_fake._refresh.clear()  # ... and refresh token: the saved session is dead
    bluesky_fake.clear_log()
    rep = check_deleted(cfg, secrets=secrets)
    assert marked(cfg) == {posts[0]["uri"]}, rep.summary()
    assert len(bluesky_fake.requests_to("createSession")) == 1  # logged in again once


def test_open_police_case_keeps_a_deleted_threat_and_its_evidence(bluesky_fake, make_config, secrets):
    threat, insult = (
        bluesky_fake.add_post(
            "boos.bsky.social", "Ik weet waar die docent van het Ley College woont", NOW - timedelta(minutes=30)
        ),
        bluesky_fake.add_post(
            "flauw.bsky.social", "Die conciërge van het Ley College is een sukkel", NOW - timedelta(minutes=20)
        ),
    )
    cfg = social_config(make_config, bluesky_fake)
    ms = fetch_and_store(cfg, secrets)
    t, i = ms[threat["uri"]], ms[insult["uri"]]
    t.sentiment, t.harm, t.harm_kind = "negative", "threat", "bedreigen"
    i.sentiment, i.harm, i.harm_kind = "negative", "insult", "kwetsen"
    wh = Warehouse(cfg.warehouse.path)
    with wh.transaction() as con:
        assert sorted(create_followups(con, [t, i], NOW)) == sorted([t.mention_id, i.mention_id])
        assert keep_evidence(con, [t, i], NOW) == 2
    assert dict(wh.query("SELECT mention_id, action FROM followups")) == {
        t.mention_id: "report_police",
        i.mention_id: "in_real_life",
    }

    bluesky_fake.delete_post(threat["uri"]), bluesky_fake.delete_post(insult["uri"])
    assert check_deleted(cfg, secrets=secrets).marked == 2
    rep = purge(cfg)
    assert rep.deleted_at_source == 1 and rep.kept_for_police == 1
    assert stored(cfg) == {threat["uri"]}  # the threat stays, marked ...
    assert marked(cfg) == {threat["uri"]}
    assert wh.query("SELECT mention_id, raw_sha256 IS NOT NULL FROM evidence") == [(t.mention_id, True)]
    assert check_deleted(cfg, secrets=secrets).checked == 0  # ... and is not asked about again

    with wh.transaction() as con:  # the police case is closed
        update_followup(
            con, t.mention_id, by="directie@leycollege.example.nl", now=NOW, status="done", note="aangifte afgehandeld"
        )
    rep = purge(cfg)
    assert rep.deleted_at_source == 1 and stored(cfg) == set()
    assert wh.query("SELECT count(*) FROM evidence") == [(0,)]
    assert wh.query("SELECT count(*) FROM followups") == [(0,)]


# --- the command and the nightly flow -----------------------------------------------------------


def write_social_config(tmp_path: Path, bluesky_fake, mastodon_fake) -> Path:
    p = tmp_path / "edumon.toml"
    p.write_text(
        f"""
[organisation]
name = "Edu-Ley (test)"
timezone = "Europe/Amsterdam"

[warehouse]
path = "{(tmp_path / "edumon.duckdb").as_posix()}"
lock_timeout_s = 5

[[schools]]
id = "ley-college"
name = "Ley College"

[[sources.bluesky]]
handle = "{BSKY_HANDLE}"
app_password_env = "BSKY_APP_PASSWORD"
base_url = "{bluesky_fake.url}"
queries = ["Ley College"]
timeout_s = 5

[[sources.mastodon]]
api_base_url = "{mastodon_fake.url}"
hashtags = ["leycollege"]
access_token_env = "MASTO_TOKEN"
timeout_s = 5
""",
        encoding="utf-8",
    )
    return p


def stored_social_posts(bluesky_fake, masto, tmp_path: Path, secrets, monkeypatch):
    """Two Bluesky posts and two toots, fetched and stored through a config whose secrets are in the environment.

    Returns (config path, config, posts, toots)."""
    from conftest import BSKY_PASSWORD, MASTO_TOKEN

    from core.config import load_config

    posts, toots = add_bsky(bluesky_fake, 2), add_toots(masto, 2)
    cfg_path = write_social_config(tmp_path, bluesky_fake, masto)
    monkeypatch.setenv("BSKY_APP_PASSWORD", BSKY_PASSWORD)
    monkeypatch.setenv("MASTO_TOKEN", MASTO_TOKEN)
    monkeypatch.setenv("EDUMON_SECRETS_DIR", str(secrets.dir))
    cfg = load_config(cfg_path)
    fetch_and_store(cfg, secrets)
    return cfg_path, cfg, posts, toots


def test_purge_command_checks_the_sources_first(bluesky_fake, mastodon_fakes, tmp_path, secrets, monkeypatch):
    from conftest import BSKY_PASSWORD, MASTO_TOKEN

    masto = mastodon_fakes("mastodon.nl")
    cfg_path, cfg, posts, toots = stored_social_posts(bluesky_fake, masto, tmp_path, secrets, monkeypatch)
    bluesky_fake.delete_post(posts[0]["uri"]), masto.delete_status(toots[1]["id"])
    masto.clear_log()

    r = CliRunner().invoke(main, ["purge", "--config", str(cfg_path), "--no-check-deleted"])
    assert r.exit_code == 0, r.output
    assert "removed 0 mentions" in r.output and "checked" not in r.output
    assert uris_asked(bluesky_fake) == [] and len(stored(cfg)) == 4

    r = CliRunner().invoke(main, ["purge", "--config", str(cfg_path), "--dry-run"])
    assert r.exit_code == 0 and "would remove 0 mentions" in r.output and uris_asked(bluesky_fake) == []

    r = CliRunner().invoke(main, ["purge", "--config", str(cfg_path)])
    assert r.exit_code == 0, r.output
    assert "checked 4 posts at their source: 2 deleted there (marked 2), 0 could not be checked" in r.output
    assert "removed 2 mentions" in r.output and "2 deleted at the source" in r.output
    assert stored(cfg) == {posts[1]["uri"], toots[0]["uri"]}
    # the configured token is used for the lookups, and never printed
    assert all(r_.headers.get("authorization") == f"Bearer {MASTO_TOKEN}" for r_ in status_lookups(masto))
    assert MASTO_TOKEN not in r.output and BSKY_PASSWORD not in r.output

    masto.fail_next("/api/v1/statuses/", 429)
    r = CliRunner().invoke(main, ["purge", "--config", str(cfg_path)])
    assert r.exit_code == 0, r.output
    assert "rate limited" in r.output and "removed 0 mentions" in r.output


def test_nightly_retention_flow_checks_then_purges(
    prefect_harness, bluesky_fake, mastodon_fakes, tmp_path, secrets, monkeypatch
):
    from flows.retention import retention

    masto = mastodon_fakes("mastodon.nl")
    cfg_path, cfg, posts, toots = stored_social_posts(bluesky_fake, masto, tmp_path, secrets, monkeypatch)
    bluesky_fake.delete_post(posts[1]["uri"]), masto.delete_status(toots[0]["id"])
    state = retention(str(cfg_path), return_state=True)
    assert state.is_completed(), state.message
    assert state.result().deleted_at_source == 2
    assert stored(cfg) == {posts[0]["uri"], toots[1]["uri"]}
