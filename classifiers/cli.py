"""Click commands of the classifier: classify, eval, train, models pull.

The lead registers them on the `edumon` group: `for c in COMMANDS: main.add_command(c)`.
"""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from .config import ClassifierConfig


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
    from edumon.config import load_config  # lazily: the lead's module
    return load_config(path).classifier


config_option = click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
                             help="edumon TOML config; its [classifier] section is used.")


def _read_rows(path: str, need: tuple[str, ...]) -> list[dict[str, Any]]:
    from .evaluate import read_jsonl
    rows = read_jsonl(path)
    for n, r in enumerate(rows, 1):
        for k in need:
            if k not in r:
                raise ValueError(f"{path}: row {n} has no {k!r} field")
    return rows


@click.command("classify", epilog="Example: edumon classify --input posts.jsonl --output labelled.jsonl")
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False),
              help='JSON lines with {"id", "text"}.')
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False),
              help="JSON lines with the same ids and the labels.")
@config_option
@_one_line_errors
def classify(input_path: str, output_path: str, config_path: str | None) -> None:
    """Classify Dutch posts: sentiment, harm, harm_kind, scores and cues per row."""
    from . import load_classifier
    rows = _read_rows(input_path, ("id", "text"))
    clf = load_classifier(_config(config_path))
    labels = clf.classify([str(r["text"]) for r in rows])
    with open(output_path, "w", encoding="utf-8") as f:
        for r, lab in zip(rows, labels):
            f.write(json.dumps({"id": r["id"], "sentiment": lab.sentiment, "harm": lab.harm,
                                "harm_kind": lab.harm_kind, "scores": lab.scores, "cues": list(lab.cues),
                                "classifier": lab.classifier}, ensure_ascii=False) + "\n")
    flagged = sum(lab.harm != "none" for lab in labels)
    click.echo(f"classified {len(rows)} posts ({flagged} flagged) with {clf.name}/{clf.version} -> {output_path}")


@click.command("eval", epilog="Example: edumon eval --input classifiers/data/school_dev.jsonl")
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False),
              help="Gold JSON lines with text, sentiment and harm.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--errors", "show_errors", is_flag=True, help="Also list the misclassified posts.")
@config_option
@_one_line_errors
def eval_(input_path: str, as_json: bool, show_errors: bool, config_path: str | None) -> None:
    """Precision, recall, F1 per class, macro-F1 and confusion matrices for sentiment and harm."""
    from . import load_classifier
    from .evaluate import confusion
    from .base import HARMS, SENTIMENTS
    rows = _read_rows(input_path, ("text", "sentiment", "harm"))
    clf = load_classifier(_config(config_path))
    preds = clf.classify([str(r["text"]) for r in rows])
    reports = {"sentiment": confusion([r["sentiment"] for r in rows], [p.sentiment for p in preds], SENTIMENTS),
               "harm": confusion([r["harm"] for r in rows], [p.harm for p in preds], HARMS)}
    if as_json:
        click.echo(json.dumps({"classifier": f"{clf.name}/{clf.version}", "n": len(rows),
                               **{k: v.to_dict() for k, v in reports.items()}}, indent=2))
    else:
        click.echo(f"{input_path}: {len(rows)} posts, classifier {clf.name}/{clf.version}")
        for k, v in reports.items():
            click.echo(v.format(k))
    if show_errors:
        for r, p in zip(rows, preds):
            if r["harm"] != p.harm or r["sentiment"] != p.sentiment:
                click.echo(f"  gold {r['harm']}/{r['sentiment']} got {p.harm}/{p.sentiment}: {r['text']}")


@click.command("train", epilog="Example: edumon train --shared-data ../shared/data --seed 13")
@click.option("--shared-data", default="../shared/data", show_default=True, type=click.Path(file_okay=False),
              help="Folder with mhc-dutch/ and xed-nl/ (used where present).")
@click.option("--output", "output_path", default=None, type=click.Path(dir_okay=False),
              help="Where to write the heads (default: the shipped classifiers/data/heads.npz).")
@click.option("--seed", default=13, show_default=True, type=int)
@click.option("--no-shared", is_flag=True, help="Train on the school-context set only.")
def train(shared_data: str, output_path: str | None, seed: int, no_shared: bool) -> None:
    """Rebuild the embedded model's heads (seeded) from the school-context set + shared data."""
    from .embedded import DEFAULT_HEADS
    from .train import train as run

    @_one_line_errors
    def go() -> None:
        kw: dict[str, Any] = {}
        if no_shared:
            kw.update(hatecheck_weight=0.0, xed_weight=0.0)
        run(shared=Path(shared_data), out=output_path or DEFAULT_HEADS, seed=seed, log=click.echo, **kw)

    go()


@click.group("models")
def models() -> None:
    """Manage the transformers models of the classifier."""


@models.command("pull", epilog="Example: edumon models pull --config edumon.toml")
@config_option
@_one_line_errors
def pull(config_path: str | None) -> None:
    """Download the configured transformers models (needs the network)."""
    from .hf import pull as run
    done = run(_config(config_path).transformers, log=click.echo)
    click.echo(f"pulled {len(done)} model(s)")


eval_.name = "eval"
COMMANDS = [classify, eval_, train, models]
