"""The shipped classifier on posts its rules' author did not write: the blind set and the demo's posts.

blind_b is evaluation-only (never trained or tuned on); blind_a may be trained on; demo_gold holds the
demo's posts labelled by hand and is not trained on either.
"""
from __future__ import annotations

import pytest

from classifiers import load_classifier
from classifiers.evaluate import DATA_DIR, evaluate, load_split, read_jsonl
from classifiers.rules import RulesClassifier
from classifiers.train import EXTRA_TRAIN


def _rows(name: str) -> list[dict]:
    return read_jsonl(DATA_DIR / f"{name}.jsonl")


@pytest.fixture(scope="module")
def clf():
    return load_classifier()


@pytest.fixture(scope="module")
def rules() -> RulesClassifier:
    return RulesClassifier()


def test_blind_b_and_demo_are_never_trained_on_and_sets_are_disjoint():
    assert "blind_b" not in EXTRA_TRAIN and "demo_gold" not in EXTRA_TRAIN and "blind_a" in EXTRA_TRAIN
    assert "blind_c" not in EXTRA_TRAIN and "veiled_train" in EXTRA_TRAIN
    seen = {r["text"].lower() for s in ("train", "dev", "test") for r in load_split(s)}
    a = {r["text"].lower() for r in _rows("blind_a")}
    b = {r["text"].lower() for r in _rows("blind_b")}
    c = {r["text"].lower() for r in _rows("blind_c")}
    v = {r["text"].lower() for r in _rows("veiled_train")}
    assert len(a) > 100 and len(b) > 100 and len(c) > 100 and len(v) > 80
    assert not a & b and not b & seen and not a & seen
    # blind_c (evaluation only) shares no post with anything trained or tuned on
    assert not c & (a | b | seen | v) and not v & (b | seen)


@pytest.fixture(scope="module")
def reports(clf):
    return {name: evaluate(clf, _rows(name)) for name in ("blind_b", "blind_c", "demo_gold")}


def _false_alarms(report) -> int:
    """Harmless posts (gold none) labelled insult or threat: alerts that wake someone for nothing."""
    row = report.confusion[report.labels.index("none")]
    return sum(row) - row[report.labels.index("none")]


def _alert_precision(report) -> float:
    """Of the posts flagged (insult or threat), the share that is harmful (gold insult or threat)."""
    none = report.labels.index("none")
    flagged = sum(r[j] for r in report.confusion for j in range(len(report.labels)) if j != none)
    return (flagged - _false_alarms(report)) / flagged if flagged else 1.0


@pytest.mark.parametrize("name", ["blind_b", "demo_gold"])
def test_shipped_classifier_meets_f1_targets_without_false_alarms(reports, name):
    harm, sent = reports[name]["harm"], reports[name]["sentiment"]
    assert harm.macro_f1 >= 0.85, harm.macro_f1
    assert sent.macro_f1 >= 0.75, sent.macro_f1
    # irrelevant alerts are what users complain about most: (almost) every flagged post must be harmful
    assert _false_alarms(harm) <= 1, harm.confusion
    assert _alert_precision(harm) >= 0.95, harm.confusion
    assert harm.per_class()["insult"]["precision"] >= 0.9, harm.per_class()
    # since the heads learnt veiled threats (e5-heads/1.dcd03e) two blind_b insults (a smear, "die debiel
    # Kevin ... gooi hem eruit") read as threats: still an alert about a harmful post, but the wrong kind
    assert harm.per_class()["threat"]["precision"] >= 0.85, harm.per_class()


def test_threat_recall_on_demo_posts(reports):
    assert reports["demo_gold"]["harm"].per_class()["threat"]["recall"] >= 0.95


@pytest.mark.xfail(strict=True, reason="measured 0.909 on blind_b (20 of 22; was 0.636 before the heads learnt "
                                       "veiled threats from veiled_train): two veiled threats missed; see README")
def test_threat_recall_target_on_blind_b(reports):
    assert reports["blind_b"]["harm"].per_class()["threat"]["recall"] >= 0.95


def test_blind_c_no_worse_than_measured(reports):
    """blind_c (never trained or tuned on): what the shipped classifier reached, as a floor against regressions."""
    harm, sent = reports["blind_c"]["harm"], reports["blind_c"]["sentiment"]
    assert harm.per_class()["threat"]["recall"] >= 0.70, harm.per_class()      # 0.733 (33 of 45); was 0.556
    assert harm.macro_f1 >= 0.80, harm.macro_f1                                 # 0.811; was 0.789
    assert sent.macro_f1 >= 0.75, sent.macro_f1                                 # 0.773, unchanged
    assert _false_alarms(harm) <= 9, harm.confusion                             # 9 of 62 harmless; was 8


@pytest.mark.xfail(strict=True, reason="measured 0.733 on blind_c (33 of 45; 0.556 before): veiled threats with "
                                       "no violent word or watched-target cue are still missed; see README")
def test_threat_recall_target_on_blind_c(reports):
    assert reports["blind_c"]["harm"].per_class()["threat"]["recall"] >= 0.95


@pytest.mark.xfail(strict=True, reason="measured harm macro-F1 0.811, threat precision 0.750 (9 of 62 harmless "
                                       "posts read as threats: idioms, gaming, 'ik weet waar je woont' between "
                                       "friends) on blind_c; see README")
def test_f1_and_precision_targets_on_blind_c(reports):
    harm = reports["blind_c"]["harm"]
    assert harm.macro_f1 >= 0.85 and harm.per_class()["threat"]["precision"] >= 0.9, harm.per_class()


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
