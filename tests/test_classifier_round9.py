"""Round 9 (issue 15), kept as history: rules 1.5, heads retrained with the spent round-8 sets, alert_threat 0.7,
on the then-sealed stream-like sets r9-w28/29/30.

900 posts by three writers who saw only the labelling guide, committed to main before any round-9 change.
Measured exactly once, after the change was committed, with the round-9 heads, rules and [triage] defaults
(docs/evaluation-round9.md).

Since round 10 these sets are spent: they are training data (data/labelled/train/). The figures below are pinned
to round 9: its heads (tests/data/heads-r9-2.12e887.npz, still the shipped heads, which never read these posts) with the round-9 [triage]
defaults. The rules are today's (a later rules version must not lose what round 9 measured).
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

SEALED = ("r9-w28", "r9-w29", "r9-w30")
ROUND9_HEADS = Path(__file__).parent / "data" / "heads-r9-2.12e887.npz"
# the [triage] defaults of round 9
ROUND9_TRIAGE = TriageConfig(
    alert_threat=0.7,
    alert_insult=0.9,
    review_threat=0.05,
    review_insult=0.8,
    rules_alert_min=0.3,
    rules_strong_min=0.05,
)


@pytest.fixture(scope="module")
def measured() -> dict:
    return measure_pinned(SEALED, ROUND9_HEADS, "2.12e887", ROUND9_TRIAGE)


def test_round9_sets_were_unseen_by_the_round9_heads_and_are_training_data_now():
    """The round-9 heads learnt from the other training sets, which share no post with these; new heads learn from them."""
    assert set(SEALED) <= set(EXTRA_TRAIN)
    assert_no_post_shared_with_training(SEALED)


def test_triage_on_the_round9_sealed_sets(measured):
    """Measured once (before: the round-8 classifier gave 15 of 728 harmless alerted, 58 reviewed, 90 of 104
    threats alerted, 103 alerted or reviewed). All four targets met: harmless alerted 13/728 = 1.8% (<= 2%),
    harmless in review 52/728 = 7.1% (<= 10%), threats alerted 97/104 = 93.3% (>= 85%), threats alerted or
    reviewed 104/104 (>= 97%); insults alerted or reviewed 67/68."""
    c = triage_counts(measured)
    assert (c["harmless"], c["threats"], c["insults"]) == (728, 104, 68)
    # 52 reviewed when measured; rules 1.6 (round 10) changed the rule features of a few posts, which the round-9
    # heads read: with them one more harmless post goes to review
    assert_floors(
        c,
        most={"harmless_alert": 13, "harmless_review": 53},
        least={"threat_alert": 97, "threat_seen": 104, "insult_seen": 67},
    )


def test_labels_on_the_round9_sealed_sets(measured):
    """Harm and sentiment macro-F1 0.902 and 0.831 (the round-8 classifier: 0.867 and 0.803 on these sets)."""
    harm, sent = macro_f1s(measured)
    assert harm >= 0.9015, harm
    assert sent >= 0.831, sent
