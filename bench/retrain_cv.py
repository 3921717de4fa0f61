"""Out-of-writer predictions of retrained heads, per variant, on cached embeddings (prints; asserts nothing).

    .venv/bin/python bench/embed_cache.py fill --shared-data ../shared/data      # once: embeds the texts
    .venv/bin/python bench/retrain_cv.py --shared-data ../shared/data --folds 4 --weights 1,1,1 2,1,1 [--members N]

Per variant (harm class weights none,insult,threat) it writes `/tmp/<tag>-oof-<w>.npz` (tag: r8): each writer's posts
predicted by heads trained without that writer (grouped k-fold over writers), for `bench/bench_triage.py cv`.
The examples, features and fits are those of `edumon train` (`classifiers.train`); only the encoder reads the
embedding cache. `--final W` then trains the heads with weights W like `edumon train --cv-folds` does.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.embed_cache import CachedEncoder  # noqa: E402
from classifiers.base import HARMS  # noqa: E402
from classifiers.embedded import features  # noqa: E402
from classifiers.rules import analyse  # noqa: E402
from classifiers.train import (  # noqa: E402
    WRITERS,
    cross_validate,
    extra_examples,
    hatecheck_examples,
    save_out_of_writer,
    school_examples,
    train,
    xed_examples,
)


def out_of_writer(
    shared: str | None, folds: int, seed: int, weights: list[str], tag: str = "r8", members: int = 1
) -> None:
    rng = np.random.default_rng(seed)
    ex = school_examples("train") + extra_examples()
    if shared:
        ex += hatecheck_examples(Path(shared), 0.05, 1500, rng) + xed_examples(Path(shared), 0.0, 1500, rng)
    texts = [e.text for e in ex]
    x = features(CachedEncoder().encode(texts), [analyse(t) for t in texts]).astype(np.float64)
    z = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)
    w = np.array([e.weight for e in ex])
    idx = np.flatnonzero([e.harm is not None for e in ex])
    groups = [WRITERS.get(ex[i].source) for i in idx]
    yh = np.array([HARMS.index(ex[i].harm) for i in idx])
    held = np.array([g is not None for g in groups])
    print(f"{len(ex)} texts, {len(idx)} with harm labels, {int(held.sum())} by {len(set(groups) - {None})} writers")
    for spec in weights:
        cw = [float(v) for v in spec.split(",")]
        t = time.perf_counter()
        p = cross_validate(z[idx], yh, w[idx], groups, seed, print, folds, None if cw == [1, 1, 1] else cw, members)
        out = f"/tmp/{tag}-oof-{spec.replace(',', '-')}.npz"
        save_out_of_writer(out, p[held], yh[held], [g for g in groups if g], [texts[i] for i in idx[held]])
        print(f"variant {spec}: {out} in {time.perf_counter() - t:.0f} s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared-data", default=None)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--weights", nargs="*", default=["1,1,1"])
    ap.add_argument("--final", default=None, help="Train the heads with these weights; write them to --out.")
    ap.add_argument("--out", default="/tmp/r8-heads-{version}.npz")
    ap.add_argument("--tag", default="r8", help="Prefix of the /tmp files written (r8-oof-<w>.npz).")
    ap.add_argument(
        "--members", type=int, default=1, help="Networks per head (the shipped heads: 1; round 10 measured 3)."
    )
    a = ap.parse_args()
    if a.final:
        cw = [float(v) for v in a.final.split(",")]
        heads = train(
            shared=a.shared_data,
            out=a.out,
            seed=a.seed,
            encoder=CachedEncoder(),  # type: ignore[arg-type]
            cv_out=f"/tmp/{a.tag}-final-oof-{a.final.replace(',', '-')}.npz",
            cv_folds=a.folds,
            harm_class_weight=None if cw == [1, 1, 1] else cw,
            members=a.members,
        )
        print(f"final {a.final}: {heads.meta['version']} {heads.meta}")
        return
    out_of_writer(a.shared_data, a.folds, a.seed, a.weights, a.tag, a.members)


if __name__ == "__main__":
    main()
