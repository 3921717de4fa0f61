"""`edumon demo`: one real monitoring cycle with no network and no credentials.

Sample Dutch sources from `demo/sources/` are served by local fake servers on
127.0.0.1, the embedded demo config points at them, and the cycle classifies
and stores into `demo/edumon.duckdb`.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.config import Config, parse_config
from digest import build_digest
from fakes.rss import serve_feeds
from fakes.server import FakeServer, Response
from fakes.social import social_demo

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCES = REPO / "demo" / "sources"

DEMO_CONFIG = """
[organisation]
name = "Edu-Ley (demo)"
timezone = "Europe/Amsterdam"

[warehouse]
path = "{db}"
lock_timeout_s = 10

[[schools]]
id = "ley-college"
name = "Ley College"
aliases = ["Ley College", "LeyCollege"]
exclude = ["ley lines"]
contacts = ["directie@leycollege.example.nl"]

[[schools]]
id = "regenboog-leiderdorp"
name = "Basisschool De Regenboog"
aliases = ["De Regenboog", "Basisschool De Regenboog", "Regenboogschool"]
context = ["Leiderdorp"]
contacts = ["directie@regenboog-leiderdorp.example.nl"]

[[schools]]
id = "rijnland-lyceum-ley"
name = "Rijnland Lyceum Ley"
aliases = ["Rijnland Lyceum Ley", "RLLey"]
contacts = ["schoolleiding@rijnlandlyceumley.example.nl"]

[[staff]]
name = "M. Jansen (docent)"
accounts = ["m.jansen"]
school = "ley-college"
"""

WEBHOOK_PATH = "/hooks/edumon"


@dataclass
class DemoSources:
    """The running fake servers and the config that points at them."""

    config: Config
    servers: list[FakeServer] = field(default_factory=list)

    def webhook_deliveries(self) -> list[dict]:
        """The alerts the demo's local webhook receiver got (parsed JSON bodies)."""
        import json

        return [json.loads(r.body) for r in self.servers[0].requests_to(WEBHOOK_PATH) if r.method == "POST"]


@contextlib.contextmanager
def demo_sources(db_path: Path, sources_dir: Path = DEFAULT_SOURCES) -> Iterator[DemoSources]:
    """Start the fake sources and yield a config for them; stops them afterwards."""
    rss = FakeServer().start()
    try:
        feeds = {f"/{p.name}": p.read_bytes() for p in sorted(sources_dir.glob("*.xml"))}
        serve_feeds(rss, feeds)
        rss.route(WEBHOOK_PATH, lambda req: Response(200, b"ok"))  # the demo's alert channel
        data = tomllib.loads(DEMO_CONFIG.format(db=str(db_path).replace("\\", "/")))
        data["sources"] = {"rss": [{"url": rss.url + path, "retries": 1, "timeout_s": 5} for path in feeds]}
        data["alerts"] = {"webhook_url": rss.url + WEBHOOK_PATH, "webhook_format": "json", "timeout_s": 5}
        with social_demo(sources_dir) as social:  # Bluesky and Mastodon fakes, with their fake credentials
            data["sources"].update(social)
            yield DemoSources(parse_config(data), [rss])
    finally:
        rss.stop()


def reset(db_path: Path) -> None:
    for p in (db_path, db_path.with_name(db_path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            os.remove(p)


def write_digests(cfg: Config, where: Path) -> list[Path]:
    """Write the digest of the last 24 hours as demo/digest.html and demo/digest.txt."""

    out = []
    for fmt, name in (("html", "digest.html"), ("text", "digest.txt")):
        path = where / name
        path.write_text(build_digest(cfg, None, fmt), encoding="utf-8")
        out.append(path)
    return out
