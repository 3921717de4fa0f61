"""Recorded Mastodon and Bluesky responses through the connectors' conversion (issue 16).

  Mastodon: every status object in Mastodon.py's test cassettes (real answers
            recorded from Mastodon servers; `tests/cassettes/*.yaml`).
  Bluesky:  every PostView in the snapshots of the atproto reference
            implementation's AppView tests (`packages/bsky/tests/**/__snapshots__`).

Each object goes through what the connector does with the bytes it fetched
(`to_mention`), and is compared with the object itself: the text's words, the
media (and their alt texts: the media-consent flag), the link card, the quoted
post, the identity and the web link.  Prints the counts; with --show N up to N
examples of each difference.  Not a test: it needs the two repositories checked
out (never committed here):

    git clone --depth 1 https://github.com/halcy/Mastodon.py /tmp/corpus/Mastodon.py
    git clone --depth 1 https://github.com/bluesky-social/atproto /tmp/corpus/atproto
    .venv/bin/python bench/corpus_social.py --mastodon /tmp/corpus/Mastodon.py --atproto /tmp/corpus/atproto
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml  # noqa: E402

from bench.machine import describe  # noqa: E402
from connectors.bluesky.helpers import INVALID_HANDLE, media_of  # noqa: E402
from connectors.bluesky.helpers import to_mention as bsky_mention  # noqa: E402
from connectors.mastodon.helpers import quoted_status  # noqa: E402
from connectors.mastodon.helpers import to_mention as masto_mention  # noqa: E402

WORD = re.compile(r"\w+")
TAG = re.compile(r"<[^>]*>")
BLOCK = re.compile(r"<(/p|br|/li|/h\d|/blockquote)\b[^>]*>", re.I)
NOW = datetime.now(timezone.utc)


def walk(value: Any) -> Iterator[dict[str, Any]]:
    """Every dict inside a JSON value, depth first."""
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


def words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(text)}


# --- Mastodon -----------------------------------------------------------------------------------------


def cassette_bodies(root: Path) -> Iterator[tuple[str, Any]]:
    for path in sorted((root / "tests" / "cassettes").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for i, interaction in enumerate(data.get("interactions") or []):
            body = ((interaction.get("response") or {}).get("body") or {}).get("string")
            if isinstance(body, bytes):
                body = body.decode("utf-8", "replace")
            try:
                yield f"{path.name}#{i}", json.loads(body) if body else None
            except (TypeError, ValueError):
                continue


def is_status(d: dict[str, Any]) -> bool:
    return isinstance(d.get("account"), dict) and "content" in d and "uri" in d and "created_at" in d


def check_mastodon(root: Path, counts: Counter, examples: dict[str, list[str]]) -> None:
    seen: set[str] = set()
    for where, body in cassette_bodies(root):
        for s in walk(body):
            if not is_status(s) or s.get("reblog"):
                continue
            key = json.dumps(s, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            counts["mastodon statuses"] += 1
            try:
                m = masto_mention(s, "corpus", NOW, None)
            except Exception as e:
                counts["mastodon raised"] += 1
                examples.setdefault("mastodon raised", []).append(f"{where}: {type(e).__name__}: {e}")
                continue
            want = words(html.unescape(TAG.sub("", BLOCK.sub(" ", s.get("content") or ""))))
            if want - words(m.text):
                counts["mastodon words missing"] += 1
                examples.setdefault("mastodon words missing", []).append(f"{where}: {sorted(want - words(m.text))[:5]}")
            if m.source_id != s["uri"]:
                counts["mastodon identity not the uri"] += 1
            attachments = s.get("media_attachments") or []
            counts["mastodon media attachments"] += len(attachments)
            counts["mastodon media kept"] += len(m.media)
            if bool(attachments) != m.has_media:
                counts["mastodon media flag wrong"] += 1
            alts = [a for a in attachments if a.get("description")]
            counts["mastodon alt texts"] += len(alts)
            counts["mastodon alt texts searched"] += sum(1 for e in m.elsewhere if e["where"] == "image_alt")
            card = s.get("card") or {}
            if card.get("url"):
                counts["mastodon link cards"] += 1
                counts["mastodon link card url in links"] += card["url"] in m.links
                counts["mastodon link card text searched"] += any(e["where"] == "link_card" for e in m.elsewhere)
            if quoted_status(s):
                counts["mastodon quotes"] += 1
                counts["mastodon quotes searched"] += any(e["where"] == "quoted_post" for e in m.elsewhere)
            if not m.text:
                counts["mastodon empty text"] += 1


# --- Bluesky ------------------------------------------------------------------------------------------------


SNAP = re.compile(r"^exports\[`(.*?)`\] = `\n(.*?)\n`;$", re.S | re.M)
TRAILING = re.compile(r",(\s*[}\]])")


def snapshots(root: Path) -> Iterator[tuple[str, Any]]:
    for path in sorted((root / "packages" / "bsky" / "tests").rglob("*.snap")):
        for name, body in SNAP.findall(path.read_text(encoding="utf-8")):
            text = body.replace("\\`", "`").replace("\\${", "${").replace("\\\\", "\\")
            text = re.sub(r"\b(Object|Array) ([{\[])", r"\2", text)
            try:
                yield f"{path.name}: {name}", json.loads(TRAILING.sub(r"\1", text))
            except ValueError:
                yield f"{path.name}: {name}", None  # not JSON (an error message, a string)


def is_post_view(d: dict[str, Any]) -> bool:
    record = d.get("record")
    return (
        isinstance(record, dict)
        and record.get("$type") == "app.bsky.feed.post"
        and isinstance(d.get("author"), dict)
        and isinstance(d.get("uri"), str)
    )


def view_media(embed: dict[str, Any]) -> int:
    kind = embed.get("$type", "")
    if kind.startswith("app.bsky.embed.recordWithMedia"):
        return view_media(embed.get("media") or {})
    if kind.startswith("app.bsky.embed.images"):
        return len(embed.get("images") or [])
    if kind.startswith("app.bsky.embed.gallery"):
        return len(embed.get("items") or [])
    return 1 if kind.startswith("app.bsky.embed.video") else 0


def check_bluesky(root: Path, counts: Counter, examples: dict[str, list[str]]) -> None:
    seen: set[str] = set()
    for where, body in snapshots(root):
        counts["bluesky snapshots read" if body is not None else "bluesky snapshots not JSON (skipped)"] += 1
        for post in walk(body):
            if not is_post_view(post):
                continue
            key = json.dumps(post, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            counts["bluesky post views"] += 1
            embed = post.get("embed") or {}
            counts[f"bluesky embed {embed.get('$type', 'none')}"] += 1
            try:
                m = bsky_mention(post, "corpus", NOW)
            except Exception as e:
                counts["bluesky raised"] += 1
                examples.setdefault("bluesky raised", []).append(f"{where}: {type(e).__name__}: {e}")
                continue
            if m.text != (post["record"].get("text") or ""):
                counts["bluesky text differs"] += 1
            media = view_media(embed)
            counts["bluesky media in views"] += media
            counts["bluesky media kept"] += len(m.media)
            if bool(media) != m.has_media:
                counts["bluesky media flag wrong"] += 1
                examples.setdefault("bluesky media flag wrong", []).append(f"{where}: {embed.get('$type')}")
            counts["bluesky alt texts"] += sum(1 for x in media_of(post) if x.get("alt"))
            counts["bluesky alt texts searched"] += sum(1 for e in m.elsewhere if e["where"] == "image_alt")
            counts["bluesky link cards searched"] += any(e["where"] == "link_card" for e in m.elsewhere)
            counts["bluesky quotes searched"] += any(e["where"] == "quoted_post" for e in m.elsewhere)
            if (post["author"].get("handle") in (None, INVALID_HANDLE)) or "/profile/None/" in (m.url or ""):
                counts["bluesky author without a valid handle"] += 1
                counts["bluesky ... linked by DID"] += (post["author"].get("did") or "") in (m.url or "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mastodon", type=Path, help="a checkout of github.com/halcy/Mastodon.py")
    ap.add_argument("--atproto", type=Path, help="a checkout of github.com/bluesky-social/atproto")
    ap.add_argument("--show", type=int, default=0)
    args = ap.parse_args()
    counts: Counter = Counter()
    examples: dict[str, list[str]] = {}
    if args.mastodon:
        check_mastodon(args.mastodon, counts, examples)
    if args.atproto:
        check_bluesky(args.atproto, counts, examples)
    print(describe())
    for key in sorted(counts):
        print(f"  {key:<60} {counts[key]:>6}")
    for key, lines in examples.items():
        for line in lines[: args.show]:
            print(f"  e.g. {key}: {line}")


if __name__ == "__main__":
    main()
