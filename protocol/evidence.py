"""Evidence for a police report: the raw payload as fetched, its URL, fetched_at
and a SHA-256 of the raw bytes, in the append-only `evidence` table.  edumon
only ever inserts into it; the report reads nothing else, so it works after the
post (and the `mentions` row) is gone."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from core.mention import Mention

from .db import fetch_dicts, insert_rows, stable_id


def needs_evidence(m: Mention) -> bool:
    """Every threat or insult is kept as evidence."""
    return m.harm in ("threat", "insult")


def raw_payload(m: Mention) -> str:
    """The item exactly as fetched; the whole record when a connector kept no raw text."""
    return m.raw if m.raw is not None else m.to_json()


def sha256_hex(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def evidence_row(m: Mention, now: datetime) -> dict[str, Any]:
    raw = raw_payload(m)
    digest = sha256_hex(raw)
    return {
        "evidence_id": stable_id("evidence", m.mention_id, digest),
        "mention_id": m.mention_id,
        "source": m.source,
        "source_id": m.source_id,
        "url": m.url,
        "author": m.author,
        "author_id": m.author_id,
        "text": m.text,
        "published_at": m.published_at,
        "fetched_at": m.fetched_at,
        "school_ids": list(m.school_ids),
        "harm": m.harm,
        "harm_kind": m.harm_kind,
        "cues": list(m.cues),
        "classifier": m.classifier,
        "raw": raw,
        "raw_sha256": digest,
        "stored_at": now,
    }


def keep_evidence(con: duckdb.DuckDBPyConnection, mentions: Sequence[Mention], now: datetime) -> int:
    """Append evidence for the threats and insults (the same payload is never stored twice)."""
    return insert_rows(con, "evidence", [evidence_row(m, now) for m in mentions if needs_evidence(m)])


def evidence_for(con: duckdb.DuckDBPyConnection, mention_id: str) -> list[dict[str, Any]]:
    return fetch_dicts(con, "SELECT * FROM evidence WHERE mention_id = ? ORDER BY stored_at", [mention_id])


def _when(dt: datetime | None, tz: ZoneInfo) -> str:
    if dt is None:
        return "onbekend"
    return f"{dt.astimezone(tz):%d-%m-%Y %H:%M:%S %Z} ({dt.astimezone(ZoneInfo('UTC')):%Y-%m-%dT%H:%M:%SZ})"


def report(rows: Sequence[dict[str, Any]], school_names: dict[str, str], tz: ZoneInfo, organisation: str) -> str:
    """A plain-text report fit to hand over to the police (Dutch)."""
    first = rows[0]
    out = [
        f"BEWIJSSTUK - {organisation}",
        "=" * 60,
        f"Vermelding (mention id): {first['mention_id']}",
        f"Bron:                    {first['source']} ({first['source_id']})",
        f"Adres (URL):             {first['url'] or 'onbekend'}",
        f"Auteur:                  {first['author'] or 'onbekend'}"
        + (f" ({first['author_id']})" if first.get("author_id") else ""),
        f"Gepubliceerd:            {_when(first['published_at'], tz)}",
        f"School/scholen:          {', '.join(school_names.get(s, s) for s in first['school_ids'])}",
        f"Beoordeling:             {first['harm'] or '-'}"
        + (f" ({first['harm_kind']})" if first.get("harm_kind") else "")
        + (f"; signalen: {', '.join(first['cues'])}" if first.get("cues") else "")
        + (f"; classificatie {first['classifier']}" if first.get("classifier") else ""),
        "",
        "Tekst van het bericht:",
        *("    " + line for line in first["text"].splitlines()),
        "",
    ]
    for i, r in enumerate(rows, 1):
        ok = sha256_hex(r["raw"]) == r["raw_sha256"]
        out += [
            f"Vastlegging {i} van {len(rows)}",
            "-" * 60,
            f"Opgehaald (fetched_at):  {_when(r['fetched_at'], tz)}",
            f"Vastgelegd (stored_at):  {_when(r['stored_at'], tz)}",
            f"SHA-256 van de ruwe gegevens (UTF-8): {r['raw_sha256']}",
            f"Controle: {'OK, de ruwe gegevens zijn ongewijzigd' if ok else 'AFWIJKING: de ruwe gegevens komen niet overeen met de hash'}",
            "Ruwe gegevens zoals opgehaald (precies de tekst tussen de markeringen):",
            "-----BEGIN RUWE GEGEVENS-----",
            r["raw"],
            "-----EINDE RUWE GEGEVENS-----",
            "",
        ]
    out.append(
        "De ruwe gegevens zijn byte-voor-byte bewaard zoals de bron ze leverde; de SHA-256 is berekend "
        "over de UTF-8-bytes ervan en kan met elk sha256-programma worden nagerekend."
    )
    return "\n".join(out)
