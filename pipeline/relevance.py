"""Relevance: is a text really about one of our schools?

Rules (one function each, all plain):
- an alias matches case-insensitively on word bounds, with any run of white
  space between its words, and as a #hashtag with the spaces removed
  ("Ley College" also matches "#LeyCollege");
- `exclude` phrases: when a text contains one, the aliases that occur inside
  that phrase do not count for this text (the school can still match through
  another alias);
- `context` words: when a school has them, its aliases count only if one of
  them is in the same text (for names that many towns share).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

from core.config import School
from core.mention import Mention
from core.vocabulary import TEXT_PLACE_NL


@lru_cache(maxsize=4096)
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A phrase on word bounds, case-insensitive, any white space between its words."""
    words = [re.escape(w) for w in phrase.split()]
    return re.compile(r"(?<![\w#@])" + r"[\s\u00a0]+".join(words) + r"(?!\w)", re.IGNORECASE)


@lru_cache(maxsize=4096)
def hashtag_pattern(phrase: str) -> re.Pattern[str]:
    """The phrase as a hashtag, spaces and hyphens removed: "Ley College" -> #leycollege."""
    compact = re.sub(r"[\s\-]+", "", phrase)
    return re.compile(r"#" + re.escape(compact) + r"(?!\w)", re.IGNORECASE)


def contains_phrase(text: str, phrase: str) -> bool:
    return bool(phrase_pattern(phrase).search(text) or hashtag_pattern(phrase).search(text))


def active_aliases(text: str, school: School) -> list[str]:
    """The school's aliases that still count for this text after its exclusions."""
    excluded_here = [e for e in school.exclude if phrase_pattern(e).search(text)]
    return [a for a in school.aliases if not any(phrase_pattern(a).search(e) for e in excluded_here)]


def in_context(text: str, school: School) -> bool:
    """True when the school needs no context, or one of its context words is in the text."""
    return not school.context or any(contains_phrase(text, c) for c in school.context)


def matches_school(text: str, school: School) -> bool:
    """Is this text about this school?"""
    if not text or not in_context(text, school):
        return False
    return any(contains_phrase(text, a) for a in active_aliases(text, school))


_FORMAT = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def matchable(text: str) -> str:
    """The text as relevance sees it: compatibility forms folded (full-width and
    mathematical letters become plain ones) and invisible format characters
    (zero-width spaces and joiners, soft hyphens, direction marks) removed, so
    "Ley\u200b College" or "Ｌｅｙ Ｃｏｌｌｅｇｅ" still names the school.  The
    stored text is never changed."""
    if text.isascii():
        return text
    return _FORMAT.sub("", unicodedata.normalize("NFKC", text))


def match_schools(text: str, schools: Sequence[School]) -> list[str]:
    """The ids of every school the text is about, in config order."""
    text = matchable(text)
    return [s.id for s in schools if matches_school(text, s)]


def relevant(texts: Iterable[str], schools: Sequence[School]) -> list[list[str]]:
    return [match_schools(t, schools) for t in texts]


SNIPPET = 240  # characters shown either side of a match found outside the post's own text


def _snippet(text: str, school_ids: list[str], schools: Sequence[School]) -> str:
    """The part of `text` around the first alias of a matched school (all of it when short)."""
    if len(text) <= 2 * SNIPPET:
        return text
    at = 0
    for s in schools:
        if s.id in school_ids:
            hits = [
                m.start() for a in s.aliases if (m := phrase_pattern(a).search(text) or hashtag_pattern(a).search(text))
            ]
            if hits:
                at = min(hits)
                break
    start, end = max(0, at - SNIPPET), min(len(text), at + SNIPPET)
    return ("…" if start else "") + text[start:end].strip() + ("…" if end < len(text) else "")


def match_mention(m: Mention, schools: Sequence[School]) -> list[str]:
    """The ids of the schools a mention is about: its own text (with its title) first,
    then the places outside it (`m.elsewhere`: alt text, link card, quoted post, full
    article).  When a school is found only there, the stored text keeps the post and
    gains one line naming the place (in Dutch) with the text found there."""
    own = m.text if not m.title or m.title in m.text else f"{m.title}\n{m.text}"
    found = match_schools(own, schools)
    for extra in m.elsewhere or []:
        text = extra.get("text") or ""
        more = [s for s in match_schools(text, schools) if s not in found]
        if not more:
            continue
        place = TEXT_PLACE_NL.get(extra.get("where", ""), extra.get("where", ""))
        m.text = f"{m.text}\n\n[gevonden in {place}] {_snippet(text, more, schools)}".strip()
        found = [s.id for s in schools if s.id in found or s.id in more]  # config order
    return found
