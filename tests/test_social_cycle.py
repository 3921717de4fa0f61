"""Bluesky and Mastodon through the whole cycle (pipeline) against the fakes:
every relevant post stored exactly once across queries, pages, hashtags and
instances; the second cycle asks only for what is new; failures are rows in
`source_runs` while the other sources' mentions are stored."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pipeline
from classifiers import load_classifier
from connectors.html import html_to_text
from fakes.base import MALFORMED
from pipeline.relevance import match_schools
from warehouse import Warehouse

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo" / "sources"
BSKY_HANDLE = "edumon.bsky.social"  # as in conftest.py
NOW = datetime.now(timezone.utc)


def setup(bluesky_fake, mastodon_fakes, make_config):
    bluesky_fake.load(DEMO / "bluesky.json")
    instances = []
    for inst in json.loads((DEMO / "mastodon.json").read_text(encoding="utf-8"))["instances"]:
        fake = mastodon_fakes(inst["domain"])
        fake.load(inst["statuses"])
        instances.append((fake, inst))
    cfg = make_config(
        sources={
            "bluesky": [
                {
                    "handle": BSKY_HANDLE,
                    "app_password_env": "BSKY_APP_PASSWORD",
                    "base_url": bluesky_fake.url,
                    "page_size": 2,
                    "max_pages": 20,
                    "timeout_s": 5,
                }
            ],
            "mastodon": [
                {
                    "api_base_url": fake.url,
                    "hashtags": inst["hashtags"],
                    "page_size": 2,
                    "max_pages": 20,
                    "timeout_s": 5,
                    **({"access_token_env": "MASTO_TOKEN"} if inst.get("token") else {}),
                }
                for fake, inst in instances
            ],
        }
    )
    return cfg, [f for f, _ in instances]


def relevant(cfg, bluesky_fake, mastodon_fakes_list) -> set[tuple[str, str]]:
    """What the fakes hold that is about a school, by (source, source_id)."""
    out = {("bluesky", p["uri"]) for p in bluesky_fake.posts if match_schools(p["record"]["text"], cfg.schools)}
    for fake in mastodon_fakes_list:
        for s in fake.statuses:
            s = s.get("reblog") or s
            if match_schools(html_to_text(s["content"]), cfg.schools):
                out.add(("mastodon", s["uri"]))
    return out


def stored(cfg) -> list[tuple[str, str]]:
    return sorted(
        tuple(r)
        for r in Warehouse(cfg.warehouse.path).query(
            "SELECT source, source_id FROM mentions WHERE source IN ('bluesky', 'mastodon')"
        )
    )


def test_two_cycles_store_every_relevant_post_once(bluesky_fake, mastodon_fakes, make_config, secrets):
    cfg, (nl, social) = setup(bluesky_fake, mastodon_fakes, make_config)
    clf = load_classifier()

    first = pipeline.run_cycle(cfg, secrets=secrets, classifier=clf)
    assert first.ok, [(t.target, t.error) for t in first.failed]
    expected = relevant(cfg, bluesky_fake, [nl, social])
    assert len(expected) >= 10
    assert stored(cfg) == sorted(expected)  # each once, none missing
    assert len(bluesky_fake.requests_to("createSession")) == 1  # one login for all queries

    # new posts: one found by two queries, one status on two instances under two hashtags
    both = bluesky_fake.add_post("nieuw.bsky.social", "Het Ley College (#LeyCollege) opent een nieuwe sporthal", NOW)
    bluesky_fake.add_post("nieuw2.bsky.social", "Iets over een heel andere school", NOW)
    tag = '<a href="https://mastodon.nl/tags/{0}" class="mention hashtag" rel="tag">#<span>{0}</span></a>'
    status = nl.add_status(
        "juf_anna",
        f"<p>Kerstmarkt op het Ley College vrijdag! {tag.format('LeyCollege')} {tag.format('Leiderdorp')}</p>",
        NOW,
        tags=["LeyCollege", "Leiderdorp"],
    )
    social.add_status(
        "juf_anna@mastodon.nl",
        status["content"],
        NOW + timedelta(seconds=2),
        tags=["LeyCollege", "Leiderdorp"],
        uri=status["uri"],
        url=status["url"],
    )
    states = Warehouse(cfg.warehouse.path).states()
    for fake in (bluesky_fake, nl, social):
        fake.clear_log()

    second = pipeline.run_cycle(cfg, secrets=secrets, classifier=clf)
    assert second.ok, [(t.target, t.error) for t in second.failed]
    assert sorted((m.source, m.source_id) for m in second.stored) == [
        ("bluesky", both["uri"]),
        ("mastodon", status["uri"]),
    ]
    assert stored(cfg) == sorted(expected | {("bluesky", both["uri"]), ("mastodon", status["uri"])})

    # the second cycle asked only for what is new: from each target's watermark, no login
    assert bluesky_fake.requests_to("createSession") == []
    calls = bluesky_fake.requests_to("searchPosts")
    assert len(calls) == len([k for k in states if k[0] == "bluesky"])  # one page per query
    for call in calls:
        state = states[("bluesky", f"{BSKY_HANDLE}|{call.param('q').strip(chr(34))}")]
        assert call.param("since") == state["since"] and call.param("cursor") is None
    for fake in (nl, social):
        host = fake.url.split("//")[1]
        for call in fake.requests_to("/api/v1/timelines/tag/"):
            t = call.path.rsplit("/", 1)[1]
            key = next(k for (src, k) in states if src == "mastodon" and k.lower() == f"{host}#{t}".lower())
            if call.param("min_id") != states[("mastodon", key)]["min_id"]:  # or a later page of the walk
                assert int(call.param("min_id")) > int(states[("mastodon", key)]["min_id"])
        assert all(int(c.param("min_id")) > 0 for c in fake.requests_to("/api/v2/search"))
    runs = Warehouse(cfg.warehouse.path).query("SELECT status, count(*) FROM source_runs GROUP BY status")
    assert dict(runs) == {"ok": len(first.targets) + len(second.targets)}


def test_failures_are_source_runs_rows_and_the_rest_is_stored(bluesky_fake, mastodon_fakes, make_config, secrets):
    cfg, (nl, social) = setup(bluesky_fake, mastodon_fakes, make_config)
    bluesky_fake.fail_next("searchPosts", 429, count=1)  # the first query is rate limited
    # one hashtag of one instance, through the connector's own retries (1 + `retries` requests)
    social.fail_next("/timelines/tag/", 503, count=3)
    nl.fail_next("/api/v2/search", 200, body=MALFORMED, count=1)  # one keyword search
    report = pipeline.run_cycle(cfg, secrets=secrets, classifier=load_classifier())
    assert not report.ok
    wh = Warehouse(cfg.warehouse.path)
    rows = wh.query("SELECT source, status, error FROM source_runs WHERE status <> 'ok' ORDER BY source, status")
    assert [(r[0], r[1]) for r in rows] == [("bluesky", "rate_limited"), ("mastodon", "failed"), ("mastodon", "failed")]
    assert all(r[2] and "\n" not in r[2] for r in rows)
    assert any("malformed JSON" in r[2] for r in rows) and any(r[2].startswith("503") for r in rows)
    assert wh.query("SELECT count(*) FROM mentions WHERE source = 'bluesky'")[0][0] > 0
    assert wh.query("SELECT count(*) FROM mentions WHERE source = 'mastodon'")[0][0] > 0
    assert (
        wh.query("SELECT count(*) FROM mentions")[0][0]
        == wh.query("SELECT count(DISTINCT source_id) FROM mentions")[0][0]
    )

    # the next cycle recovers: every relevant post, each once
    again = pipeline.run_cycle(cfg, secrets=secrets, classifier=load_classifier())
    assert again.ok, [(t.target, t.error) for t in again.failed]
    assert stored(cfg) == sorted(relevant(cfg, bluesky_fake, [nl, social]))
