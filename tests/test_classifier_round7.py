"""Round 7 (issue 15), kept as history: the round-7 heads + triage on the then-sealed sets r7-w22/23/24.

900 posts by three writers who never saw the classifier, written before any round-7 change. Measured
exactly once, at the end of round 7, with the final heads and [triage] defaults (docs/evaluation-round7.md).

Since round 8 these sets are spent: they are training data (data/labelled/train/), so they can no longer
check new heads. The figures below are pinned to what round 7 measured: the round-7 heads
(tests/data/heads-r7-2.ebca6f.npz, which never read these posts) with the round-7 [triage] defaults.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers import load_classifier
from classifiers.datasets import labelled, load_split
from classifiers.evaluate import confusion
from classifiers.language import detect
from classifiers.train import EXTRA_TRAIN
from core.config import ClassifierConfig, TriageConfig
from core.vocabulary import HARMS, SENTIMENTS
from protocol.triage import triage

SEALED = ("r7-w22", "r7-w23", "r7-w24")
ROUND7_HEADS = Path(__file__).parent / "data" / "heads-r7-2.ebca6f.npz"
# the [triage] defaults of round 7 (the strong rule cues of rules 1.4 came later)
ROUND7_TRIAGE = TriageConfig(
    alert_threat=0.8, alert_insult=0.9, review_threat=0.1, review_insult=0.8, rules_alert_min=0.3, rules_strong=False
)


def _key(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.fixture(scope="module")
def measured() -> dict:
    rows = [r for name in SEALED for r in labelled(name).read()]
    clf = load_classifier(ClassifierConfig(heads_path=str(ROUND7_HEADS)))
    assert clf.version == "2.ebca6f"
    labels = clf.classify([r["text"] for r in rows])
    cfg = ROUND7_TRIAGE
    decisions = [triage(lab, detect(r["text"]), cfg).decision for lab, r in zip(labels, rows)]
    return {"rows": rows, "labels": labels, "triage": decisions}


def test_round7_sets_were_unseen_by_the_round7_heads_and_are_training_data_now():
    """The round-7 heads learnt from the other training sets, which share no post with these; new heads learn from them."""
    assert set(SEALED) <= set(EXTRA_TRAIN)
    trained = {_key(r["text"]) for r in load_split("train")} | {
        _key(r["text"]) for name in set(EXTRA_TRAIN) - set(SEALED) for r in labelled(name).read()
    }
    for name in SEALED:
        rows = labelled(name).read()
        assert len(rows) == 300 and not {_key(r["text"]) for r in rows} & trained, name


def _count(m: dict, gold: tuple[str, ...], decided: tuple[str, ...]) -> tuple[int, int]:
    pairs = [(r["harm"], t) for r, t in zip(m["rows"], m["triage"]) if r["harm"] in gold]
    return sum(t in decided for _, t in pairs), len(pairs)


def test_triage_on_the_round7_sealed_sets(measured):
    """Measured once at the end of round 7 (before: the round-6 heads and triage, 19 of 729 harmless alerted,
    63 reviewed, 79 of 103 threats alerted, 101 alerted or reviewed).
    Met: harmless alerted 13/729 = 1.8% (<= 2%), harmless in review 32/729 = 4.4% (<= 10%).
    Missed: threats alerted 77/103 = 74.8% (target >= 85%), alerted or reviewed 99/103 = 96.1% (target >= 97%)."""
    alerted, harmless = _count(measured, ("none",), ("alert",))
    reviewed, _ = _count(measured, ("none",), ("review",))
    threat_alert, threats = _count(measured, ("threat",), ("alert",))
    threat_seen, _ = _count(measured, ("threat",), ("alert", "review"))
    assert (harmless, threats) == (729, 103)
    assert alerted <= 13, alerted
    assert reviewed <= 32, reviewed
    assert threat_alert >= 77, threat_alert
    assert threat_seen >= 99, threat_seen


def test_labels_on_the_round7_sealed_sets(measured):
    """Harm and sentiment macro-F1 0.886 and 0.857 (before, the round-6 heads: 0.816 and 0.827)."""
    rows, labels = measured["rows"], measured["labels"]
    harm = confusion([r["harm"] for r in rows], [lab.harm for lab in labels], HARMS)
    sent = confusion([r["sentiment"] for r in rows], [lab.sentiment for lab in labels], SENTIMENTS)
    assert harm.macro_f1 >= 0.8855, harm.macro_f1
    assert sent.macro_f1 >= 0.8565, sent.macro_f1
