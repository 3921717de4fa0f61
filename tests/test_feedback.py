"""Label feedback: corrections and dismissals stored as labelled examples, read back for training."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.mention import Mention
from edumon.cli import main
from edumon.cli.cycle import to_toml
from protocol.feedback import FeedbackError, correct_labels, dismissal_labels, feedback_examples, plan_correction
from warehouse import Warehouse, save_labels, upsert_mentions

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def mention(text: str, sid: str, sentiment: str = "negative", harm: str = "none", kind: str | None = None) -> Mention:
    return Mention(
        source="mastodon",
        source_id=sid,
        text=text,
        url=f"https://mastodon.example/@x/{sid}",
        author="@x@mastodon.example",
        published_at=NOW - timedelta(hours=1),
        fetched_at=NOW,
        school_ids=["ley-college"],
        sentiment=sentiment,
        harm=harm,
        harm_kind=kind,
        cues=["kanker"] if harm != "none" else [],
        classifier="lexicon/0.1",
    )


def store(wh: Warehouse, *ms: Mention) -> None:
    with wh.transaction() as con:
        upsert_mentions(con, ms)
        save_labels(con, ms)


def test_plan_correction_rules() -> None:
    cur = {"sentiment": "negative", "harm": "threat", "harm_kind": "bedreigen"}
    new, changes = plan_correction(cur, harm="none")
    assert new == {"sentiment": "negative", "harm": "none", "harm_kind": None}
    assert [(c.field, c.from_value, c.to_value) for c in changes] == [
        ("harm", "threat", "none"),
        ("harm_kind", "bedreigen", None),
    ]
    new, _ = plan_correction(cur, harm="insult")  # a new harm without a kind: the kind is unknown
    assert new["harm_kind"] is None
    new, _ = plan_correction(cur, harm="insult", harm_kind="pesten")
    assert new["harm_kind"] == "pesten"
    with pytest.raises(FeedbackError, match="nothing to change"):
        plan_correction(cur, sentiment="negative", harm="threat")
    with pytest.raises(FeedbackError, match="unknown sentiment"):
        plan_correction(cur, sentiment="boos")
    with pytest.raises(FeedbackError, match="no harm kind"):
        plan_correction(cur, harm="none", harm_kind="pesten")


def test_dismissal_labels() -> None:
    cur = {"sentiment": "negative", "harm": "insult", "harm_kind": "kwetsen"}
    assert dismissal_labels(cur, "false_alarm") == (True, {"sentiment": "neutral", "harm": "none", "harm_kind": None})
    about, labels = dismissal_labels(cur, "not_about_us")
    assert about is False and labels["harm"] is None
    with pytest.raises(FeedbackError):
        dismissal_labels(cur, "geen zin")


def test_correction_updates_mention_cache_and_feedback(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    m = mention("Die docent van het Ley College is echt een sukkel haha", "1", harm="insult", kind="kwetsen")
    store(wh, m)
    with wh.transaction() as con:
        changes = correct_labels(
            con, m.mention_id, by="anna", now=NOW, sentiment="neutral", harm="none", note="grapje onder vrienden"
        )
    assert {c.field for c in changes} == {"sentiment", "harm", "harm_kind"}
    assert wh.query("SELECT sentiment, harm, harm_kind FROM mentions WHERE mention_id = ?", [m.mention_id]) == [
        ("neutral", "none", None)
    ]
    # the same text posted again gets the person's label from the cache, not the classifier's
    assert wh.cached_labels([m.text_hash])[m.text_hash]["harm"] == "none"
    rows = wh.query_dicts("SELECT * FROM label_feedback")
    assert len(rows) == 1
    r = rows[0]
    assert (r["kind"], r["by_whom"], r["sentiment"], r["harm"], r["was_sentiment"], r["was_harm"], r["note"]) == (
        "correction",
        "anna",
        "neutral",
        "none",
        "negative",
        "insult",
        "grapje onder vrienden",
    )
    assert feedback_examples(wh) == [
        {"text": m.text, "sentiment": "neutral", "harm": "none", "harm_kind": None, "source": "feedback"}
    ]


def test_feedback_examples_latest_judgement_per_text_wins_and_skips_relevance(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    a = mention("Ik weet waar je woont, meester van het Ley College", "a", harm="threat", kind="bedreigen")
    b = mention("Ley College is slecht georganiseerd vandaag", "b")
    store(wh, a, b)
    with wh.transaction() as con:
        correct_labels(con, a.mention_id, by="anna", now=NOW, harm="insult", harm_kind="stalken")
    with wh.transaction() as con:
        correct_labels(con, a.mention_id, by="bert", now=NOW + timedelta(minutes=5), harm="threat", harm_kind="stalken")
    with wh.transaction() as con:  # "not about us": a relevance mistake, no label -> not an example
        con.execute(
            "INSERT INTO label_feedback VALUES ('x', ?, ?, ?, 'dismissal', 'not_about_us', false, NULL, NULL, "
            "NULL, 'negative', 'none', NULL, 'lexicon/0.1', NULL, 'anna', ?)",
            [b.mention_id, b.text_hash, b.text, NOW],
        )
    ex = feedback_examples(wh)
    assert ex == [
        {"text": a.text, "sentiment": "negative", "harm": "threat", "harm_kind": "stalken", "source": "feedback"}
    ]


def test_feedback_examples_of_a_missing_warehouse_is_empty(tmp_path: Path) -> None:
    assert feedback_examples(Warehouse(tmp_path / "none.duckdb")) == []


def test_cli_correct_list_export(tmp_path: Path, make_config) -> None:  # type: ignore[no-untyped-def]
    cfg = make_config()
    wh = Warehouse(cfg.warehouse.path)
    m = mention("Wat een kutschool is het Ley College", "c", harm="insult", kind="kwetsen")
    store(wh, m)
    path = tmp_path / "cfg.toml"
    path.write_text(to_toml(cfg), encoding="utf-8")
    run = CliRunner().invoke
    r = run(
        main,
        [
            "feedback",
            "correct",
            "--config",
            str(path),
            m.mention_id[:8],
            "--sentiment",
            "negative",
            "--harm",
            "none",
            "--by",
            "anna",
            "--note",
            "scheldwoord, geen belediging van een persoon",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "harm: insult -> none" in r.output
    r = run(main, ["feedback", "correct", "--config", str(path), m.mention_id, "--harm", "none", "--by", "anna"])
    assert r.exit_code == 1 and "nothing to change" in r.output
    r = run(main, ["feedback", "correct", "--config", str(path), "ffffffffff", "--harm", "none", "--by", "anna"])
    assert r.exit_code == 1 and "no mention" in r.output
    r = run(main, ["feedback", "list", "--config", str(path)])
    assert r.exit_code == 0 and "anna" in r.output and "1 feedback row(s)" in r.output
    out = tmp_path / "fb.jsonl"
    r = run(main, ["feedback", "export", "--config", str(path), "--output", str(out)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == [{"text": m.text, "sentiment": "negative", "harm": "none", "harm_kind": None, "source": "feedback"}]
