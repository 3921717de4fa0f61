"""transformers backend: fine-tuned Dutch sequence classifiers, mapped to our labels by index.

Batched with truncation; offline mode (config `offline`, or HF_HUB_OFFLINE /
TRANSFORMERS_OFFLINE in the environment) loads only from a local path or cache.
A threat found by the rules stays a threat (combination in `TransformersClassifier`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from classifiers.rules import sentiment_scores
from core.config import TransformersConfig

from .base import HARMS, SENTIMENTS, Labels
from .rules import analyse, cues, harm_kind, rule_scores

NAME = "transformers"
VERSION = "1.0"


class ClassifierError(RuntimeError):
    """A classifier cannot be built or run; the message is one line for the user."""


def is_offline(cfg: TransformersConfig) -> bool:
    env = any(
        os.environ.get(k, "").lower() in ("1", "true", "yes", "on") for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )
    return cfg.offline or env


def enabled(model_id: str | None) -> bool:
    """A model key is on unless empty, "none" or "off"."""
    return bool(model_id) and model_id.strip().lower() not in ("none", "off")


def configured_models(cfg: TransformersConfig) -> list[tuple[str, str, list[str]]]:
    """(role, model id or path, labels) for every model that is switched on."""
    out = []
    for role in ("sentiment", "toxicity", "severity"):
        mid = getattr(cfg, f"{role}_model")
        if enabled(mid):
            out.append((role, mid, list(getattr(cfg, f"{role}_labels"))))
    return out


class SequenceModel:
    """One AutoModelForSequenceClassification with its tokenizer; returns softmax probabilities."""

    def __init__(self, model_id: str, labels: list[str], cfg: TransformersConfig, allowed: Sequence[str]) -> None:
        bad = [x for x in labels if x not in allowed]
        if bad:
            raise ClassifierError(f"{model_id}: label {bad[0]!r} not one of {', '.join(dict.fromkeys(allowed))}")
        try:
            import torch  # noqa: F401
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as e:  # pragma: no cover - transformers is a dependency
            raise ClassifierError(f"transformers backend needs the transformers and torch packages ({e})") from None
        local = is_offline(cfg) or os.path.isdir(model_id)
        kw: dict[str, Any] = {"local_files_only": local}
        if cfg.cache_dir:
            kw["cache_dir"] = cfg.cache_dir
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_id, **kw)
            self.model = AutoModelForSequenceClassification.from_pretrained(model_id, **kw)
        except Exception as e:  # noqa: BLE001 - transformers raises many kinds; one line for the user
            hint = " (offline: run `edumon models pull` when online, or give a local path)" if local else ""
            raise ClassifierError(f"cannot load model {model_id!r}{hint}: {str(e).splitlines()[0][:200]}") from None
        self.model.eval()
        n = int(self.model.config.num_labels)
        if n != len(labels):
            raise ClassifierError(f"{model_id}: model has {n} outputs but {len(labels)} labels are configured")
        self.model_id = model_id
        self.labels = labels
        self.max_length = cfg.max_length
        self.batch_size = max(1, cfg.batch_size)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """(n, num_labels) probabilities, in batches, truncated to max_length tokens."""
        import torch

        out = []
        for i in range(0, len(texts), self.batch_size):
            enc = self.tokenizer(
                list(texts[i : i + self.batch_size]),
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            )
            enc.pop("token_type_ids", None) if "token_type_ids" not in self.tokenizer.model_input_names else None
            with torch.no_grad():
                logits = self.model(**enc).logits
            out.append(torch.softmax(logits.float(), dim=-1).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), dtype=np.float32)

    def mapped(self, probs: np.ndarray, classes: Sequence[str]) -> np.ndarray:
        """Sum the probabilities of the model outputs mapped to each of our classes (by index)."""
        m = np.zeros((probs.shape[0], len(classes)), dtype=np.float32)
        for j, lab in enumerate(self.labels):
            m[:, classes.index(lab)] += probs[:, j]
        return m


class TransformersClassifier:
    """Sentiment from one model, harm from toxicity and severity models, plus the rules for threats."""

    name = NAME
    version = VERSION

    def __init__(
        self, cfg: TransformersConfig | None = None, rules_threat: bool = True, rules_insult: bool = True
    ) -> None:
        self.cfg = cfg or TransformersConfig()
        self.rules_threat = rules_threat
        self.rules_insult = rules_insult
        c = self.cfg
        self.sentiment = (
            SequenceModel(c.sentiment_model, c.sentiment_labels, c, SENTIMENTS) if enabled(c.sentiment_model) else None
        )
        self.toxicity = (
            SequenceModel(c.toxicity_model, c.toxicity_labels, c, ("none", "insult"))
            if enabled(c.toxicity_model)
            else None
        )
        self.severity = (
            SequenceModel(c.severity_model, c.severity_labels, c, HARMS) if enabled(c.severity_model) else None
        )
        ids = [m.model_id.rstrip("/").split("/")[-1] for m in (self.sentiment, self.toxicity, self.severity) if m]
        self.version = f"{VERSION}:{'+'.join(ids) or 'rules'}"

    def classify(self, texts: Sequence[str]) -> list[Labels]:
        texts = [str(t) for t in texts]
        n = len(texts)
        if not n:
            return []
        hits = [analyse(t) for t in texts]
        sent = self.sentiment.mapped(self.sentiment.predict(texts), SENTIMENTS) if self.sentiment else None
        harm = np.tile(np.array([1.0, 0.0, 0.0], dtype=np.float32), (n, 1))
        if self.severity:
            harm = self.severity.mapped(self.severity.predict(texts), HARMS)
        tox = self.toxicity.mapped(self.toxicity.predict(texts), ("none", "insult"))[:, 1] if self.toxicity else None
        out = []
        for i, (t, h) in enumerate(zip(texts, hits)):
            ph = dict(zip(HARMS, map(float, harm[i])))
            label = max(ph, key=ph.__getitem__)
            if label == "none" and tox is not None and tox[i] >= self.cfg.toxicity_threshold:
                label = "insult"
            if self.rules_threat and max(h.threat_score(), h.strong_score()) >= 1.0:
                label = "threat"
            elif label == "none" and self.rules_insult and h.insult_score() >= 1.0:
                label = "insult"
            c = cues(h, label) or ((f"model:{label}",) if label != "none" else ())
            scores = {f"harm.{k}": round(v, 4) for k, v in ph.items()}
            if tox is not None:
                scores["toxicity"] = round(float(tox[i]), 4)
            # what triage reads: the rules' own scores, where the config lets the rules decide
            scores.update(rule_scores(h, self.rules_threat, self.rules_insult))
            if sent is not None:
                ps = dict(zip(SENTIMENTS, map(float, sent[i])))
            else:
                ps = sentiment_scores(h)
            scores.update({f"sentiment.{k}": round(v, 4) for k, v in ps.items()})
            out.append(
                Labels(
                    sentiment=max(ps, key=ps.__getitem__),
                    harm=label,
                    harm_kind=harm_kind(h, label, t),
                    scores=scores,
                    cues=c,
                    classifier=f"{self.name}/{self.version}",
                )
            )
        return out


def pull(cfg: TransformersConfig, log: Any = print) -> list[str]:
    """Download the configured models into the Hugging Face cache; returns the ids fetched."""
    models = configured_models(cfg)
    if not models:
        raise ClassifierError("no transformers models configured ([classifier.transformers] *_model keys)")
    env = [
        k
        for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
        if os.environ.get(k, "").lower() in ("1", "true", "yes", "on")
    ]
    if env:
        raise ClassifierError(f"offline ({env[0]}=1 is set): cannot download models; unset it when online")
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover
        raise ClassifierError("cannot download models: huggingface_hub is not installed") from None
    done = []
    for role, mid, _ in models:
        if os.path.isdir(mid):
            log(f"{role}: {mid} is a local path, nothing to fetch")
            continue
        try:
            path = snapshot_download(mid, cache_dir=cfg.cache_dir)
        except Exception as e:  # noqa: BLE001
            raise ClassifierError(
                f"cannot download {mid!r} (offline or hub unreachable?): {str(e).splitlines()[0][:160]}"
            ) from None
        log(f"{role}: {mid} -> {path}")
        done.append(mid)
    return done
