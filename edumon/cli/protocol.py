"""`edumon followups`, `edumon evidence` and `edumon digest`: the protocol's commands."""

from __future__ import annotations

import getpass
import os
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from core.config import Config
from core.mention import utcnow
from core.vocabulary import STATUS_NL
from digest import DigestError, build_digest, digest_subject, send_digest
from edumon.cli.options import CliError, config_option, existing_warehouse, usage_error
from protocol.db import resolve_mention_id
from protocol.evidence import evidence_for, report
from protocol.followups import (
    ACTION_NL,
    FollowupError,
    get_followup,
    history,
    list_followups,
    resolve,
    update_followup,
)
from warehouse import WarehouseLocked

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$", re.I)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """ "90m", "12h", "3d", "2w" -> timedelta (raises click.BadParameter)."""
    m = _DURATION.match(text or "")
    if not m:
        raise click.BadParameter(f"{text!r}: expected a number and a unit m/h/d/w, e.g. 3d or 12h")
    return timedelta(**{_UNITS[m.group(2).lower()]: float(m.group(1))})


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> timedelta | None:
    return parse_duration(value) if value else None


def _whoami() -> str:
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return ""


def _local(cfg: Config, dt: datetime | None) -> str:
    return f"{dt.astimezone(ZoneInfo(cfg.organisation.timezone)):%Y-%m-%d %H:%M}" if dt else "-"


def _age(now: datetime, dt: datetime) -> str:
    s = (now - dt).total_seconds()
    return f"{s / 86400:.1f}d" if s >= 86400 else f"{s / 3600:.1f}h"


def _excerpt(text: str | None, n: int = 70) -> str:
    t = " ".join((text or "(bericht niet meer in de database)").split())
    return t if len(t) <= n else t[: n - 1] + "…"


@click.group()
def followups() -> None:
    """Follow-ups of negative mentions (the protocol's "in real life" rule).

    \b
    Example:
        edumon followups list --config config/example.toml --status open --older-than 2d
    """


@followups.command("list")
@config_option
@click.option("--school", help="Only this school id.")
@click.option("--status", type=click.Choice(["open", "done", "dismissed"]), help="Only this status.")
@click.option("--older-than", callback=_duration, help="Created at least this long ago (e.g. 2d, 12h).")
@click.option("--newer-than", callback=_duration, help="Created at most this long ago (e.g. 7d).")
def list_cmd(
    cfg: Config, school: str | None, status: str | None, older_than: timedelta | None, newer_than: timedelta | None
) -> None:
    """List follow-ups, oldest first, filtered by school, status and age.

    \b
    Example:
        edumon followups list --config config/example.toml --school ley-college --status open
    """

    if school:
        try:
            cfg.school(school)
        except KeyError:
            raise usage_error(
                f"unknown school id {school!r}; expected one of {', '.join(s.id for s in cfg.schools)}"
            ) from None
    wh = existing_warehouse(cfg)
    now = utcnow()
    with wh.connect(read_only=True) as con:
        rows = list_followups(con, now, school=school, status=status, older_than=older_than, newer_than=newer_than)
    for r in rows:
        click.echo(
            f"{r['mention_id'][:12]}  {_local(cfg, r['created_at'])}  {_age(now, r['created_at']):>6}  "
            f"{r['status']:<9} {r['action']:<14} {(r.get('reason') or ''):<8} "
            f"{','.join(r['school_ids']):<20} {_excerpt(r.get('text'))}"
        )
    click.echo(f"{len(rows)} follow-up(s)")


def _resolve(con, given: str) -> str:  # type: ignore[no-untyped-def]

    try:
        return resolve(con, given)
    except KeyError:
        raise CliError(f"no follow-up for mention {given!r}") from None
    except ValueError as e:
        raise CliError(str(e)) from None


@followups.command("show")
@config_option
@click.argument("mention_id")
def show_cmd(cfg: Config, mention_id: str) -> None:
    """Show one follow-up with its post and its audit trail (who changed what, when).

    MENTION_ID may be the first 6 or more characters of the id.

    \b
    Example:
        edumon followups show --config config/example.toml 3fd62b5c442a
    """

    wh = existing_warehouse(cfg)
    with wh.connect(read_only=True) as con:
        mid = _resolve(con, mention_id)
        f = get_followup(con, mid)
        events = history(con, mid)
    names = ", ".join(cfg.school(s).name if s in {x.id for x in cfg.schools} else s for s in f["school_ids"])
    click.echo(f"Follow-up {mid}")
    click.echo(f"  school:  {names}")
    click.echo(f"  action:  {f['action']} ({ACTION_NL.get(f['action'], '')})")
    click.echo(f"  status:  {f['status']} ({STATUS_NL.get(f['status'], '')})")
    click.echo(f"  reason:  {f.get('reason') or '-'}" + (f"; cues: {', '.join(f['cues'])}" if f.get("cues") else ""))
    click.echo(f"  note:    {f['note'] or '-'}")
    click.echo(
        f"  created: {_local(cfg, f['created_at'])}; updated {_local(cfg, f['updated_at'])} by {f['updated_by']}"
    )
    click.echo(f"  post:    {f.get('url') or '-'}" + (f" ({f['source']}, {f['author']})" if f.get("author") else ""))
    for line in (f.get("text") or "(the post is no longer in the database)").splitlines():
        click.echo(f"    {line}")
    click.echo("History:")
    for e in events:
        change = f"{e['from_value'] or '-'} -> {e['to_value'] or '-'}" if e["field"] != "note" else ""
        note = f'  "{e["note"]}"' if e["note"] else ""
        click.echo(f"  {_local(cfg, e['event_at'])}  {e['by_whom']:<12} {e['field']:<8} {change}{note}")


@followups.command("update")
@config_option
@click.argument("mention_id")
@click.option(
    "--action",
    type=click.Choice(["in_real_life", "report_police", "correct_online"]),
    help="correct_online: only to correct a factual error in the post.",
)
@click.option(
    "--status",
    type=click.Choice(["open", "done", "dismissed"]),
    help="done: handled; dismissed: not about us / false alarm (both need --note).",
)
@click.option("--note", help="What was done, or why (required to change the action or to close).")
@click.option(
    "--by",
    "by",
    default=lambda: _whoami(),
    show_default="$USER",
    help="Who makes the change (kept in the audit trail).",
)
def update_cmd(cfg: Config, mention_id: str, action: str | None, status: str | None, note: str | None, by: str) -> None:
    """Change a follow-up's action or status, or add a note; every change is kept with who and when.

    \b
    Example:
        edumon followups update --config config/example.toml 3fd62b5c442a \\
            --status done --note "Gesprek met ouders gevoerd" --by j.devries
    """

    wh = existing_warehouse(cfg)
    try:
        with wh.transaction() as con:
            mid = _resolve(con, mention_id)
            changes = update_followup(con, mid, by=by, now=utcnow(), action=action, status=status, note=note)
    except FollowupError as e:
        raise CliError(str(e)) from None
    except WarehouseLocked as e:
        raise CliError(str(e)) from None
    for c in changes:
        click.echo(
            f"{mid[:12]}: {c.field} {c.from_value or '-'} -> {c.to_value}"
            if c.field != "note"
            else f"{mid[:12]}: note added"
        )


@click.command("evidence")
@config_option
@click.argument("mention_id")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Write the report to this file.")
def evidence_cmd(cfg: Config, mention_id: str, out_path: str | None) -> None:
    """Print the evidence kept for a threat or insult: a report fit to hand to the police.

    Works after the post (and the mention) is gone: it reads only the append-only
    evidence table, and checks the SHA-256 of the raw payload.

    \b
    Example:
        edumon evidence --config config/example.toml 3fd62b5c442a > aangifte-bijlage.txt
    """

    wh = existing_warehouse(cfg)
    with wh.connect(read_only=True) as con:
        try:
            mid = resolve_mention_id(con, mention_id, "evidence")
        except KeyError:
            raise CliError(
                f"no evidence kept for mention {mention_id!r} (evidence is kept for threats and insults)"
            ) from None
        except ValueError as e:
            raise CliError(str(e)) from None
        rows = evidence_for(con, mid)
    text = report(rows, {s.id: s.name for s in cfg.schools}, ZoneInfo(cfg.organisation.timezone), cfg.organisation.name)
    if out_path:
        Path(out_path).write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {out_path}", err=True)
    else:
        click.echo(text)


@click.command("digest")
@config_option
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="One local calendar day (YYYY-MM-DD); default: the last 24 hours.",
)
@click.option("--format", "fmt", type=click.Choice(["html", "text"]), default="html", show_default=True)
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Write here (default: standard output).")
@click.option("--send", is_flag=True, help="Also e-mail it (HTML with a text alternative) to [digest] recipients.")
def digest_cmd(cfg: Config, day: datetime | None, fmt: str, out_path: str | None, send: bool) -> None:
    """The daily digest for comms staff, in Dutch: per school the counts, negatives that need a
    follow-up, harm, positive highlights, a 14-day trend, and sources that failed or went silent.

    \b
    Example:
        edumon digest --config config/example.toml --date 2026-11-24 --format html --out digest.html --send
    """

    d: date | None = day.date() if day else None
    existing_warehouse(cfg)
    try:
        content = build_digest(cfg, d, fmt)
        if out_path:
            Path(out_path).parent.mkdir(parents=True, exist_ok=True)
            Path(out_path).write_text(content, encoding="utf-8")
            click.echo(f"wrote {out_path}", err=True)
        else:
            click.echo(content, nl=False)
        if send:
            other = build_digest(cfg, d, "text" if fmt == "html" else "html")
            html, text = (content, other) if fmt == "html" else (other, content)
            send_digest(cfg, html, text, subject=digest_subject(cfg, d))
            click.echo(f"sent to {', '.join(cfg.digest.recipients)}", err=True)
    except (DigestError, WarehouseLocked) as e:
        raise CliError(str(e)) from None
