"""Source connectors.  Each module exposes `targets(cfg)` and `fetch(target, state, secrets)`;
see `connectors.base` for the contract."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from .base import Existence, FetchResult, Target

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Config
    from core.mention import Mention
    from core.secrets import Secrets

# source name -> module path; a connector whose module is not there yet is skipped.
REGISTRY = {"rss": "connectors.rss", "bluesky": "connectors.bluesky", "mastodon": "connectors.mastodon"}


def connector(source: str) -> ModuleType:
    return importlib.import_module(REGISTRY[source])


def all_targets(cfg) -> list[Target]:  # type: ignore[no-untyped-def]
    """Every target of every configured source."""
    out: list[Target] = []
    for source in REGISTRY:
        if getattr(cfg.sources, source):
            out.extend(connector(source).targets(cfg))
    return out


def checkable_sources(cfg: Config) -> list[str]:
    """Configured sources whose connector can tell whether a stored post is still there."""
    return [s for s in REGISTRY if getattr(cfg.sources, s) and hasattr(connector(s), "exists")]


def exists(cfg: Config, mentions: Sequence[Mention], secrets: Secrets) -> Existence:
    """Ask each post's source whether it is still there (`connectors.base.Existence`);
    posts of a source that cannot be asked are left out (not asked)."""
    out = Existence()
    groups: dict[str, list[Mention]] = {}
    for m in mentions:
        groups.setdefault(m.source, []).append(m)
    for source, ms in groups.items():
        module = connector(source) if source in REGISTRY else None
        if module is None or not hasattr(module, "exists"):
            continue
        out.merge(module.exists(cfg, ms, secrets))
    return out


__all__ = ["Existence", "FetchResult", "Target", "all_targets", "checkable_sources", "connector", "exists", "REGISTRY"]
