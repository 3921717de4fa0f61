"""The language of a post: the source's own tag where it has one (Bluesky `langs`, Mastodon `language`),
else a detector (lingua, offline) for RSS items and CLI input.

Only a confident call counts: a post is "not Dutch" when the detector's best language is not Dutch, it is
at least MIN_CONFIDENCE sure, and the text has at least MIN_WORDS words. A short or mixed post stays Dutch
(None -> the default), so a school name with an emoji never leaves the Dutch route.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# the languages the detector chooses between: Dutch, and what Dutch school streams also carry
LANGUAGES = ("nl", "en", "de", "fr", "tr", "ar", "pl", "es")
MIN_CONFIDENCE = 0.5
MIN_WORDS = 3
_WORD = re.compile(r"[^\W\d_]{2,}")


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, c.upper()) for c in LANGUAGES]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()


def detect(text: str) -> str | None:
    """ISO 639-1 code of the text's language when the detector is sure, else None."""
    if len(_WORD.findall(text)) < MIN_WORDS:
        return None
    values = _detector().compute_language_confidence_values(text[:2000])
    if not values or values[0].value < MIN_CONFIDENCE:
        return None
    return values[0].language.iso_code_639_1.name.lower()


def post_language(tagged: str | None, text: str) -> str | None:
    """The source's tag ("nl-NL" -> "nl") when it gave one, else the detector's confident call."""
    if tagged and tagged.strip():
        return tagged.strip().lower().replace("_", "-").split("-")[0]
    return detect(text)
