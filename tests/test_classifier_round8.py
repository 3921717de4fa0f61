"""Round 8 (issue 15), kept as history: rules 1.4 (strong threat cues) + triage on the then-sealed sets r8-w25/26/27.

900 posts by three writers who saw only the labelling guide, committed before any round-8 change was merged.
Measured exactly once, after the merge, with the round-8 heads, rules and [triage] defaults
(docs/evaluation-round8.md).

Since round 9 these sets are spent: they are training data (data/labelled/train/), so they can no longer check
new heads. The figures below are pinned to round 8: its heads (the round-7 heads, tests/data/heads-r7-2.ebca6f.npz,
which never read these posts) with the round-8 [triage] defaults. The rules are today's (a later rules version
must not lose what round 8 measured).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.train import EXTRA_TRAIN
from core.config import TriageConfig
from tests.sealed_sets import (
    assert_floors,
    assert_no_post_shared_with_training,
    macro_f1s,
    measure_pinned,
    triage_counts,
)

SEALED = ("r8-w25", "r8-w26", "r8-w27")
ROUND8_HEADS = Path(__file__).parent / "data" / "heads-r7-2.ebca6f.npz"
# the [triage] defaults of round 8
ROUND8_TRIAGE = TriageConfig(
    alert_threat=0.8,
    alert_insult=0.9,
    review_threat=0.05,
    review_insult=0.8,
    rules_alert_min=0.3,
    rules_strong_min=0.05,
)


@pytest.fixture(scope="module")
def measured() -> dict:
    return measure_pinned(SEALED, ROUND8_HEADS, "2.ebca6f", ROUND8_TRIAGE)


def test_round8_sets_were_unseen_by_the_round8_heads_and_are_training_data_now():
    """The round-8 heads learnt from the other training sets, which share no post with these; new heads learn from them."""
    assert set(SEALED) <= set(EXTRA_TRAIN)
    assert_no_post_shared_with_training(SEALED)


def test_triage_on_the_round8_sealed_sets(measured):
    """Measured once after the round-8 merge (before: the round-7 heads and triage, 6 of 731 harmless alerted,
    42 reviewed, 79 of 102 threats alerted, 100 alerted or reviewed).
    Met: harmless alerted 6/731 = 0.8% (<= 2%), harmless in review 56/731 = 7.7% (<= 10%), threats alerted or
    reviewed 101/102 = 99.0% (>= 97%). Missed: threats alerted 83/102 = 81.4% (target >= 85%)."""
    c = triage_counts(measured)
    assert (c["harmless"], c["threats"]) == (731, 102)
    assert_floors(c, most={"harmless_alert": 6, "harmless_review": 56}, least={"threat_alert": 83, "threat_seen": 101})


def test_labels_on_the_round8_sealed_sets(measured):
    """Harm and sentiment macro-F1 0.868 and 0.844 (the round-7 classifier gave the same on these sets)."""
    harm, sent = macro_f1s(measured)
    assert harm >= 0.8675, harm
    assert sent >= 0.8435, sent
