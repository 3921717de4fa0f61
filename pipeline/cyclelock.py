"""One writer at a time on a machine: a file lock next to the warehouse.

Prefect keeps scheduled cycles from overlapping (the deployment's concurrency
limit), but an `edumon run` by hand, a second `edumon serve` or the nightly
retention can still start while a cycle is busy.  Everything that writes the
warehouse as a batch job takes this lock first; a second one waits up to
`wait_s` and is then skipped with a clear message.  The operating system
releases the lock when the holder dies, so a crashed cycle never blocks the
next one.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from core.config import Config


class CycleBusy(RuntimeError):
    """Another job holds the warehouse lock on this machine."""


def lock_path(cfg: Config) -> Path:
    """The lock file: `<warehouse>.lock`, beside the database."""
    db = Path(cfg.warehouse.path)
    return db.with_name(db.name + ".lock")


def holder(path: Path) -> str:
    """Who holds the lock, as written by the holder ('pid 123, cycle since 09:15:02 UTC')."""
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return "another process"
    if not info:
        return "another process"
    return f"pid {info.get('pid', '?')}, {info.get('job', 'job')} since {info.get('since', '?')}"


def cycle_lock(cfg: Config, job: str = "cycle", wait_s: float | None = None) -> ContextManager[Path]:
    """Hold the machine-wide warehouse lock for `job`; raise `CycleBusy` after `wait_s`."""
    wait = cfg.schedule.lock_wait_s if wait_s is None else wait_s

    def busy(path: Path) -> Exception:
        return CycleBusy(f"another {holder(path)} holds {path} (waited {wait:g} s); this {job} is skipped")

    return file_lock(lock_path(cfg), job, wait, busy)


@contextmanager
def file_lock(path: Path, job: str, wait: float, busy: Callable[[Path], Exception]) -> Iterator[Path]:
    """Hold an exclusive lock on the file `path` for `job`, writing who holds it (see `holder`);
    when another process keeps it longer than `wait` seconds, raise `busy(path)`. The operating
    system drops the lock when the holder dies, however it dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        delay = 0.05
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise busy(path) from None
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, 1.0)
        info = {"pid": os.getpid(), "job": job, "since": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
