"""The classifier contract: every backend turns texts into `Labels`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from core.vocabulary import HARM_KINDS, HARMS, SENTIMENTS

__all__ = ["HARM_KINDS", "HARMS", "SENTIMENTS", "Labels", "Classifier"]


@dataclass(frozen=True)
class Labels:
    """What a classifier says about one text."""

    sentiment: str  # one of SENTIMENTS
    harm: str  # one of HARMS
    harm_kind: str | None = None  # one of HARM_KINDS, where known
    scores: dict[str, float] = field(default_factory=dict)  # "sentiment.negative": 0.8, "harm.threat": 0.1
    cues: tuple[str, ...] = ()  # the words/patterns that triggered a harm label
    classifier: str = ""  # "name/version"


class Classifier(Protocol):
    name: str
    version: str

    def classify(self, texts: Sequence[str]) -> list[Labels]:
        """Label each text; the output has the same length and order as the input."""
        ...
