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

from classifiers.train import EXTRA_TRAIN
from core.config import TriageConfig
from tests.sealed_sets import (
    assert_floors,
    assert_no_post_shared_with_training,
    macro_f1s,
    measure_pinned,
    triage_counts,
)

SEALED = ("r6-w17", "r6-w18", "r6-w19")
ROUND6_HEADS = Path(__file__).parent / "data" / "heads-r6-2.b36a76.npz"
# the [triage] defaults of round 6 (the strong rule cues of rules 1.4 came later)
ROUND6_TRIAGE = TriageConfig(
    alert_threat=0.8, alert_insult=0.95, review_threat=0.1, review_insult=0.8, rules_alert_min=0.2, rules_strong=False
)


@pytest.fixture(scope="module")
def measured() -> dict:
    return measure_pinned(SEALED, ROUND6_HEADS, "2.b36a76", ROUND6_TRIAGE)


def test_round6_sets_were_unseen_by_the_round6_heads_and_are_training_data_now():
    """The round-6 heads learnt from the other training sets, which share no post with these; new heads learn from them."""
    assert set(SEALED) <= set(EXTRA_TRAIN)
    assert_no_post_shared_with_training(SEALED)


def test_triage_on_the_round6_sealed_sets(measured):
    """The round-6 heads and triage, measured once at the end of round 6 (before: 106 of 724 harmless posts alerted, every threat alerted).
    Met: threats alerted or reviewed 107/108 (>= 97%), harmless in review 60/724 = 8.3% (<= 10%).
    Missed: harmless alerted 17/724 = 2.3% (target <= 2%), threats alerted 83/108 = 76.9% (target >= 85%)."""
    c = triage_counts(measured)
    assert (c["harmless"], c["threats"]) == (724, 108)
    assert_floors(c, most={"harmless_alert": 17, "harmless_review": 60}, least={"threat_alert": 83, "threat_seen": 107})


def test_labels_on_the_round6_sealed_sets_no_worse_than_before(measured):
    """Harm and sentiment macro-F1 0.830 and 0.838 before and after (the heads did not change in round 6)."""
    harm, sent = macro_f1s(measured)
    assert harm >= 0.8295, harm
    assert sent >= 0.8375, sent
