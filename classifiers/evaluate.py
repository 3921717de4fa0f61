"""Evaluation: precision, recall, F1 per class, macro-F1 and confusion matrices."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import HARMS, SENTIMENTS, Classifier


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file (blank lines skipped); ValueError names the bad line."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not valid JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{n}: expected a JSON object")
            rows.append(row)
    return rows


@dataclass
class Report:
    """Per-class scores and the confusion matrix for one label set."""

    labels: tuple[str, ...]
    confusion: list[list[int]]  # rows: gold, columns: predicted

    def per_class(self) -> dict[str, dict[str, float]]:
        out = {}
        for i, lab in enumerate(self.labels):
            tp = self.confusion[i][i]
            pred = sum(r[i] for r in self.confusion)
            gold = sum(self.confusion[i])
            p = tp / pred if pred else 0.0
            r = tp / gold if gold else 0.0
            f = 2 * p * r / (p + r) if p + r else 0.0
            out[lab] = {"precision": p, "recall": r, "f1": f, "support": gold}
        return out

    @property
    def macro_f1(self) -> float:
        pc = [v for v in self.per_class().values() if v["support"]]
        return sum(v["f1"] for v in pc) / len(pc) if pc else 0.0

    @property
    def accuracy(self) -> float:
        total = sum(map(sum, self.confusion))
        return sum(self.confusion[i][i] for i in range(len(self.labels))) / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_class": self.per_class(),
            "macro_f1": self.macro_f1,
            "accuracy": self.accuracy,
            "confusion": {"labels": list(self.labels), "matrix": self.confusion},
        }

    def format(self, title: str) -> str:
        lines = [
            f"{title}: macro-F1 {self.macro_f1:.3f}, accuracy {self.accuracy:.3f}",
            f"  {'class':<10} {'prec':>6} {'recall':>6} {'F1':>6} {'n':>5}",
        ]
        for lab, v in self.per_class().items():
            lines.append(f"  {lab:<10} {v['precision']:6.3f} {v['recall']:6.3f} {v['f1']:6.3f} {v['support']:5d}")
        w = max(len(x) for x in self.labels) + 2
        lines.append("  confusion (rows gold, columns predicted):")
        lines.append("  " + " " * w + "".join(f"{x:>{w}}" for x in self.labels))
        for lab, row in zip(self.labels, self.confusion):
            lines.append("  " + f"{lab:<{w}}" + "".join(f"{c:>{w}}" for c in row))
        return "\n".join(lines)


def confusion(gold: Iterable[str], pred: Iterable[str], labels: Sequence[str]) -> Report:
    """Build a `Report` from gold and predicted labels."""
    idx = {lab: i for i, lab in enumerate(labels)}
    m = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred):
        if g not in idx:
            raise ValueError(f"unknown gold label {g!r} (expected one of: {', '.join(labels)})")
        m[idx[g]][idx[p]] += 1
    return Report(tuple(labels), m)


def evaluate(clf: Classifier, rows: Sequence[dict[str, Any]]) -> dict[str, Report]:
    """Classify gold rows (`text`, `sentiment`, `harm`) and score both label sets."""
    texts = [str(r["text"]) for r in rows]
    preds = clf.classify(texts)
    out: dict[str, Report] = {}
    if all("sentiment" in r for r in rows):
        out["sentiment"] = confusion([r["sentiment"] for r in rows], [p.sentiment for p in preds], SENTIMENTS)
    if all("harm" in r for r in rows):
        out["harm"] = confusion([r["harm"] for r in rows], [p.harm for p in preds], HARMS)
    return out


def errors(clf: Classifier, rows: Sequence[dict[str, Any]], field: str = "harm") -> list[tuple[str, str, str]]:
    """(gold, predicted, text) for every mistake on one label set: for tuning on train/dev."""
    preds = clf.classify([r["text"] for r in rows])
    return [(r[field], getattr(p, field), r["text"]) for r, p in zip(rows, preds) if r[field] != getattr(p, field)]


def threat_recall(rep: Report) -> float:
    return rep.per_class()["threat"]["recall"] if "threat" in rep.labels else 0.0


def format_compare(before: Report, after: Report, title: str) -> str:
    """Two classifiers' figures on the same gold rows, side by side, with the change in F1."""
    b, a = before.per_class(), after.per_class()
    lines = [
        f"{title}: macro-F1 {before.macro_f1:.3f} -> {after.macro_f1:.3f} ({after.macro_f1 - before.macro_f1:+.3f}), "
        f"accuracy {before.accuracy:.3f} -> {after.accuracy:.3f}",
        f"  {'':<10} {'before':^20}   {'after':^20}",
        f"  {'class':<10} {'prec':>6} {'recall':>6} {'F1':>6}   {'prec':>6} {'recall':>6} {'F1':>6} {'dF1':>7} {'n':>5}",
    ]
    for lab in before.labels:
        x, y = b[lab], a[lab]
        lines.append(
            f"  {lab:<10} {x['precision']:6.3f} {x['recall']:6.3f} {x['f1']:6.3f}   "
            f"{y['precision']:6.3f} {y['recall']:6.3f} {y['f1']:6.3f} {y['f1'] - x['f1']:+7.3f} {x['support']:5d}"
        )
    return "\n".join(lines)
