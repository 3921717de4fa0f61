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

from classifiers.train import EXTRA_TRAIN
from core.config import TriageConfig
from tests.sealed_sets import (
    assert_floors,
    assert_no_post_shared_with_training,
    macro_f1s,
    measure_pinned,
    triage_counts,
)

SEALED = ("r7-w22", "r7-w23", "r7-w24")
ROUND7_HEADS = Path(__file__).parent / "data" / "heads-r7-2.ebca6f.npz"
# the [triage] defaults of round 7 (the strong rule cues of rules 1.4 came later)
ROUND7_TRIAGE = TriageConfig(
    alert_threat=0.8, alert_insult=0.9, review_threat=0.1, review_insult=0.8, rules_alert_min=0.3, rules_strong=False
)


@pytest.fixture(scope="module")
def measured() -> dict:
    return measure_pinned(SEALED, ROUND7_HEADS, "2.ebca6f", ROUND7_TRIAGE)


def test_round7_sets_were_unseen_by_the_round7_heads_and_are_training_data_now():
    """The round-7 heads learnt from the other training sets, which share no post with these; new heads learn from them."""
    assert set(SEALED) <= set(EXTRA_TRAIN)
    assert_no_post_shared_with_training(SEALED)


def test_triage_on_the_round7_sealed_sets(measured):
    """Measured once at the end of round 7 (before: the round-6 heads and triage, 19 of 729 harmless alerted,
    63 reviewed, 79 of 103 threats alerted, 101 alerted or reviewed).
    Met: harmless alerted 13/729 = 1.8% (<= 2%), harmless in review 32/729 = 4.4% (<= 10%).
    Missed: threats alerted 77/103 = 74.8% (target >= 85%), alerted or reviewed 99/103 = 96.1% (target >= 97%)."""
    c = triage_counts(measured)
    assert (c["harmless"], c["threats"]) == (729, 103)
    assert_floors(c, most={"harmless_alert": 13, "harmless_review": 32}, least={"threat_alert": 77, "threat_seen": 99})


def test_labels_on_the_round7_sealed_sets(measured):
    """Harm and sentiment macro-F1 0.886 and 0.857 (before, the round-6 heads: 0.816 and 0.827)."""
    harm, sent = macro_f1s(measured)
    assert harm >= 0.8855, harm
    assert sent >= 0.8565, sent
