"""Issue 15's sealed stream-like sets, round by round: each round's measurement asserted as floors.

Each round, three writers who saw only the labelling guide wrote 900 posts, committed before that round's change;
the sets were measured exactly once (docs/evaluation-round6.md ... docs/evaluation-round10.md). A round whose
sets are spent (training data from the next round on) is pinned to its own heads (kept in tests/data/, they never
read these posts) and its own [triage] values; the newest round measures what ships. The rules are always
today's: a later rules version must not lose what a round measured. Never tune on these figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from classifiers import load_classifier
from classifiers.train import EXTRA_TRAIN
from core.config import TriageConfig
from tests.sealed_sets import (
    assert_floors,
    assert_no_post_shared_with_training,
    macro_f1s,
    measure,
    measure_pinned,
    triage_counts,
)

HEADS = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Round:
    n: int
    sets: tuple[str, str, str]
    heads: str | None  # a file in tests/data with `version`; None: the shipped heads
    version: str
    triage: TriageConfig
    posts: dict[str, int]  # posts per gold label
    most: dict[str, int]  # triage counts measured, as ceilings
    least: dict[str, int]  # ... and as floors
    harm_f1: float
    sentiment_f1: float
    spent: bool = True  # training data since the next round


ROUNDS = (
    # round 6, before: 106 of 724 harmless alerted, every threat alerted. Met: threats alerted or reviewed 107/108,
    # harmless in review 60/724 = 8.3%. Missed: harmless alerted 17/724 = 2.3%, threats alerted 83/108 = 76.9%.
    # Macro-F1 0.830 / 0.838, the same before and after (the heads did not change).
    Round(
        6,
        ("r6-w17", "r6-w18", "r6-w19"),
        "heads-r6-2.b36a76.npz",
        "2.b36a76",
        TriageConfig(
            alert_threat=0.8,
            alert_insult=0.95,
            review_threat=0.1,
            review_insult=0.8,
            rules_alert_min=0.2,
            rules_strong=False,
        ),
        {"harmless": 724, "threats": 108},
        {"harmless_alert": 17, "harmless_review": 60},
        {"threat_alert": 83, "threat_seen": 107},
        0.8295,
        0.8375,
    ),
    # round 7, before (round-6 heads and triage): 19 of 729 harmless alerted, 63 reviewed, 79 of 103 threats
    # alerted, 101 alerted or reviewed. Met: harmless alerted 1.8%, in review 4.4%. Missed: threats alerted 74.8%,
    # alerted or reviewed 96.1%. Macro-F1 0.886 / 0.857 (round-6 heads: 0.816 / 0.827).
    Round(
        7,
        ("r7-w22", "r7-w23", "r7-w24"),
        "heads-r7-2.ebca6f.npz",
        "2.ebca6f",
        TriageConfig(
            alert_threat=0.8,
            alert_insult=0.9,
            review_threat=0.1,
            review_insult=0.8,
            rules_alert_min=0.3,
            rules_strong=False,
        ),
        {"harmless": 729, "threats": 103},
        {"harmless_alert": 13, "harmless_review": 32},
        {"threat_alert": 77, "threat_seen": 99},
        0.8855,
        0.8565,
    ),
    # round 8, before (round-7 heads and triage): 6 of 731 harmless alerted, 42 reviewed, 79 of 102 threats alerted,
    # 100 alerted or reviewed. Met: harmless alerted 0.8%, in review 7.7%, alerted or reviewed 99.0%. Missed:
    # threats alerted 83/102 = 81.4%. Macro-F1 0.868 / 0.844.
    Round(
        8,
        ("r8-w25", "r8-w26", "r8-w27"),
        "heads-r7-2.ebca6f.npz",  # round 8 kept the round-7 heads
        "2.ebca6f",
        TriageConfig(
            alert_threat=0.8,
            alert_insult=0.9,
            review_threat=0.05,
            review_insult=0.8,
            rules_alert_min=0.3,
            rules_strong_min=0.05,
        ),
        {"harmless": 731, "threats": 102},
        {"harmless_alert": 6, "harmless_review": 56},
        {"threat_alert": 83, "threat_seen": 101},
        0.8675,
        0.8435,
    ),
    # round 9, before (round 8): 15 of 728 harmless alerted, 58 reviewed, 90 of 104 threats alerted, 103 alerted or
    # reviewed. All four targets met: 1.8%, 7.1%, 93.3%, 104/104. Macro-F1 0.902 / 0.831 (round 8: 0.867 / 0.803).
    Round(
        9,
        ("r9-w28", "r9-w29", "r9-w30"),
        "heads-r9-2.12e887.npz",
        "2.12e887",
        TriageConfig(
            alert_threat=0.7,
            alert_insult=0.9,
            review_threat=0.05,
            review_insult=0.8,
            rules_alert_min=0.3,
            rules_strong_min=0.05,
        ),
        {"harmless": 728, "threats": 104, "insults": 68},
        # 52 reviewed when measured; rules 1.6 (round 10) changed the rule features of a few posts, which the
        # round-9 heads read: with them one more harmless post goes to review
        {"harmless_alert": 13, "harmless_review": 53},
        {"threat_alert": 97, "threat_seen": 104, "insult_seen": 67},
        0.9015,
        0.831,
    ),
    # round 10: what ships (round-9 heads, rules 1.6), measured in one run with the round-10 candidate heads, which
    # were not shipped (docs/evaluation-round10.md). All four targets met: 1.1%, 5.1%, 85.8%, 105/106. Macro-F1
    # 0.909 / 0.840.
    Round(
        10,
        ("r10-w31", "r10-w32", "r10-w33"),
        None,
        "",
        TriageConfig(),
        {"harmless": 726, "threats": 106, "insults": 68},
        {"harmless_alert": 8, "harmless_review": 37},
        {"threat_alert": 91, "threat_seen": 105, "insult_seen": 66},
        0.9085,
        0.8395,
        spent=False,
    ),
)


@pytest.fixture(scope="module", params=ROUNDS, ids=lambda r: f"round{r.n}")
def round_(request) -> Round:
    return request.param


@pytest.fixture(scope="module")
def measured(round_: Round) -> dict:
    if round_.heads is None:
        return measure(round_.sets, load_classifier(), round_.triage)
    return measure_pinned(round_.sets, HEADS / round_.heads, round_.version, round_.triage)


def test_the_sets_were_unseen_by_the_heads_measured_and_spent_ones_are_training_data(round_: Round):
    """The heads measured learnt from the other training sets, which share no post with these; a spent round's
    sets are training data for new heads, the newest round's are never trained on."""
    if round_.spent:
        assert set(round_.sets) <= set(EXTRA_TRAIN)
    else:
        assert not set(round_.sets) & set(EXTRA_TRAIN)
    assert_no_post_shared_with_training(round_.sets)


def test_triage_on_the_sealed_sets(round_: Round, measured: dict):
    c = triage_counts(measured)
    assert {k: c[k] for k in round_.posts} == round_.posts
    assert_floors(c, most=round_.most, least=round_.least)


def test_labels_on_the_sealed_sets(round_: Round, measured: dict):
    harm, sent = macro_f1s(measured)
    assert harm >= round_.harm_f1, harm
    assert sent >= round_.sentiment_f1, sent
