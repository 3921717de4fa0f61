"""Triage figures: false alerts per 1,000 harmless posts and alert precision at a 3% base rate (prints; asserts nothing).

    .venv/bin/python -m edumon train --cv-out /tmp/oof.npz        # out-of-writer predictions (slow)
    .venv/bin/python bench/bench_triage.py cv /tmp/oof.npz [--tune]
    .venv/bin/python bench/bench_triage.py sealed [--legacy] [--backend rules]   # ONCE per round: sealed sets
    .venv/bin/python bench/bench_triage.py speed [--n 200]

`cv` reads the out-of-writer harm probabilities of `edumon train --cv-out` (each writer's posts predicted by
heads that never read that writer), runs the rules and the language detector on the same texts and applies
`protocol.triage.triage` with the [triage] defaults; `--tune` searches the thresholds on them (the defaults in
core/config.py came from here). `sealed` classifies the round-6 sealed sets: run it once at the start of a
round and once at its end, never to tune. `--legacy` is the rule before triage: every harm label alerts.
`speed` compares classify + language + triage with the encoder alone (must stay within 1.25x).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifiers import load_classifier  # noqa: E402
from classifiers.base import Labels  # noqa: E402
from classifiers.datasets import labelled  # noqa: E402
from classifiers.evaluate import confusion  # noqa: E402
from classifiers.language import detect  # noqa: E402
from classifiers.rules import analyse  # noqa: E402
from core.config import TriageConfig  # noqa: E402
from core.vocabulary import HARMS, SENTIMENTS, TRIAGES  # noqa: E402
from protocol.triage import triage  # noqa: E402

SEALED = ("r6-w17", "r6-w18", "r6-w19")
BASE_RATE = 0.03
TARGETS = {"harmless_alert": 0.02, "harmless_review": 0.10, "threat_alert": 0.85, "threat_alert_or_review": 0.97}


def figures(decisions: list[str], gold: list[str]) -> dict[str, float]:
    """The issue's triage figures for decisions against gold harm labels."""
    d, g = np.array(decisions), np.array(gold)
    harmless, threat, harmful = g == "none", g == "threat", g != "none"

    def rate(mask: np.ndarray, what: np.ndarray) -> float:
        return float((what & mask).sum() / max(mask.sum(), 1))

    fpr, tpr = rate(harmless, d == "alert"), rate(harmful, d == "alert")
    return {
        "posts": int(len(g)),
        "harmless": int(harmless.sum()),
        "threats": int(threat.sum()),
        "harmless_alert": round(fpr, 4),
        "harmless_review": round(rate(harmless, d == "review"), 4),
        "threat_alert": round(rate(threat, d == "alert"), 4),
        "threat_alert_or_review": round(rate(threat, d != "none"), 4),
        "insult_alert_or_review": round(rate(g == "insult", d != "none"), 4),
        "harmful_alert": round(tpr, 4),
        "false_alerts_per_1000_harmless": round(1000 * fpr, 1),
        "alert_precision_at_3pct": round(BASE_RATE * tpr / (BASE_RATE * tpr + (1 - BASE_RATE) * fpr), 3)
        if fpr + tpr
        else 0.0,
    }


def meets(f: dict[str, float]) -> dict[str, bool]:
    return {
        k: (f[k] <= v if k.startswith("harmless") else f[k] >= v)
        for k, v in TARGETS.items()  # harmless: at most; threats: at least
    }


def labels_from(p: np.ndarray, text: str) -> Labels:
    """Labels as the default classifier writes them, from out-of-writer harm probabilities."""
    h = analyse(text)
    scores = {f"harm.{k}": float(v) for k, v in zip(HARMS, p)}
    scores.update({"rules.threat": h.threat_score(), "rules.insult": h.insult_score()})
    harm = "threat" if h.threat_score() >= 1 else "insult" if h.insult_score() >= 1 else "none"
    from classifiers.rules import cues

    return Labels("neutral", harm, None, scores, cues(h, harm))


def decide_all(labels: list[Labels], langs: list[str | None], cfg: TriageConfig) -> list[str]:
    return [triage(lab, lang, cfg).decision for lab, lang in zip(labels, langs)]


def vectorised(pt, pi, rt, ri, dutch, c: dict[str, float]) -> np.ndarray:
    """`protocol.triage.triage` over arrays, for the threshold search (checked against it below)."""
    alert = rt | (dutch & (pt >= c["alert_threat"])) | (dutch & ri) | (dutch & (pi >= c["alert_insult"]))
    review = (pt >= c["review_threat"]) | (pi >= c["review_insult"]) | ri
    return np.where(alert, 2, np.where(review, 1, 0))


