"""A small Dutch lexicon classifier: the foundation's placeholder backend."""
from __future__ import annotations

import re
from typing import Sequence

from .base import Labels

_THREAT = [r"\b(ik|we|wij)\s+(ga|gaan|zal|zullen)\s+(je|jou|hem|haar|jullie|die)\s+\w*\s*(vermoorden|doodmaken|afmaken|slaan|neersteken|opwachten)",
           r"\bbom\b", r"\bschietpartij\b", r"\b(steek|schiet|brand)\s+(ik|we)\b", r"\bin de fik\b", r"\bdood\s*maken\b",
           r"\bweet waar (je|jij|hij|zij) woont\b"]
_INSULT = [r"\bkanker\w*\b", r"\bhoer\b", r"\blul\b", r"\bsukkel\b", r"\bidioot\b", r"\bkut\w*\b", r"\bloser\b",
           r"\bdebiel\w*\b", r"\bmongool\b", r"\bteringlijer\b"]
_NEG = [r"\bslecht\w*\b", r"\bschande\w*\b", r"\bboos\b", r"\bklacht\w*\b", r"\bonveilig\w*\b", r"\bchaos\b",
        r"\bonacceptabel\b", r"\bteleurgesteld\b", r"\bpesten\b", r"\bgepest\b", r"\bbelachelijk\b", r"\bwaardeloos\b"]
_POS = [r"\bgeweldig\w*\b", r"\btrots\b", r"\bmooi\w*\b", r"\bgefeliciteerd\b", r"\bfantastisch\w*\b", r"\bgoed\w*\b",
        r"\bwinnaar\w*\b", r"\bfeest\w*\b", r"\bbedankt\b", r"\btop\b"]


def _hits(patterns: list[str], text: str) -> list[str]:
    return [m.group(0) for p in patterns for m in [re.search(p, text, re.I)] if m]


class LexiconClassifier:
    name = "lexicon"
    version = "0.1"

    def classify(self, texts: Sequence[str]) -> list[Labels]:
        out = []
        for t in texts:
            threat, insult = _hits(_THREAT, t), _hits(_INSULT, t)
            neg, pos = _hits(_NEG, t), _hits(_POS, t)
            harm = "threat" if threat else "insult" if insult else "none"
            kind = "bedreigen" if threat else "kwetsen" if insult else None
            sentiment = "negative" if (threat or insult or len(neg) > len(pos)) else "positive" if pos else "neutral"
            out.append(Labels(sentiment, harm, kind, {}, tuple(threat or insult), f"{self.name}/{self.version}"))
        return out
