"""Triage figures: false alerts per 1,000 harmless posts and alert precision at a 3% base rate (prints; asserts nothing).

    .venv/bin/python -m edumon train --cv-folds 4 --cv-out /tmp/oof.npz   # out-of-writer predictions (slow)
    .venv/bin/python bench/bench_triage.py heldout r6-w20-lookalikes r6-w21-stream --out /tmp/oof.npz [--heads F]
    .venv/bin/python bench/bench_triage.py cv /tmp/oof.npz [--tune] [--writers w17 w18]
    .venv/bin/python bench/bench_triage.py sealed r10-w31 r10-w32 r10-w33   # ONCE per round: the sealed sets (any names)
    .venv/bin/python bench/bench_triage.py speed [--n 200]

`cv` reads the out-of-writer harm probabilities of `edumon train --cv-out` (each writer's posts predicted by
heads that never read that writer), runs the rules and the language detector on the same texts and applies
`protocol.triage.triage` with the [triage] defaults; `--tune` searches the thresholds on them (the defaults in
core/config.py came from here). `sealed` classifies the named sealed sets once, in one run: "before" (the
round-9 heads, tests/data/heads-r9-2.12e887.npz, with the round-9 [triage] values and today's rules),
"legacy" (the same labels, every harm label alerts: the rule before triage) and "after" (the shipped heads with
the [triage] defaults). Run it
once per round, at its end, never to tune. `--backend rules` measures the rules backend alone instead.
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
from classifiers.rules import analyse, cues, rule_scores  # noqa: E402
from core.config import TriageConfig  # noqa: E402
from core.vocabulary import HARMS, SENTIMENTS, TRIAGES  # noqa: E402
from protocol.triage import triage  # noqa: E402

SEALED = ("r10-w31", "r10-w32", "r10-w33")
# the heads of round 9 (round 10 retrained them) and the [triage] values of round 9
BEFORE_HEADS = Path(__file__).resolve().parents[1] / "tests" / "data" / "heads-r9-2.12e887.npz"
BEFORE_TRIAGE = {"alert_threat": 0.7, "alert_insult": 0.9, "review_threat": 0.05, "review_insult": 0.8}
BEFORE_TRIAGE.update(rules_alert_min=0.3, rules_strong=True, rules_strong_min=0.05)
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
    scores.update(rule_scores(h))
    harm = "threat" if max(h.threat_score(), h.strong_score()) >= 1 else "insult" if h.insult_score() >= 1 else "none"

    return Labels("neutral", harm, None, scores, cues(h, harm))


def decide_all(labels: list[Labels], langs: list[str | None], cfg: TriageConfig) -> list[str]:
    return [triage(lab, lang, cfg).decision for lab, lang in zip(labels, langs)]


def vectorised(pt, pi, rt, ri, dutch, c: dict[str, float], rs=None) -> np.ndarray:
    """`protocol.triage.triage` over arrays, for the threshold search (checked against it below)."""
    backed = pt + pi >= c["rules_alert_min"]
    rs = np.zeros_like(rt) if rs is None else rs
    rt = rt | rs  # an unbacked strong cue is reviewed like any rule hit
    alert = (
        (rs & (pt + pi >= c.get("rules_strong_min", 0.05)))
        | (rt & backed)
        | (dutch & (pt >= c["alert_threat"]))
        | (dutch & ri & backed)
    )
    alert |= dutch & (pi >= c["alert_insult"])
    review = (pt >= c["review_threat"]) | (pi >= c["review_insult"]) | ri | rt | rs
    return np.where(alert, 2, np.where(review, 1, 0))


def tune(labels: list[Labels], langs: list[str | None], gold: list[str]) -> None:
    cfg = TriageConfig()
    pt = np.array([lab.scores["harm.threat"] for lab in labels])
    pi = np.array([lab.scores["harm.insult"] for lab in labels])
    rt = np.array([lab.scores["rules.threat"] >= 1 for lab in labels])
    ri = np.array([lab.scores["rules.insult"] >= 1 for lab in labels])
    rs = np.array([any(k.startswith("rules.strong.") for k in lab.scores) for lab in labels])
    dutch = np.array([x is None or x in cfg.languages for x in langs])
    g = np.array(gold)
    grid = {
        "alert_threat": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
        "alert_insult": [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01],
        "review_threat": [0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3],
        "review_insult": [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
        "rules_alert_min": [0.0, 0.02, 0.05, 0.1, 0.2, 0.3],
        "rules_strong_min": [0.0, 0.02, 0.05, 0.1, 0.2, 0.3],
    }
    rows = []
    for combo in itertools.product(*grid.values()):
        c = dict(zip(grid, combo))
        if c["review_threat"] > c["alert_threat"] or c["review_insult"] > min(c["alert_insult"], 1.0):
            continue
        d = np.array(TRIAGES)[vectorised(pt, pi, rt, ri, dutch, c, rs)]
        f = figures(list(d), list(g))
        ok = meets(f)
        # with a margin under the false-alarm and review budgets and every threat at least reviewed: the most
        # threats alerted at once, then the most threats reviewed, then the fewest false alerts and reviews
        safe = f["harmless_alert"] <= 0.015 and f["harmless_review"] <= 0.07 and f["threat_alert_or_review"] >= 0.97
        score = (f["threat_alert"], f["threat_alert_or_review"], -f["harmless_alert"], -f["harmless_review"])
        rows.append((int(safe), score, c, f, sum(ok.values())))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    best = TriageConfig(**rows[0][2])
    real = decide_all(labels, langs, best)
    fast = list(np.array(TRIAGES)[vectorised(pt, pi, rt, ri, dutch, rows[0][2], rs)])
    assert real == fast, "bench_triage.vectorised no longer matches protocol.triage.triage"
    for safe, _, c, f, n_ok in rows[:8]:
        print(f"{'within margins' if safe else 'OUTSIDE margins'}, targets met {n_ok}/4: {c}\n   {f}")


def cv(path: str, do_tune: bool, writers: list[str] | None = None) -> None:
    z = dict(np.load(path))
    if writers:
        keep = np.isin(z["writer"], writers)
        z = {k: v[keep] for k, v in z.items()}
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


def heldout(names: list[str], out: str, heads: str | None) -> None:
    """Out-of-writer predictions without retraining: heads (default: the shipped ones) on sets they never read."""
    from bench.embed_cache import CachedEncoder
    from classifiers.embedded import features
    from classifiers.train import save_out_of_writer
    from core.config import ClassifierConfig

    clf = load_classifier(ClassifierConfig(heads_path=heads))
    clf.encoder = CachedEncoder()
    trained = int(clf.heads.meta.get("n_train", 0))
    sets = [labelled(n) for n in names]
    rows = [(s.writer, r) for s in sets for r in s.read()]
    texts = [r["text"] for _, r in rows]
    ph, _ = clf.heads.predict(features(clf.encoder.encode(texts), [analyse(t) for t in texts]))
    gold = np.array([HARMS.index(r["harm"]) for _, r in rows])
    save_out_of_writer(out, ph, gold, [w for w, _ in rows], texts)
    print(f"{clf.name}/{clf.version} (trained on {trained} texts) on {len(texts)} posts of {names} -> {out}")


def sealed_figures(rows: list[dict], labels: list[Labels], decisions: list[str]) -> dict[str, float]:
    gold = [r["harm"] for r in rows]
    f = figures(decisions, gold)
    f["harm_macro_f1"] = round(confusion(gold, [lab.harm for lab in labels], HARMS).macro_f1, 3)
    f["sentiment_macro_f1"] = round(
        confusion([r["sentiment"] for r in rows], [lab.sentiment for lab in labels], SENTIMENTS).macro_f1, 3
    )
    return f


def sealed(names: list[str], backend: str) -> None:
    """Before (round-9 heads + round-9 triage, today's rules), legacy (every harm label alerts) and after, in one run."""
    from classifiers.embedded import Encoder, MemoEncoder
    from core.config import ClassifierConfig

    rows = [r for name in names for r in labelled(name).read()]
    texts = [r["text"] for r in rows]
    langs = [detect(t) for t in texts]
    print(f"sealed {'+'.join(names)}: {len(rows)} posts")
    if backend != "default":
        clf = load_classifier(ClassifierConfig(backend=backend))
        labels = clf.classify(texts)
        f = sealed_figures(rows, labels, decide_all(labels, langs, TriageConfig()))
        print(f"{backend} backend, [triage] defaults:\n{json.dumps(f, indent=1)}\ntargets met: {meets(f)}")
        return
    memo = MemoEncoder(Encoder())
    runs = []
    for what, heads_path, cfg in (
        ("before", str(BEFORE_HEADS), TriageConfig(**BEFORE_TRIAGE)),
        ("after", None, TriageConfig()),
    ):
        clf = load_classifier(ClassifierConfig(heads_path=heads_path))
        clf.encoder = memo  # type: ignore[attr-defined]  # each text embedded once for both
        t = time.perf_counter()
        labels = clf.classify(texts)
        runs.append((what, clf, cfg, labels, decide_all(labels, langs, cfg), time.perf_counter() - t))
    _, _, _, labels, _, _ = runs[0]
    runs.insert(
        1, ("legacy", runs[0][1], None, labels, ["alert" if lab.harm != "none" else "none" for lab in labels], 0)
    )
    for what, clf, cfg, labels, decisions, seconds in runs:
        f = sealed_figures(rows, labels, decisions)
        f["seconds"] = round(seconds, 1)
        print(f"{what}: {clf.name}/{clf.version}, triage {cfg or 'legacy: every harm label alerts'}")
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
    c.add_argument("--writers", nargs="*", default=None, help="Only these writers' posts (e.g. w17 w18).")
    h = sub.add_parser("heldout")
    h.add_argument("names", nargs="+")
    h.add_argument("--out", required=True)
    h.add_argument("--heads", default=None, help="A heads file (default: the shipped heads).")
    s = sub.add_parser("sealed")
    s.add_argument("names", nargs="*", default=list(SEALED))
    s.add_argument("--backend", default="default")
    p = sub.add_parser("speed")
    p.add_argument("--n", type=int, default=200)
    a = ap.parse_args()
    if a.cmd == "cv":
        cv(a.path, a.tune, a.writers)
    elif a.cmd == "heldout":
        heldout(a.names, a.out, a.heads)
    elif a.cmd == "sealed":
        sealed(a.names, a.backend)
    else:
        speed(a.n)


if __name__ == "__main__":
    main()
