"""Shared by the sealed-set tests of each round (tests/test_classifier_round*.py): classify and
triage a round's sealed sets once, count triage decisions per gold label, the labels' macro-F1s,
and whether a set shares a post with the training data."""

from __future__ import annotations

from classifiers.base import Classifier
from classifiers.datasets import labelled, load_split
from classifiers.evaluate import confusion
from classifiers.language import detect
from classifiers.train import EXTRA_TRAIN
from core.config import TriageConfig
from core.vocabulary import HARMS, SENTIMENTS
from protocol.triage import triage


def text_key(text: str) -> str:
    return " ".join(text.lower().split())


def measure(names: tuple[str, ...], clf: Classifier, cfg: TriageConfig) -> dict:
    """The sets' rows, the classifier's labels and the triage decision of each post."""
    rows = [r for name in names for r in labelled(name).read()]
    labels = clf.classify([r["text"] for r in rows])
    decisions = [triage(lab, detect(r["text"]), cfg).decision for lab, r in zip(labels, rows)]
    return {"rows": rows, "labels": labels, "triage": decisions}


def count(m: dict, gold: tuple[str, ...], decided: tuple[str, ...]) -> tuple[int, int]:
    """(posts of a `gold` harm label whose triage is one of `decided`, posts of that label)."""
    pairs = [(r["harm"], t) for r, t in zip(m["rows"], m["triage"]) if r["harm"] in gold]
    return sum(t in decided for _, t in pairs), len(pairs)


def macro_f1s(m: dict) -> tuple[float, float]:
    """Harm and sentiment macro-F1 of the measured labels."""
    rows, labels = m["rows"], m["labels"]
    harm = confusion([r["harm"] for r in rows], [lab.harm for lab in labels], HARMS)
    sent = confusion([r["sentiment"] for r in rows], [lab.sentiment for lab in labels], SENTIMENTS)
    return harm.macro_f1, sent.macro_f1


def assert_no_post_shared_with_training(names: tuple[str, ...]) -> None:
    """Each set has 300 posts, none of them in the training data besides the sets themselves."""
    others = {text_key(r["text"]) for r in load_split("train")} | {
        text_key(r["text"]) for name in set(EXTRA_TRAIN) - set(names) for r in labelled(name).read()
    }
    for name in names:
        rows = labelled(name).read()
        assert len(rows) == 300 and not {text_key(r["text"]) for r in rows} & others, name
