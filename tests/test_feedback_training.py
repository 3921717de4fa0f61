"""Feedback that teaches the classifier: corrections -> `edumon train --include-feedback` -> `edumon eval --compare`.

One seeded retrain (school-context set + feedback, `--no-shared`, ~20 s) is shared by the module.

The heads in use are pinned to `tests/data/heads-e5-1.864809.npz` (the shipped heads before they learnt
veiled threats from `veiled_train`), and the retrain to the school data those heads learnt from (train split
+ blind_a): the shipped heads now get many of these posts right, and this test measures what feedback adds
to heads that get them wrong, not what `veiled_train` adds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import pipeline
from classifiers import load_classifier
from classifiers.datasets import SCHOOL_SPLITS, labelled, load_split
from classifiers.embedded import DEFAULT_HEADS, Heads
from classifiers.train import Example, split_feedback, text_key
from core.config import Config
from core.mention import Mention
from edumon.cli import main
from edumon.cli.cycle import to_toml
from fakes.rss import FeedHandler, rss_xml
from fakes.server import FakeServer
from tests.feedback_posts import CORRECTED, HELD_OUT, Row
from warehouse import Warehouse, save_labels, upsert_mentions

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
DEV = str(labelled(SCHOOL_SPLITS["dev"]).path)
BASELINE = Path(__file__).parent / "data" / "heads-e5-1.864809.npz"


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def npz_files(*dirs: Path) -> dict[Path, str]:
    return {p: sha(p) for d in dirs for p in sorted(d.glob("*.npz"))}


def gold_file(path: Path, rows: list[Row]) -> Path:
    path.write_text(
        "".join(
            json.dumps({"text": t, "sentiment": s, "harm": h, "harm_kind": k}, ensure_ascii=False) + "\n"
            for t, s, h, k in rows
        ),
        encoding="utf-8",
    )
    return path


@dataclass
class Trained:
    dir: Path
    config: Path
    wh: Warehouse
    corrected: int
    heads: Path
    output: str
    shipped_sha: str


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    """A warehouse of posts labelled by the shipped classifier, corrected through `edumon feedback correct`,
    then one `edumon train --include-feedback` run."""
    import classifiers.train
    from core.config import parse_config
    from tests.conftest import SCHOOLS

    mp = pytest.MonkeyPatch()
    mp.setattr(classifiers.train, "EXTRA_TRAIN", {"r2-w02-a": 1.0})  # the data BASELINE learnt from
    tmp = tmp_path_factory.mktemp("fbtrain")
    cfg = parse_config(
        {
            "organisation": {"name": "Edu-Ley (test)", "timezone": "Europe/Amsterdam"},
            "warehouse": {"path": str(tmp / "edumon.duckdb"), "lock_timeout_s": 5},
            "schools": SCHOOLS,
            "classifier": {"heads_path": str(BASELINE)},
        }
    )
    config = tmp / "edumon.toml"
    config.write_text(to_toml(cfg), encoding="utf-8")
    wh = Warehouse(cfg.warehouse.path)
    shipped = load_classifier(cfg.classifier)
    labels = shipped.classify([t for t, *_ in CORRECTED])
    ms = [
        Mention(
            source="mastodon",
            source_id=f"p{i}",
            text=t,
            url=f"https://mastodon.example/@leerling/{i}",
            author="@leerling@mastodon.example",
            published_at=NOW - timedelta(hours=1),
            fetched_at=NOW,
            school_ids=["ley-college"],
            sentiment=lab.sentiment,
            harm=lab.harm,
            harm_kind=lab.harm_kind,
            scores=lab.scores,
            cues=list(lab.cues),
            classifier=lab.classifier,
        )
        for i, ((t, *_), lab) in enumerate(zip(CORRECTED, labels))
    ]
    with wh.transaction() as con:
        upsert_mentions(con, ms)
        save_labels(con, ms)
    # no feedback yet: training with it says so in one line and writes nothing
    r = cli("train", "--config", str(config), "--include-feedback", "--no-shared")
    assert r.exit_code == 2 and "no label feedback yet" in r.stderr and not list(tmp.glob("*.npz"))

    corrected = 0
    for m, (text, sent, harm, kind) in zip(ms, CORRECTED):
        if (m.sentiment, m.harm) == (sent, harm):
            continue
        args = [
            "feedback",
            "correct",
            "--config",
            str(config),
            m.mention_id,
            "--by",
            "anna",
            "--sentiment",
            sent,
            "--harm",
            harm,
            "--note",
            "gecorrigeerd op de reviewpagina",
        ]
        r = cli(*args + (["--harm-kind", kind] if kind else []))
        assert r.exit_code == 0, r.output + r.stderr
        corrected += 1
    shipped_sha = sha(DEFAULT_HEADS)
    r = cli("train", "--config", str(config), "--include-feedback", "--no-shared", "--seed", "13")
    assert r.exit_code == 0, r.output + r.stderr
    (heads,) = tmp.glob("heads-feedback-*.npz")
    yield Trained(tmp, config, wh, corrected, heads, r.output, shipped_sha)
    mp.undo()


def test_the_shipped_classifier_gets_these_posts_wrong(trained: Trained) -> None:
    """The premise: most posts needed a correction (otherwise the test below proves nothing)."""
    assert trained.corrected >= 20
    assert trained.wh.query("SELECT count(*) FROM label_feedback")[0][0] == trained.corrected


def test_train_adds_feedback_beside_the_warehouse_and_leaves_the_shipped_heads(trained: Trained) -> None:
    assert f"feedback: {trained.corrected} example(s) added with weight 2" in trained.output
    from classifiers.train import extra_examples, school_examples

    school = len(school_examples("train") + extra_examples())
    assert f"{school + trained.corrected} texts ({school} school, {trained.corrected} feedback" in trained.output
    assert sha(DEFAULT_HEADS) == trained.shipped_sha
    heads = Heads.load(trained.heads)
    assert trained.heads.name == f"heads-feedback-{heads.version}.npz"
    assert heads.version != Heads.load().version
    assert heads.meta["feedback"] == trained.corrected and heads.meta["feedback_weight"] == 2.0
    assert len(heads.meta["feedback_trained"]) == trained.corrected
    # how to adopt them is printed; nothing points at them until a person does
    assert f"--compare {trained.heads}" in trained.output
    assert f'heads_path = "{trained.heads}"' in trained.output


def test_new_heads_do_better_on_held_out_posts_and_no_worse_on_dev(trained: Trained) -> None:
    held = gold_file(trained.dir / "held_out.jsonl", HELD_OUT)
    assert not {text_key(t) for t, *_ in HELD_OUT} & {text_key(t) for t, *_ in CORRECTED}
    r = cli("eval", "--config", str(trained.config), "--input", str(held), "--compare", str(trained.heads), "--json")
    assert r.exit_code == 0, r.output + r.stderr
    rep = json.loads(r.stdout)
    b, a = rep["before"], rep["after"]
    assert rep["n"] == len(HELD_OUT) and b["classifier"] == f"e5-heads/{Heads.load(BASELINE).version}"
    assert a["heads"] == str(trained.heads)
    assert a["harm"]["macro_f1"] >= b["harm"]["macro_f1"] + 0.3
    assert a["harm"]["per_class"]["threat"]["recall"] >= b["harm"]["per_class"]["threat"]["recall"] + 0.5
    assert a["harm"]["per_class"]["threat"]["precision"] >= 0.8
    assert a["sentiment"]["macro_f1"] > b["sentiment"]["macro_f1"] + 0.2

    r = cli("eval", "--config", str(trained.config), "--input", DEV, "--compare", str(trained.heads), "--json")
    assert r.exit_code == 0, r.output + r.stderr
    rep = json.loads(r.stdout)
    b, a = rep["before"], rep["after"]
    assert a["harm"]["macro_f1"] >= b["harm"]["macro_f1"] - 0.02
    assert a["harm"]["per_class"]["threat"]["recall"] >= 0.95
    # the retrain here is --no-shared (fast) while the shipped heads also learnt from HateCheck: 0.05
    assert a["sentiment"]["macro_f1"] >= b["sentiment"]["macro_f1"] - 0.05


def test_compare_prints_before_and_after_side_by_side(trained: Trained) -> None:
    held = gold_file(trained.dir / "held_out.jsonl", HELD_OUT)
    r = cli("eval", "--config", str(trained.config), "--input", str(held), "--compare", str(trained.heads), "--errors")
    assert r.exit_code == 0, r.output + r.stderr
    out = r.output
    assert f"{held}: {len(HELD_OUT)} posts" in out
    assert "before: e5-heads/" in out and f"after:  e5-heads/{Heads.load(trained.heads).version}" in out
    assert f"trained with {trained.corrected} feedback example(s)" in out
    harm_line = next(line for line in out.splitlines() if line.startswith("harm: macro-F1"))
    before, after = (float(x) for x in harm_line.split("macro-F1 ")[1].split(" (")[0].split(" -> "))
    assert after > before
    assert any(line.split()[0] == "threat" for line in out.splitlines() if line.startswith("  threat"))
    assert "threat recall: " in out
    fixed = [line for line in out.splitlines() if line.startswith("  fixed  ")]
    assert len(fixed) >= len(HELD_OUT) // 2 and any("niet heelhuids" in line for line in fixed)

    # --heads evaluates the given heads alone
    r = cli("eval", "--input", str(held), "--heads", str(trained.heads))
    assert r.exit_code == 0 and f"classifier e5-heads/{Heads.load(trained.heads).version}" in r.output


def test_eval_on_feedback_leaves_out_what_the_heads_learnt_from(trained: Trained, tmp_path: Path) -> None:
    cfg = str(trained.config)
    r = cli("eval", "--feedback", "--config", cfg, "--compare", str(trained.heads))
    assert r.exit_code == 2 and "no feedback examples left that the heads did not learn from" in r.stderr
    r = cli("eval", "--feedback", "--config", cfg, "--compare", str(trained.heads), "--include-trained", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["n"] == trained.corrected
    # the shipped heads learnt from none of it: all of it is fair evaluation for them
    r = cli("eval", "--feedback", "--config", cfg, "--json")
    assert r.exit_code == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["n"] == trained.corrected and "left out" not in r.stderr
    assert rep["harm"]["accuracy"] < 0.5 and rep["input"].startswith("label feedback in ")


def test_split_feedback_never_leaks_into_dev_or_test_and_holds_out_by_seed() -> None:
    dev_text = load_split("dev")[0]["text"]
    train = [
        Example("Fijne vakantie allemaal", "none", "positive", 1.0, "school-train"),
        Example("Wat een saaie les weer", "none", "negative", 1.0, "school-train"),
    ]
    rows = [
        {"text": "  " + dev_text.upper() + " ", "sentiment": "negative", "harm": "threat"},  # a dev text
        {"text": "fijne  VAKANTIE allemaal", "sentiment": "neutral", "harm": "none"},  # relabels train
        *({"text": t, "sentiment": s, "harm": h} for t, s, h, _ in CORRECTED[:20]),
    ]
    fb, rest = split_feedback(rows, train, weight=2.0, holdout=0.0, seed=1)
    assert fb.in_eval_sets == 1 and fb.replaced == 1 and len(fb.used) == 21
    assert [e.text for e in rest] == ["Wat een saaie les weer"]
    assert not {text_key(e.text) for e in fb.used} & {
        text_key(r["text"]) for s in ("dev", "test") for r in load_split(s)
    }
    assert all(e.weight == 2.0 and e.source == "feedback" for e in fb.used)
    a, _ = split_feedback(rows, train, weight=2.0, holdout=0.25, seed=1)
    b, _ = split_feedback(rows, train, weight=2.0, holdout=0.25, seed=1)
    c, _ = split_feedback(rows, train, weight=2.0, holdout=0.25, seed=2)
    assert len(a.held_out) == 5 and len(a.used) == 16
    assert [e.text for e in a.held_out] == [e.text for e in b.held_out] != [e.text for e in c.held_out]
    with pytest.raises(ValueError, match="holdout"):
        split_feedback(rows, train, weight=2.0, holdout=1.0, seed=1)


def test_cli_refuses_unclear_requests_in_one_line(trained: Trained) -> None:
    r = cli("train", "--include-feedback", "--no-shared")
    assert r.exit_code == 2 and "--include-feedback needs --config" in r.stderr
    r = cli("eval", "--config", str(trained.config))
    assert r.exit_code == 2 and "either --input GOLD.jsonl or --feedback" in r.stderr
    r = cli("eval", "--feedback")
    assert r.exit_code == 2 and "--feedback needs --config" in r.stderr
    r = cli("eval", "--input", DEV, "--compare", str(trained.dir / "nope.npz"))
    assert r.exit_code == 2 and r.stderr.strip().count("\n") == 0 and "nope.npz: file not found" in r.stderr


def test_a_cycle_never_retrains_and_classifies_with_the_heads_a_person_chose(
    trained: Trained, make_config: Callable[..., Config]
) -> None:
    post = "Die leraar van het Ley College komt maandag niet heelhuids de school uit"
    feed = {"title": "Ley College", "link": "https://forum.example.nl/t/1", "guid": "t1", "description": post}
    feed2 = {
        **feed,
        "link": "https://forum.example.nl/t/2",
        "guid": "t2",
        "description": "Die mentor van het Ley College moet maar hopen dat zijn auto heel blijft",
    }
    with FakeServer() as srv:
        srv.route("/a.xml", FeedHandler(rss_xml([feed])))
        srv.route("/b.xml", FeedHandler(rss_xml([feed2])))
        where = {"path": str(trained.wh.path), "lock_timeout_s": 5}
        before = npz_files(trained.dir, DEFAULT_HEADS.parent)
        n_feedback = trained.wh.query("SELECT count(*) FROM label_feedback")[0][0]
        # the config still names no heads_path: a cycle uses the shipped heads, feedback or not
        pipeline.run_cycle(make_config(rss=[srv.url + "/a.xml"], warehouse=where))
        assert npz_files(trained.dir, DEFAULT_HEADS.parent) == before
        assert trained.wh.query("SELECT count(*) FROM label_feedback")[0][0] == n_feedback
        ((clf,),) = trained.wh.query("SELECT classifier FROM mentions WHERE url = 'https://forum.example.nl/t/1'")
        assert clf == f"e5-heads/{Heads.load().version}"
        # a person points classifier.heads_path at the new heads: new posts get them
        cfg = make_config(rss=[srv.url + "/b.xml"], warehouse=where, classifier={"heads_path": str(trained.heads)})
        pipeline.run_cycle(cfg)
        assert npz_files(trained.dir, DEFAULT_HEADS.parent) == before
        ((clf, harm),) = trained.wh.query(
            "SELECT classifier, harm FROM mentions WHERE url = 'https://forum.example.nl/t/2'"
        )
        assert clf == f"e5-heads/{Heads.load(trained.heads).version}"
        assert harm == "threat"
