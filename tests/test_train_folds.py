"""Grouped cross-validation over writers (`edumon train --cv-folds`)."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers.train import fit_mlp, writer_folds

GROUPS = ["w01", None, "w02", "w03", "w03", "w04", "w05", None, "w06", "w07"]


def test_default_leaves_one_writer_out():
    assert writer_folds(GROUPS, None, 13) == [[w] for w in ("w01", "w02", "w03", "w04", "w05", "w06", "w07")]


def test_folds_hold_out_every_writer_exactly_once_and_are_seeded():
    folds = writer_folds(GROUPS, 3, 13)
    assert len(folds) == 3 and all(folds)
    held = [w for f in folds for w in f]
    assert sorted(held) == ["w01", "w02", "w03", "w04", "w05", "w06", "w07"]  # once each, no writerless group
    assert writer_folds(GROUPS, 3, 13) == folds and writer_folds(GROUPS, 3, 14) != folds
    with pytest.raises(ValueError, match="at least 2 folds"):
        writer_folds(GROUPS, 1, 13)


def test_harm_class_weight_costs_a_false_alarm_more():
    """Weighting the harmless class up lowers the harm probability the head gives an ambiguous post."""
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 1, (60, 4)), rng.normal(0.6, 1, (60, 4))])
    y = np.array([0] * 60 + [2] * 60)
    w = np.ones(len(y))

    def p_threat(cw):
        w1, b1, w2, b2 = fit_mlp(x, y, w, 3, 13, hidden=8, steps=200, class_weight=cw)
        z = np.maximum(x @ w1 + b1, 0) @ w2 + b2
        p = np.exp(z - z.max(axis=1, keepdims=True))
        return (p / p.sum(axis=1, keepdims=True))[:, 2].mean()

    assert p_threat([3.0, 1.0, 1.0]) < p_threat(None)
