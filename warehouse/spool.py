"""A local spool: what a cycle fetched but could not write (the warehouse stayed
locked) waits here as JSON lines and is replayed by the next cycle."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def write(spool_dir: Path, cycle_id: str, payload: dict[str, Any]) -> Path:
    """Write one cycle's unwritten results atomically; returns the file."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    path = spool_dir / f"{cycle_id}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, default=str, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return path


def pending(spool_dir: Path) -> Iterator[tuple[Path, dict[str, Any] | None]]:
    """Spooled cycles, oldest first; the payload is None for a file that is not valid JSON."""
    if not spool_dir.exists():
        return
    for p in sorted(spool_dir.glob("*.json"), key=lambda p: (p.stat().st_mtime, p.name)):
        try:
            payload = json.loads(p.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            payload = None
        yield p, payload if isinstance(payload, dict) else None


def set_aside(path: Path) -> Path:
    """Rename a damaged spool file to `*.bad` (kept for a human, never replayed)."""
    bad = path.with_suffix(".bad")
    os.replace(path, bad)
    return bad
