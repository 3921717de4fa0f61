"""Dutch classifiers: sentiment and harm."""
from __future__ import annotations

from .base import HARM_KINDS, HARMS, SENTIMENTS, Classifier, Labels
from .config import ClassifierConfig


def load_classifier(cfg: ClassifierConfig | None = None) -> Classifier:
    """The configured classifier (default: works offline with no downloads)."""
    from .lexicon import LexiconClassifier

    return LexiconClassifier()


__all__ = ["Classifier", "ClassifierConfig", "HARMS", "HARM_KINDS", "Labels", "SENTIMENTS", "load_classifier"]
