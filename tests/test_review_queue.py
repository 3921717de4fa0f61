"""The protocol with triage (issue 15): only `alert` tells a leader at once; `review` waits for comms staff,
who confirm (the alert is raised then) or dismiss (a labelled correction); nothing waits forever."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.config import parse_config
from core.mention import Mention
from protocol import review
from protocol.act import ActionsReport, expire_reviews, handle_new_mentions
from protocol.feedback import FeedbackError, feedback_examples
from warehouse import Warehouse, upsert_mentions

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=timezone.utc)
CFG = {
    "organisation": {"name": "Edu-Ley"},
    "schools": [{"id": "ley-college", "name": "Ley College", "contacts": ["https://hooks.example.nl/leider"]}],
}


def post(sid: str, text: str, pt: float, *, harm: str = "threat", lang: str | None = None, rt: float = 0.0) -> Mention:
    scores = {"harm.none": 1 - pt, "harm.insult": 0.0, "harm.threat": pt, "rules.threat": rt, "rules.insult": 0.0}
    return Mention(
        source="mastodon",
        source_id=sid,
        text=text,
        url=f"https://social.example/{sid}",
        published_at=NOW,
        fetched_at=NOW,
        lang=lang,
        school_ids=["ley-college"],
        sentiment="negative",
        harm=harm,
        harm_kind="bedreigen",
        scores=scores,
        cues=[f"model:threat {pt:.2f}"],
        classifier="e5-heads/test",
    )


@pytest.fixture
def env(tmp_path: Path):
    cfg = parse_config(CFG)
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.migrate()
    posts = [
        post("strong", "Ik maak die docent van het Ley College morgen af, ik meen het", 0.97),
        post("weak", "Het Ley College was echt de bom vandaag, wat een feest", 0.2),
        post("english", "Ley College is the bomb, I will kill it at the exam tomorrow", 0.97, lang="en"),
        post("calm", "Open dag bij het Ley College op zaterdag", 0.001, harm="none"),
    ]
    with wh.transaction() as con:
        upsert_mentions(con, posts)
    out = ActionsReport()
    handle_new_mentions(cfg, wh, NOW, out)
    return cfg, wh, out, {p.source_id: p.mention_id for p in posts}


def alerted(wh: Warehouse) -> set[str]:
    return {r[0] for r in wh.query("SELECT DISTINCT mention_id FROM alerts WHERE mention_id IS NOT NULL")}


def test_only_alerts_reach_the_leader_and_review_items_wait_in_the_queue(env):
    cfg, wh, out, ids = env
    assert alerted(wh) == {ids["strong"]}
    assert set(out.review) == {ids["weak"], ids["english"]}
    body = wh.query(
        "SELECT body FROM alert_messages JOIN alerts USING (alert_id) WHERE mention_id = ?", [ids["strong"]]
    )[0][0]
    assert "Sterk signaal van een bedreiging" in body and "model:" not in body
    with wh.connect(read_only=True) as con:
        q = review.queue(con)
    assert {r["mention_id"] for r in q} == {ids["weak"], ids["english"]} and len(q) == 2
    reasons = {r["mention_id"]: r["triage_reason"] for r in q}
    assert "in het Engels" in reasons[ids["english"]] and "zwak signaal" in reasons[ids["weak"]].lower()
    decisions = dict(wh.query("SELECT mention_id, decision FROM triage"))
    assert decisions[ids["calm"]] == "none" and decisions[ids["strong"]] == "alert"


def test_rerunning_the_protocol_adds_nothing(env):
    cfg, wh, _, _ = env
    before = wh.query("SELECT count(*) FROM triage")[0][0], wh.query("SELECT count(*) FROM alerts")[0][0]
    handle_new_mentions(cfg, wh, NOW + timedelta(minutes=15), ActionsReport())
    assert (wh.query("SELECT count(*) FROM triage")[0][0], wh.query("SELECT count(*) FROM alerts")[0][0]) == before


def test_confirming_raises_the_alert_at_once_and_dismissing_stores_a_correction(env):
    cfg, wh, _, ids = env
    with wh.transaction() as con:
        raised = review.confirm(cfg, con, ids["english"], by="anne", now=NOW + timedelta(hours=1))
    assert raised and all(r["severity"] == "urgent" for r in raised)
    assert ids["english"] in alerted(wh) and "Bevestigd door anne" in raised[0]["body"]
    with wh.transaction() as con:
        review.dismiss(con, ids["weak"], by="anne", now=NOW + timedelta(hours=1))
        with pytest.raises(FeedbackError, match="not waiting for review"):
            review.dismiss(con, ids["weak"], by="anne", now=NOW + timedelta(hours=1))
        assert review.queue(con) == []
    assert ids["weak"] not in alerted(wh)
    examples = {e["text"]: e for e in feedback_examples(wh)}
    weak = examples["Het Ley College was echt de bom vandaag, wat een feest"]
    assert weak["harm"] == "none"  # what `edumon train --include-feedback` learns from


def test_an_item_nobody_handles_becomes_an_alert_on_the_next_cycle(env):
    cfg, wh, _, ids = env
    early = ActionsReport()
    expire_reviews(cfg, wh, NOW + timedelta(hours=cfg.triage.review_within_hours - 1), early)
    assert not early.raised
    late = ActionsReport()
    expire_reviews(cfg, wh, NOW + timedelta(hours=cfg.triage.review_within_hours), late)
    assert {r["mention_id"] for r in late.raised} == {ids["weak"], ids["english"]}
    assert "binnen 24 uur" in late.raised[0]["body"]
    statuses = dict(wh.query("SELECT mention_id, review_status FROM triage WHERE decision = 'review'"))
    assert set(statuses.values()) == {"expired"}
