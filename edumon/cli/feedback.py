"""`edumon feedback`: correct a mention's labels and export people's labels as training examples."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import IO

import click

from classifiers.base import HARM_KINDS, HARMS, SENTIMENTS
from core.config import Config
from edumon.cli.options import CliError, config_option, existing_warehouse
from protocol.db import resolve_mention_id
from protocol.feedback import UNSET, FeedbackError, correct_labels, feedback_examples, list_feedback
from warehouse import WarehouseLocked


@click.group()
def feedback() -> None:
    """Label feedback: corrections and dismissals that teach the classifier.

    \b
    Example:
        edumon feedback export --config config/example.toml --output feedback.jsonl
    """


@feedback.command("correct")
@config_option
@click.argument("mention_id")
@click.option("--by", "by", required=True, help="Who corrects (lands in the audit trail).")
@click.option("--sentiment", type=click.Choice(SENTIMENTS), help="The right sentiment.")
@click.option("--harm", type=click.Choice(HARMS), help="The right harm.")
@click.option(
    "--harm-kind", type=click.Choice(HARM_KINDS + ("",)), default=None, help="The right harm kind ('' for none)."
)
@click.option("--note", help="Why.")
def correct_cmd(
    cfg: Config,
    mention_id: str,
    by: str,
    sentiment: str | None,
    harm: str | None,
    harm_kind: str | None,
    note: str | None,
) -> None:
    """Correct a mention's labels; kept in label_feedback and the follow-up's audit trail.

    MENTION_ID may be the first 6 or more characters of the id.

    \b
    Example:
        edumon feedback correct --config config/example.toml 3fd62b5c442a --harm none --by anna --note "grap"
    """

    wh = existing_warehouse(cfg)
    try:
        with wh.transaction() as con:
            try:
                mid = resolve_mention_id(con, mention_id)
            except KeyError:
                raise CliError(f"no mention {mention_id!r}") from None
            except ValueError as e:
                raise CliError(str(e)) from None
            changes = correct_labels(
                con,
                mid,
                by=by,
                now=datetime.now(timezone.utc),
                sentiment=sentiment,
                harm=harm,
                harm_kind=UNSET if harm_kind is None else (harm_kind or None),
                note=note,
            )
    except FeedbackError as e:
        raise CliError(str(e)) from None
    except WarehouseLocked as e:
        raise CliError(str(e)) from None
    for c in changes:
        click.echo(f"{mid[:12]}  {c.field}: {c.from_value or '-'} -> {c.to_value or '-'}")


@feedback.command("list")
@config_option
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1), help="How many, newest first.")
def list_cmd(cfg: Config, limit: int) -> None:
    """List the latest label feedback (corrections and dismissals), newest first.

    \b
    Example:
        edumon feedback list --config config/example.toml --limit 20
    """

    wh = existing_warehouse(cfg)
    with wh.connect(read_only=True) as con:
        rows = list_feedback(con, limit)
    for r in rows:
        what = "correction" if r["kind"] == "correction" else f"dismissal ({r['reason']})"
        labels = (
            f"{r['sentiment']}/{r['harm']}" + (f"/{r['harm_kind']}" if r["harm_kind"] else "")
            if r["sentiment"]
            else "-"
        )
        was = f"{r['was_sentiment']}/{r['was_harm']}"
        text = " ".join(r["text"].split())
        click.echo(
            f"{r['created_at']:%Y-%m-%d %H:%M}  {r['by_whom']:<10} {what:<26} {was:>18} -> {labels:<24} {text[:60]}"
        )
    click.echo(f"{len(rows)} feedback row(s)")


@feedback.command("export")
@config_option
@click.option(
    "--output",
    "output",
    required=True,
    type=click.File("w", encoding="utf-8"),
    help="JSON lines: {text, sentiment, harm, harm_kind, source} ('-' for stdout).",
)
def export_cmd(cfg: Config, output: IO[str]) -> None:
    """Write people's labels as training examples (one per text, the latest judgement wins).

    \b
    Example:
        edumon feedback export --config config/example.toml --output feedback.jsonl
    """

    rows = feedback_examples(existing_warehouse(cfg))
    for r in rows:
        output.write(json.dumps(r, ensure_ascii=False) + "\n")
    click.echo(f"exported {len(rows)} example(s)", err=True)
