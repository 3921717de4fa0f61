"""The machine a benchmark ran on, printed with its figures."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path


def describe() -> str:
    """One line: cores, CPU model, memory, Python and DuckDB versions."""
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "?"
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    try:
        import duckdb

        ddb = duckdb.__version__
    except ImportError:  # pragma: no cover
        ddb = "?"
    return (
        f"machine: nproc={os.cpu_count()} cpu={cpu!r} mem={mem} python={sys.version.split()[0]} "
        f"duckdb={ddb} os={platform.system()} {platform.release()}"
    )
