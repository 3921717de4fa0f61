"""Another process holding the warehouse's DuckDB lock, as an analyst's session or a cycle would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Config
    from pipeline import CycleReport

HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])           # read-write: locks the file for every other process
con.execute("SELECT 1").fetchall()
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
print("released", flush=True)
"""


def hold_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    """Start a process that opens the database read-write and keeps it `seconds` seconds
    (it prints "released" when it lets go); returns once the lock is held."""
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "locked"
    return p


def cycle_while_locked(cfg: Config) -> CycleReport:
    """Run one cycle while another process holds the warehouse's lock (so the cycle spools)."""
    import pipeline
    from warehouse import Warehouse

    path = Path(cfg.warehouse.path)
    Warehouse(path).migrate()
    lock = hold_lock(path, 30)
    try:
        return pipeline.run_cycle(cfg)
    finally:
        lock.kill()
        lock.wait()
