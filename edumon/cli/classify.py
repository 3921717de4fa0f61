"""Click commands of the classifier: classify, eval, train, models pull.

`edumon.cli` registers them on the `edumon` group.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from classifiers import load_classifier
from classifiers.embedded import DEFAULT_HEADS, MemoEncoder
from classifiers.evaluate import evaluate, format_compare, read_jsonl, threat_recall
from classifiers.hf import pull as pull_models
from classifiers.train import text_key
from classifiers.train import train as train_heads
from core.config import ClassifierConfig, load_config
from protocol.feedback import feedback_examples
from warehouse import warehouse_for


def _fail(msg: str) -> None:
    click.echo(f"error: {msg}", err=True)
    sys.exit(2)


def _one_line_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn any failure into one clear line on stderr and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except FileNotFoundError as e:
            _fail(f"{e.filename or e}: file not found")
        except Exception as e:  # noqa: BLE001 - a CLI never shows a stack trace
            text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            _fail(text)

    return wrapper


def _config(path: str | None) -> ClassifierConfig:
    if not path:
        return ClassifierConfig()
    return load_config(path).classifier


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="edumon TOML config; its [classifier] section is used.",
)


def _read_rows(path: str, need: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = read_jsonl(path)
    for n, r in enumerate(rows, 1):
        for k in need:
            if k not in r:
                raise ValueError(f"{path}: row {n} has no {k!r} field")
    return rows


@click.command("classify", epilog="Example: edumon classify --input posts.jsonl --output labelled.jsonl")
@click.option(
    "--input", "input_path", required=True, type=click.Path(dir_okay=False), help='JSON lines with {"id", "text"}.'
)
@click.option(
    "--output",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="JSON lines with the same ids and the labels.",
)
@config_option
@_one_line_errors
def classify(input_path: str, output_path: str, config_path: str | None) -> None:
    """Classify Dutch posts: sentiment, harm, harm_kind, scores and cues per row."""
    rows = _read_rows(input_path, ("id", "text"))
    clf = load_classifier(_config(config_path))
    labels = clf.classify([str(r["text"]) for r in rows])
    with open(output_path, "w", encoding="utf-8") as f:
        for r, lab in zip(rows, labels):
            f.write(
                json.dumps(
                    {
                        "id": r["id"],
                        "sentiment": lab.sentiment,
                        "harm": lab.harm,
                        "harm_kind": lab.harm_kind,
                        "scores": lab.scores,
                        "cues": list(lab.cues),
                        "classifier": lab.classifier,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    flagged = sum(lab.harm != "none" for lab in labels)
    click.echo(f"classified {len(rows)} posts ({flagged} flagged) with {clf.name}/{clf.version} -> {output_path}")


def _full_config(path: str | None, why: str) -> Any:
    if not path:
        raise click.UsageError(f"{why} needs --config (its warehouse holds the feedback)")
    return load_config(path)


def _feedback_rows(cfg: Any) -> list[dict[str, Any]]:
    """People's labelled examples from the config's warehouse (one line of error when there are none)."""
    wh = warehouse_for(cfg)
    if not wh.path.exists():
        raise ValueError(f"{wh.path}: no warehouse here yet (run a cycle first)")
    rows = feedback_examples(wh)
    if not rows:
        raise ValueError(
            f"{wh.path}: no label feedback yet (correct labels on the review page or with "
            "`edumon feedback correct`, or dismiss a false alarm)"
        )
    return rows


def _trained_on(clf: Any) -> set[str]:
    """The feedback texts (hash prefixes) a classifier's heads learnt from."""
    heads = getattr(clf, "heads", None)
    return set(heads.meta.get("feedback_trained", ())) if heads is not None else set()


def _describe(clf: Any, heads_path: str | None) -> str:
    where = f" ({heads_path})" if heads_path else ""
    heads = getattr(clf, "heads", None)
    fb = heads.meta.get("feedback") if heads is not None else None
    return f"{clf.name}/{clf.version}{where}" + (f", trained with {fb} feedback example(s)" if fb else "")


