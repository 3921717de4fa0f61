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


def test_members_merge_into_one_network_whose_logits_are_their_mean():
    """Heads of several seeded networks load and predict like one (format 2): the output is the softmax of the
    members' mean logits, so `Heads.predict` and older readers need no change."""
    from classifiers.embedded import Heads, softmax
    from classifiers.train import head_arrays, merge_members

    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (40, 5))
    y = rng.integers(0, 3, 40)
    members = [fit_mlp(x, y, np.ones(40), 3, seed, hidden=6, steps=50) for seed in (13, 14, 15)]
    merged = merge_members(members)
    assert merged[0].shape == (5, 18) and merged[2].shape == (18, 3)  # three members of 6 hidden units
    logits = [np.maximum(x @ w1 + b1, 0) @ w2 + b2 for w1, b1, w2, b2 in members]
    expected = softmax(np.mean(logits, axis=0))
    got = Heads(head_arrays("harm", merged), {}).head("harm", x)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    assert merge_members(members[:1])[0].shape == (5, 6)  # one member is the network itself


def test_train_rejects_bad_class_weights_in_one_line():
    from click.testing import CliRunner

    from edumon.cli import main

    r = CliRunner().invoke(main, ["train", "--harm-class-weight", "2,1", "--no-shared"])
    assert r.exit_code == 2 and "--harm-class-weight" in r.output and len(r.output.strip().splitlines()) == 1
