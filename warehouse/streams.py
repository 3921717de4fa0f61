"""The `stream_state` table: each live stream's resume cursor and lag (`edumon listen`, docs/streaming.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb

COLUMNS = (
    "stream",
    "source",
    "cursor_us",
    "last_event_at",
    "last_received_at",
    "events",
    "matched",
    "connected",
    "error",
    "updated_at",
)


def save_streams(con: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, Any]], now: datetime) -> None:
    """Upsert one row per stream (inside the caller's transaction).  A row without a cursor
    keeps the stored one: a stream that has not delivered yet never loses its resume point."""
    for r in rows:
        con.execute(
            """INSERT INTO stream_state (stream, source, cursor_us, last_event_at, last_received_at, events, matched,
                                         connected, error, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (stream) DO UPDATE SET
                    source = excluded.source,
                    cursor_us = coalesce(excluded.cursor_us, stream_state.cursor_us),
                    last_event_at = coalesce(excluded.last_event_at, stream_state.last_event_at),
                    last_received_at = coalesce(excluded.last_received_at, stream_state.last_received_at),
                    events = excluded.events, matched = excluded.matched,
                    connected = excluded.connected, error = excluded.error, updated_at = excluded.updated_at""",
            [
                r["stream"],
                r["source"],
                r.get("cursor_us"),
                r.get("last_event_at"),
                r.get("last_received_at"),
                int(r.get("events") or 0),
                int(r.get("matched") or 0),
                bool(r.get("connected")),
                r.get("error"),
                now,
            ],
        )


def load_streams(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Every stored stream row by stream key (empty when no listener has run)."""
    try:
        cur = con.execute(
            "SELECT stream, source, cursor_us, last_event_at, last_received_at, events, matched, connected, error,"
            " updated_at FROM stream_state ORDER BY stream"
        )
    except duckdb.CatalogException:
        return {}
    return {row[0]: dict(zip(COLUMNS, row)) for row in cur.fetchall()}
