"""The shipped classifier on posts nobody who tuned it had read: the sealed blind sets and the demo's posts.

Round 5 (see docs/evaluation-history.md): blind_p and blind_q (300 posts, two writers) were written and sealed before the
final heads existed and are evaluation only. The earlier measurement sets (blind_b, blind_c, then blind_d/e/f
and blind_m/n in round 4) are training data now, their misses having been read. demo_gold holds the demo's
posts, labelled by hand, never trained on.
"""

from __future__ import annotations

import pytest

from classifiers import load_classifier
from classifiers.datasets import labelled, load_split
from classifiers.evaluate import evaluate
from classifiers.rules import RulesClassifier
from classifiers.train import EXTRA_TRAIN

SEALED = ("r5-w15", "r5-w16")  # round 5 (were blind_p, blind_q)
DEMO = "demo-gold"


def _rows(name: str) -> list[dict]:
    return labelled(name).read()


def _key(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.fixture(scope="module")
def clf():
    return load_classifier()


@pytest.fixture(scope="module")
def rules() -> RulesClassifier:
    return RulesClassifier()


def test_sealed_sets_are_never_trained_on_and_share_no_post_with_training():
    assert not set(SEALED) & set(EXTRA_TRAIN) and DEMO not in EXTRA_TRAIN
    trained = {_key(r["text"]) for r in load_split("train")} | {
        _key(r["text"]) for name in EXTRA_TRAIN for r in _rows(name)
    }
    for name in SEALED + (DEMO,):
        rows = _rows(name)
        assert len(rows) >= (30 if name == DEMO else 150)
        assert not {_key(r["text"]) for r in rows} & trained, name
    assert not {_key(r["text"]) for r in _rows(SEALED[0])} & {_key(r["text"]) for r in _rows(SEALED[1])}


@pytest.fixture(scope="module")
def reports(clf):
    sealed = [r for name in SEALED for r in _rows(name)]
    return {"sealed": evaluate(clf, sealed), "demo_gold": evaluate(clf, _rows(DEMO))}


def _false_alarms(report) -> int:
    """Harmless posts (gold none) labelled insult or threat: alerts that wake someone for nothing."""
    row = report.confusion[report.labels.index("none")]
    return sum(row) - row[report.labels.index("none")]


def test_targets_on_the_sealed_sets(reports):
    """Issue 5's targets on posts by writers the classifier never read. Measured once on blind_p + blind_q:
    harm macro-F1 0.913, threat recall 1.000 (80 of 80), sentiment macro-F1 0.844 (before round 4: 0.799,
    0.725, 0.693)."""
    harm, sent = reports["sealed"]["harm"], reports["sealed"]["sentiment"]
    assert harm.macro_f1 >= 0.85, harm.macro_f1
    assert harm.per_class()["threat"]["recall"] >= 0.95, harm.per_class()
    assert sent.macro_f1 >= 0.75, sent.macro_f1
    assert harm.per_class()["insult"]["precision"] >= 0.85 and harm.per_class()["insult"]["recall"] >= 0.9


def test_false_alarms_on_the_sealed_sets_no_more_than_measured(reports):
    """The price of the low threat threshold: 26 of 164 harmless posts flagged (20 as a threat, 6 as an insult;
    before round 4: 16). A floor against regressions, not a target."""
    assert _false_alarms(reports["sealed"]["harm"]) <= 26, reports["sealed"]["harm"].confusion


def test_demo_posts(reports):
    """The demo's 37 posts: every threat found; the low threat threshold costs two false alarms (see docs/evaluation-history.md)."""
    harm = reports["demo_gold"]["harm"]
    assert harm.per_class()["threat"]["recall"] == 1.0
    assert _false_alarms(harm) <= 2 and harm.macro_f1 >= 0.85, harm.confusion
    assert reports["demo_gold"]["sentiment"].macro_f1 >= 0.75


def test_titled_complaints_about_things_are_not_insults(clf):
    """A one-word title over a complaint that judges a thing, as RSS items are built: no insult. The heads up to
    round 8 (2.b36a76, 2.ebca6f) read these as insults at 0.52-0.90 (docs/evaluation-history.md, 'Round 5'); the
    round-9 heads, trained with three more stream-like writers, do not."""
    out = clf.classify(
        [
            "Rooster\nHet rooster van het Ley College is weer waardeloos en slecht geregeld.",
            "Rooster\nHet rooster van het Ley College is weer rommelig en slecht geregeld.",
        ]
    )
    assert [o.harm for o in out] == ["none", "none"]


def test_demo_false_alarms_are_gone(clf):
    """The two posts that woke a school leader for nothing in the demo: angry complaints, harm none."""
    out = clf.classify(
        [
            "Is het nou zo moeilijk om het rooster op tijd te publiceren? Dit is de derde keer dit jaar dat "
            "#LeyCollege pas op zondagavond laat weten dat er lessen uitvallen 😤",
            "Levensgevaarlijk elke ochtend bij De Regenboog in Leiderdorp: auto's op de stoep, kinderen die tussen "
            "de bumpers door moeten. Wanneer grijpt de gemeente in? 😠",
        ]
    )
    assert [(o.harm, o.sentiment) for o in out] == [("none", "negative"), ("none", "negative")]


@pytest.mark.parametrize(
    "text",
    [
        "Mijn dochter hoorde pas op vrijdag dat de excursie niet doorging",  # pas = only
        "Pas op bij het fietspad voor de school, het is spiegelglad",  # a warning about traffic
        "Je moet goed oppassen als je daar met de fiets oversteekt",
        "ik vermoord je als je zegt wie de mol is 😂",  # jokey idiom between friends
        "potje fifa vanavond? ik maak je kapot haha",  # gaming
        "Zondag de finale tegen Alphen, die gaan we afmaken! ⚽",  # sports
        "mijn vader gaat me vermoorden als hij dit cijfer ziet",  # the writer is the 'victim'
    ],
)
def test_rules_leave_warnings_and_jokey_idioms_alone(rules, text):
    assert rules.classify([text])[0].harm == "none", text


@pytest.mark.parametrize(
    "text",
    [
        "Pas maar op juf, jij bent de volgende",
        "Die conrector moet oppassen, ik meen het",
        "ik neem morgen een mes mee voor die leraar 😂",  # a weapon is never a joke
        "ik vermoord die docent als hij me weer laat zitten 😂",  # staff with a real grievance
        "Ik weet hoe laat u uit school komt, meneer. En welke auto u rijdt.",  # intimidation: watched
        "stond gisteren weer achter je bij de bakker, je merkte het niet eens",
        "Ik heb benzine in de schuur staan, de school weet wel waarom",
    ],
)
def test_rules_still_flag_real_threats(rules, text):
    lab = rules.classify([text])[0]
    assert lab.harm == "threat" and lab.cues, text