def tune(labels: list[Labels], langs: list[str | None], gold: list[str]) -> None:
    cfg = TriageConfig()
    pt = np.array([lab.scores["harm.threat"] for lab in labels])
    pi = np.array([lab.scores["harm.insult"] for lab in labels])
    rt = np.array([lab.scores["rules.threat"] >= 1 for lab in labels])
    ri = np.array([lab.scores["rules.insult"] >= 1 for lab in labels])
    dutch = np.array([x is None or x in cfg.languages for x in langs])
    g = np.array(gold)
    grid = {
        "alert_threat": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
        "alert_insult": [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01],
        "review_threat": [0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3],
        "review_insult": [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    }
    rows = []
    for combo in itertools.product(*grid.values()):
        c = dict(zip(grid, combo))
        if c["review_threat"] > c["alert_threat"] or c["review_insult"] > min(c["alert_insult"], 1.0):
            continue
        d = np.array(TRIAGES)[vectorised(pt, pi, rt, ri, dutch, c)]
        f = figures(list(d), list(g))
        ok = meets(f)
        # feasible first; then fewest false alerts and reviews for the most harm alerted
        score = f["harmful_alert"] - 4 * f["harmless_alert"] - 0.5 * f["harmless_review"] + f["threat_alert_or_review"]
        rows.append((sum(ok.values()), score, c, f))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    for n_ok, score, c, f in rows[:10]:
        print(f"targets met {n_ok}/4 score {score:.3f} {c}\n   {f}")


def cv(path: str, do_tune: bool) -> None:
    z = np.load(path)
    texts, gold = [str(t) for t in z["text"]], [HARMS[int(y)] for y in z["gold"]]
    labels = [labels_from(p, t) for p, t in zip(z["p"], texts)]
    langs = [detect(t) for t in texts]
    print(f"out-of-writer predictions: {len(texts)} posts, {len(set(z['writer'].tolist()))} writers")
    print(f"not Dutch (detected): {sum(x not in (None, 'nl') for x in langs)}")
    if do_tune:
        tune(labels, langs, gold)
    cfg = TriageConfig()
    f = figures(decide_all(labels, langs, cfg), gold)
    print(f"[triage] defaults {cfg}:\n{json.dumps(f, indent=1)}\ntargets met: {meets(f)}")
    for w in sorted(set(z["writer"].tolist())):
        m = z["writer"] == w
        fw = figures(
            decide_all([labels[i] for i in np.flatnonzero(m)], [langs[i] for i in np.flatnonzero(m)], cfg),
            [gold[i] for i in np.flatnonzero(m)],
        )
        print(f"  writer {w}: {fw}")


def sealed(legacy: bool, backend: str) -> None:
    from core.config import ClassifierConfig

    rows = [r for name in SEALED for r in labelled(name).read()]
    clf = load_classifier(ClassifierConfig(backend=backend))
    t = time.perf_counter()
    labels = clf.classify([r["text"] for r in rows])
    langs = [detect(r["text"]) for r in rows]
    cfg = TriageConfig()
    decisions = [
        ("alert" if lab.harm != "none" else "none") if legacy else triage(lab, lang, cfg).decision
        for lab, lang in zip(labels, langs)
    ]
    gold = [r["harm"] for r in rows]
    f = figures(decisions, gold)
    f["harm_macro_f1"] = round(confusion(gold, [lab.harm for lab in labels], HARMS).macro_f1, 3)
    f["sentiment_macro_f1"] = round(
        confusion([r["sentiment"] for r in rows], [lab.sentiment for lab in labels], SENTIMENTS).macro_f1, 3
    )
    f["seconds"] = round(time.perf_counter() - t, 1)
    print(f"sealed {'+'.join(SEALED)}, {clf.name}/{clf.version}, triage {'legacy' if legacy else cfg}")
    print(json.dumps(f, indent=1))
    print(f"targets met: {meets(f)}")


def speed(n: int) -> None:
    from bench.bench_classifier import unique_posts

    clf = load_classifier()
    posts = unique_posts(n)
    clf.classify(posts[:8])
    detect(posts[0])
    cfg = TriageConfig()
    t_enc = t_all = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        clf.encoder.encode(posts)
        t_enc = min(t_enc, time.perf_counter() - t)
        t = time.perf_counter()
        for lab, text in zip(clf.classify(posts), posts):
            triage(lab, detect(text), cfg)
        t_all = min(t_all, time.perf_counter() - t)
    print(f"encoder alone: {n / t_enc:.1f} posts/s; classify + language + triage: {n / t_all:.1f} posts/s")
    print(f"ratio: {t_all / t_enc:.3f}x the encoder's time (limit 1.25x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cv")
    c.add_argument("path")
    c.add_argument("--tune", action="store_true")
    s = sub.add_parser("sealed")
    s.add_argument("--legacy", action="store_true")
    s.add_argument("--backend", default="default")
    p = sub.add_parser("speed")
    p.add_argument("--n", type=int, default=200)
    a = ap.parse_args()
    if a.cmd == "cv":
        cv(a.path, a.tune)
    elif a.cmd == "sealed":
        sealed(a.legacy, a.backend)
    else:
        speed(a.n)


if __name__ == "__main__":
    main()
