"""Round 8 (issue 15): rules 1.4 (strong threat cues) + triage on the sealed stream-like sets r8-w25/26/27.

900 posts by three writers who saw only the labelling guide, committed before any round-8 change was merged.
Measured exactly once, after the merge, with the shipped heads, rules and [triage] defaults
(docs/evaluation-round8.md). The figures below are that measurement, asserted as floors against regressions;
never tune on them.
"""

from __future__ import annotations

import pytest

from classifiers import load_classifier
from classifiers.datasets import labelled, load_split
from classifiers.evaluate import confusion
from classifiers.language import detect
from classifiers.train import EXTRA_TRAIN
from core.config import TriageConfig
from core.vocabulary import HARMS, SENTIMENTS
from protocol.triage import triage

SEALED = ("r8-w25", "r8-w26", "r8-w27")


def _key(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.fixture(scope="module")
def measured() -> dict:
    rows = [r for name in SEALED for r in labelled(name).read()]
    labels = load_classifier().classify([r["text"] for r in rows])
    cfg = TriageConfig()
    decisions = [triage(lab, detect(r["text"]), cfg).decision for lab, r in zip(labels, rows)]
    return {"rows": rows, "labels": labels, "triage": decisions}


def test_round8_sealed_sets_are_never_trained_on():
    assert not set(SEALED) & set(EXTRA_TRAIN)
    trained = {_key(r["text"]) for r in load_split("train")} | {
        _key(r["text"]) for name in EXTRA_TRAIN for r in labelled(name).read()
    }
    for name in SEALED:
        rows = labelled(name).read()
        assert len(rows) == 300 and not {_key(r["text"]) for r in rows} & trained, name


def _count(m: dict, gold: tuple[str, ...], decided: tuple[str, ...]) -> tuple[int, int]:
    pairs = [(r["harm"], t) for r, t in zip(m["rows"], m["triage"]) if r["harm"] in gold]
    return sum(t in decided for _, t in pairs), len(pairs)


def test_triage_on_the_round8_sealed_sets(measured):
    """Measured once after the round-8 merge (before: the round-7 heads and triage, 6 of 731 harmless alerted,
    42 reviewed, 79 of 102 threats alerted, 100 alerted or reviewed).
    Met: harmless alerted 6/731 = 0.8% (<= 2%), harmless in review 56/731 = 7.7% (<= 10%), threats alerted or
    reviewed 101/102 = 99.0% (>= 97%). Missed: threats alerted 83/102 = 81.4% (target >= 85%)."""
    alerted, harmless = _count(measured, ("none",), ("alert",))
    reviewed, _ = _count(measured, ("none",), ("review",))
    threat_alert, threats = _count(measured, ("threat",), ("alert",))
    threat_seen, _ = _count(measured, ("threat",), ("alert", "review"))
    assert (harmless, threats) == (731, 102)
    assert alerted <= 6, alerted
    assert reviewed <= 56, reviewed
    assert threat_alert >= 83, threat_alert
    assert threat_seen >= 101, threat_seen


def test_labels_on_the_round8_sealed_sets(measured):
    """Harm and sentiment macro-F1 0.868 and 0.844 (the round-7 classifier gave the same on these sets)."""
    rows, labels = measured["rows"], measured["labels"]
    harm = confusion([r["harm"] for r in rows], [lab.harm for lab in labels], HARMS)
    sent = confusion([r["sentiment"] for r in rows], [lab.sentiment for lab in labels], SENTIMENTS)
    assert harm.macro_f1 >= 0.8675, harm.macro_f1
    assert sent.macro_f1 >= 0.8435, sent.macro_f1
