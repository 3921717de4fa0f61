"""Round 8 (issue 15): rules 1.4 (strong threat cues) + triage on the sealed stream-like sets r8-w25/26/27.

900 posts by three writers who saw only the labelling guide, committed before any round-8 change was merged.
Measured exactly once, after the merge, with the shipped heads, rules and [triage] defaults
(docs/evaluation-round8.md). The figures below are that measurement, asserted as floors against regressions;
never tune on them.
"""

from __future__ import annotations

import pytest

from classifiers import load_classifier
from classifiers.train import EXTRA_TRAIN
from core.config import TriageConfig
from tests.sealed_sets import assert_no_post_shared_with_training, count, macro_f1s, measure

SEALED = ("r8-w25", "r8-w26", "r8-w27")


@pytest.fixture(scope="module")
def measured() -> dict:
    return measure(SEALED, load_classifier(), TriageConfig())


def test_round8_sealed_sets_are_never_trained_on():
    assert not set(SEALED) & set(EXTRA_TRAIN)
    assert_no_post_shared_with_training(SEALED)


def test_triage_on_the_round8_sealed_sets(measured):
    """Measured once after the round-8 merge (before: the round-7 heads and triage, 6 of 731 harmless alerted,
    42 reviewed, 79 of 102 threats alerted, 100 alerted or reviewed).
    Met: harmless alerted 6/731 = 0.8% (<= 2%), harmless in review 56/731 = 7.7% (<= 10%), threats alerted or
    reviewed 101/102 = 99.0% (>= 97%). Missed: threats alerted 83/102 = 81.4% (target >= 85%)."""
    alerted, harmless = count(measured, ("none",), ("alert",))
    reviewed, _ = count(measured, ("none",), ("review",))
    threat_alert, threats = count(measured, ("threat",), ("alert",))
    threat_seen, _ = count(measured, ("threat",), ("alert", "review"))
    assert (harmless, threats) == (731, 102)
    assert alerted <= 6, alerted
    assert reviewed <= 56, reviewed
    assert threat_alert >= 83, threat_alert
    assert threat_seen >= 101, threat_seen


def test_labels_on_the_round8_sealed_sets(measured):
    """Harm and sentiment macro-F1 0.868 and 0.844 (the round-7 classifier gave the same on these sets)."""
    harm, sent = macro_f1s(measured)
    assert harm >= 0.8675, harm
    assert sent >= 0.8435, sent
