"""Round 6 (issue 15), kept as history: the round-6 classifier + triage on the then-sealed sets r6-w17/18/19.

900 posts by three writers who never saw the classifier, written before any round-6 change (about 80%
harmless, half of those hard cases, about 7% English/German, 108 threats). Measured exactly twice (see
docs/evaluation-round6.md): before (every harm label alerted) and once at the end with the final triage.

Since round 7 these sets are spent: they are training data (data/labelled/train/), so they can no longer
check new heads. The figures below are pinned to what round 6 measured: the round-6 heads
(tests/data/heads-r6-2.b36a76.npz, which never read these posts) with the round-6 [triage] defaults.
The heads and triage shipped now are measured on the round-7 sealed sets (tests/test_classifier_round7.py).
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

SEALED = ("r6-w17", "r6-w18", "r6-w19")
ROUND6_HEADS = Path(__file__).parent / "data" / "heads-r6-2.b36a76.npz"
# the [triage] defaults of round 6 (the strong rule cues of rules 1.4 came later)
ROUND6_TRIAGE = TriageConfig(
    alert_threat=0.8, alert_insult=0.95, review_threat=0.1, review_insult=0.8, rules_alert_min=0.2, rules_strong=False
)


def _key(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.fixture(scope="module")
def measured() -> dict:
    rows = [r for name in SEALED for r in labelled(name).read()]
    clf = load_classifier(ClassifierConfig(heads_path=str(ROUND6_HEADS)))
    assert clf.version == "2.b36a76"
    labels = clf.classify([r["text"] for r in rows])
    cfg = ROUND6_TRIAGE
    decisions = [triage(lab, detect(r["text"]), cfg).decision for lab, r in zip(labels, rows)]
    return {"rows": rows, "labels": labels, "triage": decisions}


def test_round6_sets_were_unseen_by_the_round6_heads_and_are_training_data_now():
    """The round-6 heads learnt from the other training sets, which share no post with these; new heads learn from them."""
    assert set(SEALED) <= set(EXTRA_TRAIN)
    others = {_key(r["text"]) for r in load_split("train")} | {
        _key(r["text"]) for name in set(EXTRA_TRAIN) - set(SEALED) for r in labelled(name).read()
    }
    for name in SEALED:
        rows = labelled(name).read()
        assert len(rows) == 300 and not {_key(r["text"]) for r in rows} & others, name


def _count(m: dict, gold: tuple[str, ...], decided: tuple[str, ...]) -> tuple[int, int]:
    pairs = [(r["harm"], t) for r, t in zip(m["rows"], m["triage"]) if r["harm"] in gold]
    return sum(t in decided for _, t in pairs), len(pairs)


def test_triage_on_the_round6_sealed_sets(measured):
    """The round-6 heads and triage, measured once at the end of round 6 (before: 106 of 724 harmless posts alerted, every threat alerted).
    Met: threats alerted or reviewed 107/108 (>= 97%), harmless in review 60/724 = 8.3% (<= 10%).
    Missed: harmless alerted 17/724 = 2.3% (target <= 2%), threats alerted 83/108 = 76.9% (target >= 85%)."""
    alerted, harmless = _count(measured, ("none",), ("alert",))
    reviewed, _ = _count(measured, ("none",), ("review",))
    threat_alert, threats = _count(measured, ("threat",), ("alert",))
    threat_seen, _ = _count(measured, ("threat",), ("alert", "review"))
    assert (harmless, threats) == (724, 108)
    assert alerted <= 17, alerted
    assert reviewed <= 60, reviewed
    assert threat_alert >= 83, threat_alert
    assert threat_seen >= 107, threat_seen


def test_labels_on_the_round6_sealed_sets_no_worse_than_before(measured):
    """Harm and sentiment macro-F1 0.830 and 0.838 before and after (the heads did not change in round 6)."""
    rows, labels = measured["rows"], measured["labels"]
    harm = confusion([r["harm"] for r in rows], [lab.harm for lab in labels], HARMS)
    sent = confusion([r["sentiment"] for r in rows], [lab.sentiment for lab in labels], SENTIMENTS)
    assert harm.macro_f1 >= 0.8295, harm.macro_f1
    assert sent.macro_f1 >= 0.8375, sent.macro_f1
