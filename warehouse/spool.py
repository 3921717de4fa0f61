"""A local spool: what a cycle fetched but could not write (the warehouse stayed
locked) waits here as JSON lines and is replayed by the next cycle."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import datetime, timezone
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


def spool_dir_for(cfg: Any) -> Path:
    """A config's spool directory: `[warehouse] spool_dir`, else `spool/` beside the warehouse file."""
    return Path(cfg.warehouse.spool_dir) if cfg.warehouse.spool_dir else Path(cfg.warehouse.path).parent / "spool"


_ID = re.compile(r"\b[0-9a-f]{24}\b")  # a mention id (core.mention.make_mention_id)


def scrub(spool_dir: Path, purged: set[str], cutoff: datetime) -> int:
    """After a purge: what the spool still holds of purged mentions goes. A damaged file
    (`*.bad`, kept for a human) goes when it names a purged mention or was set aside before the
    retention cutoff; a pending file loses its purged mentions (the rest is replayed as usual);
    a half-written `*.tmp` older than the cutoff goes. Returns the number of files changed."""
    if not spool_dir.exists():
        return 0
    changed = 0
    for p in sorted(spool_dir.iterdir()):
        if not p.is_file():
            continue
        old = datetime.fromtimestamp(p.stat().st_mtime, timezone.utc) < cutoff
        text = p.read_text(encoding="utf-8", errors="replace")
        names_purged = bool(purged.intersection(_ID.findall(text)))
        if p.suffix in (".bad", ".tmp") and (old or names_purged):
            p.unlink()
            changed += 1
        elif p.suffix == ".json" and names_purged:
            changed += _drop_mentions(p, text, purged)
    return changed


def _drop_mentions(path: Path, text: str, purged: set[str]) -> int:
    """Rewrite a pending spool file without the purged mentions (atomically)."""
    try:
        payload = json.loads(text)
    except ValueError:
        return 0  # damaged: the next replay sets it aside, the next purge removes it
    mentions = payload.get("mentions") if isinstance(payload, dict) else None
    if not isinstance(mentions, list):
        return 0
    payload["mentions"] = [m for m in mentions if not (isinstance(m, dict) and m.get("mention_id") in purged)]
    st = path.stat()
    tmp = path.with_suffix(".scrub")
    tmp.write_text(json.dumps(payload, default=str, ensure_ascii=False), encoding="utf-8")
    os.utime(tmp, (st.st_atime, st.st_mtime))  # keeps its place in the replay order
    os.replace(tmp, path)
    return 1
