"""Round 10 (issue 15): the shipped classifier (round-9 heads, rules 1.6, [triage] defaults) on the sealed
stream-like sets r10-w31/32/33.

900 posts by three writers who saw only the labelling guide, committed to main after round 9's measurement and
before any round-10 change. Measured exactly once, in one run with the round-10 candidate heads (three seeded
networks per head), which were not shipped (docs/evaluation-round10.md). The figures below are that measurement
of what ships, asserted as floors against regressions; never tune on them.
"""

from __future__ import annotations

import pytest

from classifiers import load_classifier
from classifiers.train import EXTRA_TRAIN
from core.config import TriageConfig
from tests.sealed_sets import (
    assert_floors,
    assert_no_post_shared_with_training,
    macro_f1s,
    measure,
    triage_counts,
)

SEALED = ("r10-w31", "r10-w32", "r10-w33")


@pytest.fixture(scope="module")
def measured() -> dict:
    return measure(SEALED, load_classifier(), TriageConfig())


def test_round10_sealed_sets_are_never_trained_on():
    assert not set(SEALED) & set(EXTRA_TRAIN)
    assert_no_post_shared_with_training(SEALED)


def test_triage_on_the_round10_sealed_sets(measured):
    """All four targets met: harmless alerted 8/726 = 1.1% (<= 2%), harmless in review 37/726 = 5.1% (<= 10%),
    threats alerted 91/106 = 85.8% (>= 85%), threats alerted or reviewed 105/106 = 99.1% (>= 97%); insults
    alerted or reviewed 66/68."""
    c = triage_counts(measured)
    assert (c["harmless"], c["threats"], c["insults"]) == (726, 106, 68)
    assert_floors(
        c,
        most={"harmless_alert": 8, "harmless_review": 37},
        least={"threat_alert": 91, "threat_seen": 105, "insult_seen": 66},
    )


def test_labels_on_the_round10_sealed_sets(measured):
    """Harm and sentiment macro-F1 0.909 and 0.840."""
    harm, sent = macro_f1s(measured)
    assert harm >= 0.9085, harm
    assert sent >= 0.8395, sent
