"""The `[classifier]` section of the config."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TransformersConfig:
    """`[classifier.transformers]`: fine-tuned Dutch models by Hugging Face id or local path.

    Label lists map each model output index to one of our labels (by index, not by
    the model's own label names). A model set to "none" is not used.
    """

    sentiment_model: str | None = "BramVanroy/robbert-v2-dutch-base-hebban-reviews"
    sentiment_labels: list[str] = field(default_factory=lambda: ["negative", "neutral", "positive"])
    toxicity_model: str | None = "ml6team/robbert-dutch-base-toxic-comments"
    toxicity_labels: list[str] = field(default_factory=lambda: ["none", "insult"])
    severity_model: str | None = "IMSyPP/hate_speech_nl"
    severity_labels: list[str] = field(default_factory=lambda: ["none", "none", "insult", "threat"])
    toxicity_threshold: float = 0.5      # P(toxic) at or above this makes at least an insult
    max_length: int = 256                # tokens; longer posts are truncated
    batch_size: int = 16
    offline: bool = True                 # load only from the local cache / path (no network)
    cache_dir: str | None = None         # Hugging Face cache; default: the HF default


@dataclass
class ClassifierConfig:
    """How mentions are classified; see README "Classifier" for every key."""

    backend: str = "default"             # default (e5 heads + rules) | rules | transformers
    heads_path: str | None = None        # trained heads (.npz); default: the shipped classifiers/data/heads.npz
    threat_threshold: float | None = None   # model P(threat) for a threat; default: tuned value in the heads
    insult_threshold: float | None = None   # model P(insult) for an insult; default: tuned value in the heads
    rules_threat: bool = True            # a threat found by the rules is a threat whatever the model says
    rules_insult: bool = True            # an insult found by the rules is an insult whatever the model says
    batch_size: int = 32                 # posts per encoder call
    transformers: TransformersConfig = field(default_factory=TransformersConfig)
