"""The Bluesky and Mastodon part of `edumon demo`: fake servers loaded with
`demo/sources/bluesky.json` and `demo/sources/mastodon.json`, the config
sections that point at them and the (fake) credentials in the environment.

    with social_demo(Path("demo/sources")) as sections:
        data["sources"].update(sections)      # "bluesky" and "mastodon" lists
        ... run a cycle ...
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fakes.bluesky import FakeBluesky
from fakes.mastodon import FakeMastodon

DEMO_HANDLE = "edumon-demo.bsky.social"
DEMO_APP_PASSWORD = "demo-app-password"  # the fake's, not a real secret
BSKY_ENV = "EDUMON_DEMO_BSKY_APP_PASSWORD"
MASTODON_ENV = "EDUMON_DEMO_MASTODON_TOKEN"


@contextlib.contextmanager
def social_demo(sources_dir: Path) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Start the fakes for whichever of the two sample files exist; yield config sections."""
    sections: dict[str, list[dict[str, Any]]] = {"bluesky": [], "mastodon": []}
    env: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        bsky_file = sources_dir / "bluesky.json"
        if bsky_file.exists():
            fake = stack.enter_context(FakeBluesky(accounts={DEMO_HANDLE: DEMO_APP_PASSWORD}))
            fake.load(bsky_file)
            sections["bluesky"].append(
                {"handle": DEMO_HANDLE, "app_password_env": BSKY_ENV, "base_url": fake.url, "timeout_s": 5.0}
            )
            env[BSKY_ENV] = DEMO_APP_PASSWORD
        masto_file = sources_dir / "mastodon.json"
        if masto_file.exists():
            for inst in json.loads(masto_file.read_text(encoding="utf-8"))["instances"]:
                token = inst.get("token")
                fake = stack.enter_context(FakeMastodon(inst["domain"], tokens={token} if token else set()))
                fake.load(inst["statuses"])
                section: dict[str, Any] = {
                    "api_base_url": fake.url,
                    "hashtags": inst.get("hashtags", []),
                    "timeout_s": 5.0,
                }
                if token:
                    section["access_token_env"] = MASTODON_ENV
                    env[MASTODON_ENV] = token
                sections["mastodon"].append(section)
        # sessions of the demo go to a throw-away directory, not to the user's secrets
        env.setdefault("EDUMON_SECRETS_DIR", stack.enter_context(tempfile.TemporaryDirectory(prefix="edumon-demo-")))
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield sections
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