@click.command(
    "eval", epilog="Example: edumon eval --input data/labelled/dev/r1-w01-school-dev.jsonl --compare heads-new.npz"
)
@click.option(
    "--input",
    "input_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Gold JSON lines with text, sentiment and harm.",
)
@click.option(
    "--feedback",
    "use_feedback",
    is_flag=True,
    help="Evaluate on people's label feedback in the config's warehouse instead of --input.",
)
@click.option(
    "--include-trained",
    is_flag=True,
    help="With --feedback: keep the examples the heads learnt from (in-sample, optimistic).",
)
@click.option(
    "--heads",
    "heads_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Evaluate these heads (.npz, default backend) instead of the configured classifier.",
)
@click.option(
    "--compare",
    "compare_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Heads (.npz) to compare with: before/after side by side on the same posts.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option(
    "--errors",
    "show_errors",
    is_flag=True,
    help="Also list the misclassified posts (with --compare: the posts whose labels changed, fixed or broken).",
)
@config_option
@_one_line_errors
def eval_(
    input_path: str | None,
    use_feedback: bool,
    include_trained: bool,
    heads_path: str | None,
    compare_path: str | None,
    as_json: bool,
    show_errors: bool,
    config_path: str | None,
) -> None:
    """Precision, recall, F1 per class, macro-F1 and confusion matrices for sentiment and harm.

    With --compare NEW.npz: the configured classifier (or --heads) is "before", the same
    configuration with NEW.npz as heads is "after", both on the same posts.
    """
    from dataclasses import replace

    if bool(input_path) == use_feedback:
        raise click.UsageError("give either --input GOLD.jsonl or --feedback (with --config)")
    if include_trained and not use_feedback:
        raise click.UsageError("--include-trained goes with --feedback")
    for p in (heads_path, compare_path):
        if p and not Path(p).exists():
            raise FileNotFoundError(2, "not found", p)
    ccfg = _config(config_path)
    source = input_path or ""
    if use_feedback:
        cfg = _full_config(config_path, "--feedback")
        rows = _feedback_rows(cfg)
        source = f"label feedback in {warehouse_for(cfg).path}"
    else:
        rows = _read_rows(str(input_path), ("text", "sentiment", "harm"))
    before_cfg = replace(ccfg, backend="default", heads_path=heads_path) if heads_path else ccfg
    clfs = [load_classifier(before_cfg)]
    paths = [heads_path or (ccfg.heads_path if ccfg.backend == "default" else None)]
    if compare_path:
        clfs.append(load_classifier(replace(ccfg, backend="default", heads_path=compare_path)))
        paths.append(compare_path)
        encs = [c for c in clfs if hasattr(c, "encoder")]
        if len(encs) == 2:  # embed each post once for both
            memo = MemoEncoder(encs[0].encoder)
            for c in encs:
                c.encoder = memo
    if use_feedback and not include_trained:
        seen = set().union(*(_trained_on(c) for c in clfs))
        if seen:
            n = len(rows)
            rows = [r for r in rows if text_key(str(r["text"]))[:16] not in seen]
            click.echo(
                f"note: left out {n - len(rows)} of {n} feedback example(s) the heads learnt from "
                "(--include-trained keeps them)",
                err=True,
            )
            if not rows:
                raise ValueError(
                    "no feedback examples left that the heads did not learn from (retrain with "
                    "--feedback-holdout to keep some back, or use --include-trained)"
                )
    reports = [evaluate(c, rows) for c in clfs]
    names = [_describe(c, p) for c, p in zip(clfs, paths)]
    if as_json:
        figs = [
            {"classifier": f"{c.name}/{c.version}", "heads": p, **{k: v.to_dict() for k, v in rep.items()}}
            for c, p, rep in zip(clfs, paths, reports)
        ]
        out: dict[str, Any] = {"input": source, "n": len(rows)}
        out.update({"before": figs[0], "after": figs[1]} if compare_path else figs[0])
        click.echo(json.dumps(out, indent=2))
    elif compare_path:
        click.echo(f"{source}: {len(rows)} posts\n  before: {names[0]}\n  after:  {names[1]}")
        for k in ("harm", "sentiment"):
            click.echo(format_compare(reports[0][k], reports[1][k], k))
        tb, ta = threat_recall(reports[0]["harm"]), threat_recall(reports[1]["harm"])
        click.echo(f"threat recall: {tb:.3f} -> {ta:.3f} ({ta - tb:+.3f})")
    else:
        click.echo(f"{source}: {len(rows)} posts, classifier {names[0]}")
        for k, v in reports[0].items():
            click.echo(v.format(k))
    if show_errors:
        preds = [c.classify([str(r["text"]) for r in rows]) for c in clfs]

        def right(r: dict[str, Any], p: Any) -> int:
            return int(r["harm"] == p.harm) + int(r["sentiment"] == p.sentiment)

        for i, r in enumerate(rows):
            p0 = preds[0][i]
            if compare_path:
                p1 = preds[1][i]
                if (p0.harm, p0.sentiment) != (p1.harm, p1.sentiment):
                    what = {1: "fixed  ", -1: "broken "}.get(
                        (right(r, p1) > right(r, p0)) - (right(r, p1) < right(r, p0)), "changed"
                    )
                    click.echo(
                        f"  {what} gold {r['harm']}/{r['sentiment']} was {p0.harm}/{p0.sentiment} "
                        f"now {p1.harm}/{p1.sentiment}: {r['text']}"
                    )
            elif right(r, p0) < 2:
                click.echo(f"  gold {r['harm']}/{r['sentiment']} got {p0.harm}/{p0.sentiment}: {r['text']}")


