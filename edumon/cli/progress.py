"""A progress display for the long commands (classify of a file, train, export, purge, the
deletion check), drawn with rich on stderr, and only when stderr is a terminal: piped or
captured output (cron, CI, the CLI runner in the tests) gets none of it, so what a command
prints stays exactly the same.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress


def shown(stream: IO[str] | None = None) -> bool:
    """Whether a progress display goes to `stream` (default stderr): only to a terminal."""
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class Progress:
    """`with Progress("Classifying", total=n) as p: ... p.advance(k)`: a bar with a count (or a
    spinner when `total` is None) and the elapsed time; does nothing off a terminal.

    Lines the command prints meanwhile (click.echo to stdout) appear above the display.
    """

    def __init__(self, description: str, total: int | None = None, stream: IO[str] | None = None) -> None:
        self.description = description
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self._progress: RichProgress | None = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if not shown(self.stream):
            return self
        columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
        if self.total is not None:
            columns += [BarColumn(), MofNCompleteColumn()]
        columns.append(TimeElapsedColumn())
        self._progress = RichProgress(*columns, console=Console(file=self.stream), transient=True)
        self._progress.start()
        self._task = self._progress.add_task(self.description, total=self.total)
        return self

    def advance(self, n: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def describe(self, description: str) -> None:
        """Change the text beside the spinner (e.g. the step a long command is at)."""
        if self._progress is not None:
            self._progress.update(self._task, description=description)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
