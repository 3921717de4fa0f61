"""A test hook that kills the process at a named checkpoint of the write path (`pipeline.hooks`).

The fault tests start `edumon run` in a subprocess through `command(point)`, which installs
the hook before the CLI runs; the product never reads a test setting.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from pipeline import hooks

TESTS = Path(__file__).resolve().parent


def crash_at(point: str) -> None:
    """SIGKILL this process when the cycle reaches `point`."""

    def kill(name: str) -> None:
        if name == point:
            os.kill(os.getpid(), signal.SIGKILL)

    hooks.install(kill)


def command(point: str | None, *args: str) -> list[str]:
    """A Python command line that runs `edumon ARGS`, killed at `point` when given."""
    code = "from edumon.cli import main; main()"
    if point:
        code = f"import sys; sys.path.insert(0, {str(TESTS)!r}); import crashpoints; crashpoints.crash_at({point!r}); {code}"
    return [sys.executable, "-c", code, *args]
