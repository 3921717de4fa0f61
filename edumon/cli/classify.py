"""Click commands of the classifier: classify, eval, train, models pull.

`edumon.cli` registers them on the `edumon` group.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from classifiers import load_classifier
from classifiers.embedded import DEFAULT_HEADS, MemoEncoder
from classifiers.evaluate import evaluate, format_compare, read_jsonl, threat_recall
from classifiers.hf import pull as pull_models
from classifiers.language import post_language
from classifiers.train import HARM_CLASS_WEIGHT, MEMBERS, text_key
from classifiers.train import train as train_heads
from core.config import Config, TriageConfig
from core.vocabulary import TRIAGES
from edumon.cli.options import classifier_config, config_option, need_config, one_line_errors, usage_error
from edumon.cli.progress import Progress
from protocol.feedback import feedback_examples
from protocol.triage import Triage, triage
from warehouse import warehouse_for


def _read_rows(path: str, need: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = read_jsonl(path)
    for n, r in enumerate(rows, 1):
        for k in need:
            if k not in r:
                raise ValueError(f"{path}: row {n} has no {k!r} field")
    return rows


CHUNK_BATCHES = 8  # `edumon classify` reports progress every 8 encoder batches (256 posts by default)


def classify_in_chunks(clf: Any, texts: list[str], chunk: int) -> list[Any]:
    """Labels for `texts`, classified `chunk` at a time with a progress bar on a terminal.

    `chunk` is a multiple of the encoder's batch size, so the model sees the same batches as
    in one call: the labels are the same."""
    labels: list[Any] = []
    with Progress(f"Classifying with {clf.name}", total=len(texts)) as progress:
        for i in range(0, len(texts), chunk):
            labels += clf.classify(texts[i : i + chunk])
            progress.advance(len(texts[i : i + chunk]))
    return labels


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
@config_option(required=False)
@one_line_errors
def classify(cfg: Config | None, input_path: str, output_path: str) -> None:
    """Classify Dutch posts: sentiment, harm, harm_kind, scores, cues and triage per row.

    A row may carry its language ("lang", e.g. from Bluesky or Mastodon); else it is detected.
    """
    rows = _read_rows(input_path, ("id", "text"))
    ccfg = classifier_config(cfg)
    clf = load_classifier(ccfg)
    triage_cfg = cfg.triage if cfg else TriageConfig()
    labels = classify_in_chunks(clf, [str(r["text"]) for r in rows], chunk=max(1, ccfg.batch_size) * CHUNK_BATCHES)
    counts = dict.fromkeys(TRIAGES, 0)
    with open(output_path, "w", encoding="utf-8") as f:
        for r, lab in zip(rows, labels):
            lang = post_language(r.get("lang"), str(r["text"]))
            t = triage(lab, lang, triage_cfg)
            counts[t.decision] += 1
            f.write(json.dumps(_output_row(r["id"], lab, lang, t), ensure_ascii=False) + "\n")
    flagged = sum(lab.harm != "none" for lab in labels)
    click.echo(
        f"classified {len(rows)} posts ({flagged} flagged; triage: {counts['alert']} alert, "
        f"{counts['review']} review) with {clf.name}/{clf.version} -> {output_path}"
    )


def _output_row(row_id: Any, lab: Any, lang: str | None, t: Triage) -> dict[str, Any]:
    return {
        "id": row_id,
        "sentiment": lab.sentiment,
        "harm": lab.harm,
        "harm_kind": lab.harm_kind,
        "scores": lab.scores,
        "cues": list(lab.cues),
        "classifier": lab.classifier,
        "lang": lang,
        "triage": t.decision,
        "urgency": t.urgency,
        "triage_reason": t.reason,
    }


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


def _unseen(rows: list[dict[str, Any]], clfs: list[Any]) -> list[dict[str, Any]]:
    """The feedback examples none of the heads learnt from (says on stderr how many were left out)."""
    seen = set().union(*(_trained_on(c) for c in clfs))
    if not seen:
        return rows
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
    return rows


def _right(r: dict[str, Any], p: Any) -> int:
    return int(r["harm"] == p.harm) + int(r["sentiment"] == p.sentiment)


def _print_errors(clfs: list[Any], rows: list[dict[str, Any]], compare: bool) -> None:
    """The misclassified posts; with two classifiers, the posts whose labels changed (fixed or broken)."""
    preds = [c.classify([str(r["text"]) for r in rows]) for c in clfs]
    for i, r in enumerate(rows):
        p0 = preds[0][i]
        if compare:
            p1 = preds[1][i]
            if (p0.harm, p0.sentiment) != (p1.harm, p1.sentiment):
                what = {1: "fixed  ", -1: "broken "}.get(
                    (_right(r, p1) > _right(r, p0)) - (_right(r, p1) < _right(r, p0)), "changed"
                )
                click.echo(
                    f"  {what} gold {r['harm']}/{r['sentiment']} was {p0.harm}/{p0.sentiment} "
                    f"now {p1.harm}/{p1.sentiment}: {r['text']}"
                )
        elif _right(r, p0) < 2:
            click.echo(f"  gold {r['harm']}/{r['sentiment']} got {p0.harm}/{p0.sentiment}: {r['text']}")


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
@config_option(required=False)
@one_line_errors
def eval_(
    cfg: Config | None,
    input_path: str | None,
    use_feedback: bool,
    include_trained: bool,
    heads_path: str | None,
    compare_path: str | None,
    as_json: bool,
    show_errors: bool,
) -> None:
    """Precision, recall, F1 per class, macro-F1 and confusion matrices for sentiment and harm.

    With --compare NEW.npz: the configured classifier (or --heads) is "before", the same
    configuration with NEW.npz as heads is "after", both on the same posts.
    """
    from dataclasses import replace

    if bool(input_path) == use_feedback:
        raise usage_error("give either --input GOLD.jsonl or --feedback (with --config)")
    if include_trained and not use_feedback:
        raise usage_error("--include-trained goes with --feedback")
    for p in (heads_path, compare_path):
        if p and not Path(p).exists():
            raise FileNotFoundError(2, "not found", p)
    ccfg = classifier_config(cfg)
    source = input_path or ""
    if use_feedback:
        full = need_config(cfg, "--feedback", "its warehouse holds the feedback")
        rows = _feedback_rows(full)
        source = f"label feedback in {warehouse_for(full).path}"
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
        rows = _unseen(rows, clfs)
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
        _print_errors(clfs, rows, compare=bool(compare_path))


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
@click.option(
    "--cv-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Save the out-of-writer harm probabilities (npz) for bench/bench_triage.py.",
)
@click.option(
    "--cv-folds",
    type=click.IntRange(min=2),
    default=None,
    help="Cross-validate on this many seeded groups of writers (fewer fits) instead of one writer at a time.",
)
@click.option(
    "--members",
    type=click.IntRange(min=1),
    default=MEMBERS,
    show_default=True,
    help="Each head is the mean of this many networks with consecutive seeds (the shipped heads: 1).",
)
@click.option(
    "--harm-class-weight",
    default=",".join(f"{v:g}" for v in HARM_CLASS_WEIGHT),
    show_default=True,
    help="Weights of the harm classes none,insult,threat in the harm head's loss (harmless above 1: fewer false alarms).",
)
@config_option(required=False)
def train(
    cfg: Config | None,
    shared_data: str | None,
    output_path: str | None,
    seed: int,
    no_shared: bool,
    include_feedback: bool,
    feedback_weight: float,
    feedback_holdout: float,
    cv_out: str | None,
    cv_folds: int | None,
    members: int,
    harm_class_weight: str,
) -> None:
    """Rebuild the embedded model's heads (seeded) from the school-context set + shared data (+ feedback).

    Nothing retrains by itself: a person runs this. With --include-feedback the new heads
    go beside the warehouse, never over the ones in use; compare them with
    `edumon eval --compare`, then point `classifier.heads_path` at them.
    """

    @one_line_errors
    def go() -> None:
        kw: dict[str, Any] = {"cv_out": cv_out, "cv_folds": cv_folds, "members": members}
        kw["harm_class_weight"] = _class_weights(harm_class_weight)
        if no_shared:
            kw.update(hatecheck_weight=0.0, xed_weight=0.0)
        out = output_path or str(DEFAULT_HEADS)
        if include_feedback:
            full = need_config(cfg, "--include-feedback", "its warehouse holds the feedback")
            kw.update(feedback=_feedback_rows(full), feedback_weight=feedback_weight, feedback_holdout=feedback_holdout)
            if not output_path:
                out = str(warehouse_for(full).path.parent / "heads-feedback-{version}.npz")
        with Progress("Training the heads") as progress:

            def log(line: str) -> None:
                click.echo(line)
                progress.describe(f"Training the heads: {line[:60]}")

            heads = train_heads(shared=Path(shared_data) if shared_data else None, out=out, seed=seed, log=log, **kw)
        written = Path(out.replace("{version}", heads.version))
        if cfg is not None:
            config_path = cfg.path
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
    """Manage the transformers models of the classifier.

    \b
    Example:
        edumon models pull --config config/example.toml
    """


@models.command("pull", epilog="Example: edumon models pull --config edumon.toml")
@config_option(required=False)
@one_line_errors
def pull(cfg: Config | None) -> None:
    """Download the configured transformers models (needs the network)."""
    done = pull_models(classifier_config(cfg).transformers, log=click.echo)
    click.echo(f"pulled {len(done)} model(s)")


eval_.name = "eval"
COMMANDS = [classify, eval_, train, models]


def _class_weights(spec: str) -> tuple[float, float, float] | None:
    """'2,1,1' -> (2.0, 1.0, 1.0); '1,1,1' -> None (no class weights)."""
    try:
        values = tuple(float(v) for v in spec.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or any(v <= 0 for v in values):
        raise usage_error(f"--harm-class-weight: expected three positive numbers none,insult,threat, got {spec!r}")
    return None if values == (1.0, 1.0, 1.0) else values  # type: ignore[return-value]
