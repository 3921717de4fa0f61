"""Source connectors.  Each module exposes `targets(cfg)` and `fetch(target, state, secrets)`;
see `connectors.base` for the contract."""
from __future__ import annotations

import importlib
from types import ModuleType

from .base import FetchResult, Target

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


__all__ = ["FetchResult", "Target", "all_targets", "connector", "REGISTRY"]
