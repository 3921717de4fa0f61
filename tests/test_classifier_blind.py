"""The shipped classifier on posts nobody who tuned it had read: the sealed blind sets and the demo's posts.

Round 4 (see the README): blind_m and blind_n (300 posts, two writers) were written and sealed before the
final heads existed and are evaluation only; blind_d, blind_e and blind_f were the first round-4 measurement
and are now training data, like blind_a, blind_b and blind_c before them. demo_gold holds the demo's posts,
labelled by hand, never trained on.
"""
from __future__ import annotations

import pytest

from classifiers import load_classifier
from classifiers.evaluate import DATA_DIR, evaluate, load_split, read_jsonl
from classifiers.rules import RulesClassifier
from classifiers.train import EXTRA_TRAIN

SEALED = ("blind_m", "blind_n")


def _rows(name: str) -> list[dict]:
    return read_jsonl(DATA_DIR / f"{name}.jsonl")


def _key(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.fixture(scope="module")
def clf():
    return load_classifier()


@pytest.fixture(scope="module")
def rules() -> RulesClassifier:
    return RulesClassifier()


def test_sealed_sets_are_never_trained_on_and_share_no_post_with_training():
    assert not set(SEALED) & set(EXTRA_TRAIN) and "demo_gold" not in EXTRA_TRAIN
    trained = {_key(r["text"]) for r in load_split("train")} | {
        _key(r["text"]) for name in EXTRA_TRAIN for r in _rows(name)}
    for name in SEALED + ("demo_gold",):
        rows = _rows(name)
        assert len(rows) >= (30 if name == "demo_gold" else 150)
        assert not {_key(r["text"]) for r in rows} & trained, name
    assert not {_key(r["text"]) for r in _rows("blind_m")} & {_key(r["text"]) for r in _rows("blind_n")}


@pytest.fixture(scope="module")
def reports(clf):
    sealed = [r for name in SEALED for r in _rows(name)]
    return {"sealed": evaluate(clf, sealed), "demo_gold": evaluate(clf, _rows("demo_gold"))}


def _false_alarms(report) -> int:
    """Harmless posts (gold none) labelled insult or threat: alerts that wake someone for nothing."""
    row = report.confusion[report.labels.index("none")]
    return sum(row) - row[report.labels.index("none")]


def test_harm_and_sentiment_targets_on_the_sealed_sets(reports):
    """Issue 5's targets on posts by writers the classifier never read (measured: harm 0.889, sentiment 0.857)."""
    harm, sent = reports["sealed"]["harm"], reports["sealed"]["sentiment"]
    assert harm.macro_f1 >= 0.85, harm.macro_f1
    assert sent.macro_f1 >= 0.75, sent.macro_f1
    assert harm.per_class()["insult"]["precision"] >= 0.9 and harm.per_class()["insult"]["recall"] >= 0.9


def test_threat_recall_on_the_sealed_sets_no_worse_than_measured(reports):
    """A floor against regressions: 74 of 80 threats found (0.925; the shipped classifier before round 4: 0.700),
    at the price of 26 of 164 harmless posts flagged (before: 17)."""
    harm = reports["sealed"]["harm"]
    assert harm.per_class()["threat"]["recall"] >= 0.92, harm.per_class()
    assert _false_alarms(harm) <= 26, harm.confusion


@pytest.mark.xfail(strict=True, reason="measured 0.925 (74 of 80) on blind_m + blind_n: six veiled threats and "
                                       "stalking posts are read as harmless; see the README, 'Round 4'")
def test_threat_recall_target_on_the_sealed_sets(reports):
    assert reports["sealed"]["harm"].per_class()["threat"]["recall"] >= 0.95


def test_demo_posts(reports):
    """The demo's 37 posts: every threat found; the low threat threshold costs two false alarms (see README)."""
    harm = reports["demo_gold"]["harm"]
    assert harm.per_class()["threat"]["recall"] == 1.0
    assert _false_alarms(harm) <= 2 and harm.macro_f1 >= 0.85, harm.confusion
    assert reports["demo_gold"]["sentiment"].macro_f1 >= 0.75


def test_demo_false_alarms_are_gone(clf):
    """The two posts that woke a school leader for nothing in the demo: angry complaints, harm none."""
    out = clf.classify([
        "Is het nou zo moeilijk om het rooster op tijd te publiceren? Dit is de derde keer dit jaar dat "
        "#LeyCollege pas op zondagavond laat weten dat er lessen uitvallen 😤",
        "Levensgevaarlijk elke ochtend bij De Regenboog in Leiderdorp: auto's op de stoep, kinderen die tussen "
        "de bumpers door moeten. Wanneer grijpt de gemeente in? 😠",
    ])
    assert [(o.harm, o.sentiment) for o in out] == [("none", "negative"), ("none", "negative")]


@pytest.mark.parametrize("text", [
    "Mijn dochter hoorde pas op vrijdag dat de excursie niet doorging",      # pas = only
    "Pas op bij het fietspad voor de school, het is spiegelglad",            # a warning about traffic
    "Je moet goed oppassen als je daar met de fiets oversteekt",
    "ik vermoord je als je zegt wie de mol is 😂",                           # jokey idiom between friends
    "potje fifa vanavond? ik maak je kapot haha",                            # gaming
    "Zondag de finale tegen Alphen, die gaan we afmaken! ⚽",                 # sports
    "mijn vader gaat me vermoorden als hij dit cijfer ziet",                 # the writer is the 'victim'
])
def test_rules_leave_warnings_and_jokey_idioms_alone(rules, text):
    assert rules.classify([text])[0].harm == "none", text


@pytest.mark.parametrize("text", [
    "Pas maar op juf, jij bent de volgende",
    "Die conrector moet oppassen, ik meen het",
    "ik neem morgen een mes mee voor die leraar 😂",                         # a weapon is never a joke
    "ik vermoord die docent als hij me weer laat zitten 😂",                  # staff with a real grievance
    "Ik weet hoe laat u uit school komt, meneer. En welke auto u rijdt.",    # intimidation: watched
    "stond gisteren weer achter je bij de bakker, je merkte het niet eens",
    "Ik heb benzine in de schuur staan, de school weet wel waarom",
])
def test_rules_still_flag_real_threats(rules, text):
    lab = rules.classify([text])[0]
    assert lab.harm == "threat" and lab.cues, text
