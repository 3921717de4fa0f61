"""Triage (issue 15): alert / review / none per classified post, by one plain rule, in Dutch words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from classifiers.base import Labels
from classifiers.language import detect, post_language
from classifiers.rules import RulesClassifier
from core.config import ConfigError, TriageConfig, load_config
from edumon.cli import main
from protocol.triage import strength, triage

CFG = TriageConfig()


def lab(pt: float = 0.0, pi: float = 0.0, rt: float = 0.0, ri: float = 0.0, cues: tuple[str, ...] = ()) -> Labels:
    harm = "threat" if rt >= 1 or pt >= 0.5 else "insult" if ri >= 1 or pi >= 0.5 else "none"
    scores = {"harm.none": 1 - pt - pi, "harm.insult": pi, "harm.threat": pt, "rules.threat": rt, "rules.insult": ri}
    return Labels("negative", harm, None, scores, cues)


def test_a_threat_the_rules_find_alerts_at_once_urgently_in_any_language():
    for lang in ("nl", None, "en", "de"):
        t = triage(lab(pt=CFG.rules_alert_min, rt=1.0, cues=("ik steek die leraar neer",)), lang, CFG)
        assert (t.decision, t.urgency, t.kind) == ("alert", "urgent", "threat"), lang
        assert '"ik steek die leraar neer"' in t.reason and "Sterk signaal" in t.reason


def test_a_rule_hit_the_model_reads_as_harmless_goes_to_review_not_to_the_leader():
    """'De musical was echt de bom 💣': the rules see a bomb, the model a compliment."""
    t = triage(lab(pt=0.0, rt=1.0, cues=("💣",)), "nl", CFG)
    assert (t.decision, t.urgency, t.kind) == ("review", "urgent", "threat")
    assert "Tegenstrijdig signaal" in t.reason and "eerst beoordelen" in t.reason


def test_the_dutch_model_alone_alerts_only_dutch_posts():
    strong = lab(pt=max(CFG.alert_threat, 0.9))
    assert triage(strong, "nl", CFG).decision == "alert"
    assert triage(strong, None, CFG).urgency == "urgent"  # unknown language: the Dutch route
    english = triage(strong, "en", CFG)
    assert english.decision == "review" and english.urgency == "urgent"
    assert "in het Engels" in english.reason and "niet genoeg voor een melding" in english.reason
    assert triage(lab(pi=max(CFG.alert_insult, 0.99)), "de", CFG).decision == "review"


def test_an_insult_alerts_normal_and_a_weak_signal_goes_to_review_with_its_reason():
    t = triage(lab(pi=CFG.rules_alert_min, ri=1.0, cues=("kankerlijer",)), "nl", CFG)
    assert (t.decision, t.urgency, t.kind) == ("alert", "normal", "insult")
    weak = triage(lab(pt=CFG.review_threat), "nl", CFG)
    assert (weak.decision, weak.kind) == ("review", "threat")
    assert "zwak signaal" in weak.reason.lower() and "te zwak voor een directe melding" in weak.reason
    assert "model:" not in weak.reason


def test_nothing_found_is_none():
    below = max(CFG.review_threat - 0.01, 0.0)
    t = triage(lab(pt=below, pi=max(CFG.review_insult - 0.01, 0.0)), "nl", CFG)
    assert (t.decision, t.urgency, t.kind) == ("none", None, None)


def test_thresholds_come_from_config():
    strict = TriageConfig(alert_threat=0.95, review_threat=0.9, alert_insult=0.99, review_insult=0.9)
    assert triage(lab(pt=0.6), "nl", strict).decision == "none"
    loose = TriageConfig(alert_threat=0.2, review_threat=0.1)
    assert triage(lab(pt=0.3), "nl", loose).decision == "alert"
    off = TriageConfig(rules_alert=False)
    assert triage(lab(pt=0.3, rt=1.0), "nl", off).decision == "review"  # the model's own signal still counts
    assert triage(lab(rt=1.0), "nl", off).decision == "none"


def test_model_cues_become_words():
    assert [strength(p) for p in (0.1, 0.6, 0.9)] == ["zwak signaal", "duidelijk signaal", "sterk signaal"]
    t = triage(lab(pt=0.95, cues=("model:threat 0.95",)), "nl", CFG)
    assert "model:" not in t.reason and "Sterk signaal" in t.reason and "95%" in t.reason


def test_the_rules_backend_gets_triage_from_its_own_hits():
    rules = RulesClassifier()
    threat, harmless = rules.classify(["Ik steek die leraar morgen neer", "Wat een mooie open dag was het!"])
    assert triage(threat, "nl", CFG).decision == "alert"
    assert triage(harmless, "nl", CFG).decision == "none"


def test_language_of_a_post():
    assert post_language("nl-NL", "whatever") == "nl" and post_language("EN", "ik") == "en"
    assert detect("To the maths teacher at CSG Het Baken who stayed after school: thank you so much.") == "en"
    assert detect("Die Lehrerin an dieser Schule war wirklich großartig, vielen Dank dafür") == "de"
    assert detect("Wat een geweldige open dag op het Ley College, dank aan alle docenten!") == "nl"
    assert detect("Ley College 💪") is None  # too short to be sure: stays on the Dutch route


GOOD = """
[organisation]
name = "Edu-Ley"
[[schools]]
id = "ley-college"
name = "Ley College"
"""


def test_triage_config_loads_and_bad_values_are_one_clear_error(tmp_path: Path):
    p = tmp_path / "edumon.toml"
    p.write_text(GOOD + "\n[triage]\nalert_threat = 0.7\nreview_within_hours = 8\n", encoding="utf-8")
    cfg = load_config(p)
    assert cfg.triage.alert_threat == 0.7 and cfg.triage.review_within_hours == 8
    assert load_config(_write(tmp_path, GOOD)).triage.review_within_hours == 24
    for bad, msg in (
        ("alert_threat = 1.5", "triage.alert_threat: expected a probability"),
        ("review_threat = 0.9\nalert_threat = 0.5", "triage.review_threat: must not be above triage.alert_threat"),
        ("review_within_hours = 0", "triage.review_within_hours: must be above 0"),
    ):
        with pytest.raises(ConfigError, match=msg):
            load_config(_write(tmp_path, GOOD + "\n[triage]\n" + bad + "\n"))


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_classify_writes_triage_on_every_row_for_the_rules_backend(tmp_path: Path):
    cfg = _write(tmp_path, GOOD + '\n[classifier]\nbackend = "rules"\n')
    src = tmp_path / "in.jsonl"
    rows = [
        {"id": 1, "text": "Ik steek die leraar morgen neer"},
        {"id": 2, "text": "Wat een mooie open dag op het Ley College, dank jullie wel!"},
        {"id": 3, "text": "I will stab that teacher at Ley College tomorrow", "lang": "en"},
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = CliRunner().invoke(main, ["classify", "--input", str(src), "--output", str(out), "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    got = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [g["triage"] for g in got[:2]] == ["alert", "none"] and got[0]["urgency"] == "urgent"
    assert got[2]["lang"] == "en" and got[2]["triage"] in ("none", "review")  # no Dutch rule fires on English
    assert all({"sentiment", "harm", "scores", "cues", "triage", "urgency", "triage_reason"} <= set(g) for g in got)
    assert "triage: 1 alert" in r.output