@click.command("train", epilog="Example: edumon train --include-feedback --config edumon.toml --no-shared")
@click.option(
    "--shared-data",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder with mhc-dutch/ and xed-nl/ (e.g. ../shared/data); nothing outside the repository is read "
    "unless given.",
)
@click.option(
    "--output",
    "output_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Where to write the heads; '{version}' in it becomes the heads' version (default: the shipped "
    "classifiers/data/heads.npz; with --include-feedback: heads-feedback-{version}.npz beside "
    "the warehouse).",
)
@click.option("--seed", default=13, show_default=True, type=int)
@click.option("--no-shared", is_flag=True, help="Train on the school-context set only (+ feedback).")
@click.option(
    "--include-feedback",
    is_flag=True,
    help="Add people's label feedback from the config's warehouse to the training set.",
)
@click.option(
    "--feedback-weight",
    default=2.0,
    show_default=True,
    type=float,
    help="Weight of one feedback example (a school-context example weighs 1).",
)
@click.option(
    "--feedback-holdout",
    default=0.0,
    show_default=True,
    type=float,
    help="Fraction of the feedback kept back (seeded) so `edumon eval --feedback` can measure.",
)
@config_option
def train(
    shared_data: str | None,
    output_path: str | None,
    seed: int,
    no_shared: bool,
    include_feedback: bool,
    feedback_weight: float,
    feedback_holdout: float,
    config_path: str | None,
) -> None:
    """Rebuild the embedded model's heads (seeded) from the school-context set + shared data (+ feedback).

    Nothing retrains by itself: a person runs this. With --include-feedback the new heads
    go beside the warehouse, never over the ones in use; compare them with
    `edumon eval --compare`, then point `classifier.heads_path` at them.
    """

    @_one_line_errors
    def go() -> None:
        kw: dict[str, Any] = {}
        if no_shared:
            kw.update(hatecheck_weight=0.0, xed_weight=0.0)
        out = output_path or str(DEFAULT_HEADS)
        cfg = None
        if include_feedback:
            cfg = _full_config(config_path, "--include-feedback")
            kw.update(feedback=_feedback_rows(cfg), feedback_weight=feedback_weight, feedback_holdout=feedback_holdout)
            if not output_path:
                out = str(warehouse_for(cfg).path.parent / "heads-feedback-{version}.npz")
        elif config_path:
            cfg = _full_config(config_path, "--config")
        heads = train_heads(shared=Path(shared_data) if shared_data else None, out=out, seed=seed, log=click.echo, **kw)
        written = Path(out.replace("{version}", heads.version))
        if cfg is not None:
            live = Path(cfg.classifier.heads_path or DEFAULT_HEADS)
            if written.resolve() == live.resolve():
                click.echo(
                    f"note: {written} are the heads {config_path} uses: new posts are classified with them "
                    "from the next cycle"
                )
            else:
                click.echo(
                    f"compare: edumon eval --config {config_path} --input data/labelled/dev/r1-w01-school-dev.jsonl "
                    f"--compare {written}"
                )
                click.echo(f'use them: set heads_path = "{written}" under [classifier] in {config_path}')

    go()


@click.group("models")
def models() -> None:
    """Manage the transformers models of the classifier."""


@models.command("pull", epilog="Example: edumon models pull --config edumon.toml")
@config_option
@_one_line_errors
def pull(config_path: str | None) -> None:
    """Download the configured transformers models (needs the network)."""
    done = pull_models(_config(config_path).transformers, log=click.echo)
    click.echo(f"pulled {len(done)} model(s)")


eval_.name = "eval"
COMMANDS = [classify, eval_, train, models]
