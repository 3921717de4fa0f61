"""Local fake servers that speak the sources' real protocols, for tests and `edumon demo`.

`rss` / `server`: a news site with feeds.  `bluesky` / `mastodon`: XRPC and
Mastodon API servers (on `base.ProtocolFake`) with a request log and failure
injection (401, 429, 5xx, malformed JSON, a slow answer); the tests drive the
real client libraries against them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fakes.bluesky import FakeBluesky
from fakes.mastodon import FakeMastodon

if TYPE_CHECKING:
    from fakes.bluesky import FakeBluesky
    from fakes.mastodon import FakeMastodon

__all__ = ["FakeBluesky", "FakeMastodon"]


def __getattr__(name: str) -> Any:  # lazy, so `fakes.rss` does not import the social fakes
    if name == "FakeBluesky":
        return FakeBluesky
    if name == "FakeMastodon":
        return FakeMastodon
    raise AttributeError(name)
