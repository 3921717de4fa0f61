"""Local fake servers that speak the real Bluesky (XRPC) and Mastodon APIs.

They run on 127.0.0.1 in a background thread, keep a log of every request
and can be told to fail the next requests (401, 429, 5xx, malformed JSON,
a slow answer).  The tests drive the real client libraries against them;
`edumon demo` starts them loaded with `demo/sources/*.json`.
"""
from edumon.fakes.base import FakeServer, LoggedRequest
from edumon.fakes.bluesky import FakeBluesky
from edumon.fakes.mastodon import FakeMastodon

__all__ = ["FakeServer", "LoggedRequest", "FakeBluesky", "FakeMastodon"]
