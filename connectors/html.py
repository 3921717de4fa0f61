"""HTML to plain text, for Mastodon statuses and RSS summaries.

`html_to_text` keeps what a reader sees: link text stays, markup goes,
entities are resolved, `<br>` becomes a newline and paragraphs (and other
block elements) are separated by a blank line.  Whitespace inside a line is
collapsed the way a browser would.  Text that is not HTML passes through
with only its entities resolved and whitespace tidied.

`html_links` lists the `href`s of the links in a fragment, optionally leaving
out Mastodon's mention and hashtag links (they point at profiles and tag
pages, not at content).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = {
    "p",
    "div",
    "blockquote",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "table",
    "tr",
    "section",
    "article",
    "header",
    "footer",
    "figure",
    "figcaption",
    "dl",
    "dt",
    "dd",
    "hr",
}
_SKIP = {"script", "style", "template", "head", "title"}
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")

# Markers that survive whitespace collapsing; resolved at the end.
_NL = "\x00"  # a line break
_PARA = "\x01"  # a paragraph break


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.links: list[tuple[str, set[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self.parts.append(_NL)
        elif tag == "li":
            self.parts.append(_NL + "- ")
        elif tag in _BLOCK:
            self.parts.append(_PARA)
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(alt)
        if tag == "a":
            a = dict(attrs)
            if a.get("href"):
                classes = set((a.get("class") or "").split())
                if (a.get("rel") or "").split().count("tag"):
                    classes.add("hashtag")
                self.links.append((a["href"].strip(), classes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in _SKIP:
            self.skip -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.parts.append(_PARA)

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def _parse(html: str) -> _TextParser:
    p = _TextParser()
    p.feed(html)
    p.close()
    return p


def html_to_text(html: str | None) -> str:
    """Plain text of an HTML fragment (see the module docstring)."""
    if not html:
        return ""
    text = "".join(_parse(html).parts)
    text = _SPACES.sub(" ", text)

    # Resolve the break markers: a run containing a paragraph break is a blank line,
    # otherwise each line break counts.
    def breaks(m: re.Match[str]) -> str:
        run = m.group(0)
        if _PARA in run:
            return "\n\n" + "\n" * max(0, run.count(_NL) - 1)
        return "\n" * run.count(_NL)

    text = re.sub(r"[ \x00\x01]*[\x00\x01][ \x00\x01]*", breaks, text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return "\n".join(line.strip() for line in text.strip().split("\n"))


def html_links(html: str | None, *, skip_mentions_and_tags: bool = True) -> list[str]:
    """The link targets in an HTML fragment, in order, without duplicates."""
    if not html:
        return []
    out: list[str] = []
    for href, classes in _parse(html).links:
        if skip_mentions_and_tags and classes & {"mention", "hashtag", "u-url"}:
            continue
        if not href.startswith(("http://", "https://")):
            continue
        if href not in out:
            out.append(href)
    return out
