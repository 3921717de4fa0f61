"""Shared by the sealed-set tests of each round (tests/test_classifier_rounds.py): classify and
triage a round's sealed sets once, count triage decisions per gold label, the labels' macro-F1s,
and whether a set shares a post with the training data."""

from __future__ import annotations

from pathlib import Path

from classifiers import load_classifier
from classifiers.base import Classifier
from classifiers.datasets import labelled, load_split
from classifiers.evaluate import confusion
from classifiers.language import detect
from classifiers.train import EXTRA_TRAIN
from core.config import ClassifierConfig, TriageConfig
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


def measure_pinned(names: tuple[str, ...], heads: Path, version: str, cfg: TriageConfig) -> dict:
    """A past round's measurement: that round's heads (kept in tests/data) with its [triage] values."""
    clf = load_classifier(ClassifierConfig(heads_path=str(heads)))
    assert clf.version == version, clf.version
    return measure(names, clf, cfg)


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


def triage_counts(m: dict) -> dict[str, int]:
    """The posts per gold label and the triage counts issue 15's targets read."""
    return {
        "harmless": count(m, ("none",), ())[1],
        "threats": count(m, ("threat",), ())[1],
        "insults": count(m, ("insult",), ())[1],
        "harmless_alert": count(m, ("none",), ("alert",))[0],
        "harmless_review": count(m, ("none",), ("review",))[0],
        "threat_alert": count(m, ("threat",), ("alert",))[0],
        "threat_seen": count(m, ("threat",), ("alert", "review"))[0],
        "insult_seen": count(m, ("insult",), ("alert", "review"))[0],
    }


def assert_floors(counts: dict[str, int], most: dict[str, int], least: dict[str, int]) -> None:
    """Each count in `most` at most its measured value, each in `least` at least; a failure names every miss."""
    misses = [f"{k} {counts[k]} > {v}" for k, v in most.items() if counts[k] > v]
    misses += [f"{k} {counts[k]} < {v}" for k, v in least.items() if counts[k] < v]
    assert not misses, "; ".join(misses)
