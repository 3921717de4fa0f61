"""Named points in the write path that tests can hook into.

The product calls `checkpoint(name)` at a few points of a cycle (`before-store`,
`mid-store` inside the write transaction, `after-replay` between a spool file's
write and its removal) and does nothing there unless a hook is installed.  The
fault tests install one (`tests/crashpoints.py`) that kills the process at a
named point, to show that a crash there loses nothing and duplicates nothing.
The product itself never installs a hook and reads no test setting.
"""

from __future__ import annotations

from collections.abc import Callable

Hook = Callable[[str], None]

_hooks: list[Hook] = []


def install(hook: Hook) -> Callable[[], None]:
    """Call `hook(name)` at every checkpoint from now on; returns a function that removes it."""
    _hooks.append(hook)
    return lambda: _hooks.remove(hook) if hook in _hooks else None


def checkpoint(name: str) -> None:
    """A named point of the write path: runs the installed hooks (none in production)."""
    for hook in list(_hooks):
        hook(name)
