"""An on-disk cache of encoder embeddings keyed by text hash, so retraining reruns skip the encoder.

    .venv/bin/python bench/embed_cache.py fill --shared-data ../shared/data   # embeds the training texts once

`CachedEncoder` wraps the encoder: texts already in the cache file are read from it, the rest are embedded and
added. The file lives under /tmp (never committed). Used by bench/retrain_cv.py and `bench_triage.py`.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CACHE = Path("/tmp/edumon-embeddings.npz")


def key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class CachedEncoder:
    """Embeds each text once across runs (cache in an npz under /tmp)."""

    def __init__(self, inner: object | None = None, path: Path = CACHE) -> None:
        self.path = path
        self._inner = inner
        self.cache: dict[str, np.ndarray] = {}
        if path.exists():
            z = np.load(path)
            self.cache = dict(zip(z["keys"].tolist(), z["emb"]))
        self.dim = 384

    @property
    def inner(self) -> object:
        if self._inner is None:
            from classifiers.embedded import Encoder

            self._inner = Encoder()
        return self._inner

    def encode(self, texts: Sequence[str], chunk: int = 256) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if key(t) not in self.cache]
        for i in range(0, len(missing), chunk):
            part = missing[i : i + chunk]
            self.cache.update(zip(map(key, part), self.inner.encode(part)))  # type: ignore[attr-defined]
            self.save()
            print(f"embedded {i + len(part)} of {len(missing)} new texts", file=sys.stderr, flush=True)
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return np.stack([self.cache[key(t)] for t in texts])

    def save(self) -> None:
        keys = list(self.cache)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), emb=np.stack([self.cache[k] for k in keys]))
        tmp.replace(self.path)


def training_texts(shared: str | None) -> list[str]:
    from classifiers.train import extra_examples, hatecheck_examples, school_examples, xed_examples

    ex = school_examples("train") + extra_examples()
    if shared:
        rng = np.random.default_rng(13)
        ex += hatecheck_examples(Path(shared), 0.05, 1500, rng) + xed_examples(Path(shared), 0.0, 1500, rng)
    return [e.text for e in ex]


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["fill"])
    ap.add_argument("--shared-data", default=None)
    a = ap.parse_args()
    texts = training_texts(a.shared_data)
    print(f"{len(texts)} training texts, {len(set(texts))} distinct", flush=True)
    CachedEncoder().encode(texts)
    print("done", flush=True)
