"""Triage: what happens with one classified post. `alert` (the school leader is told at once; urgent for
a threat, normal for an insult or bullying), `review` (comms staff judge it first) or `none`.

One plain function, `triage`, decides from the labels' scores, the post's language and `[triage]`:
- the rules found a strong threat cue (rules 1.4: a conditional, veiled or announced statement with a target
  and an act, in Dutch, English or German) backed by P(threat) + P(insult) >= rules_strong_min: alert, urgent,
  in any language;
- the rules found a threat backed by P(threat) + P(insult) >= rules_alert_min: alert, urgent, in any language;
- a Dutch post the model reads as a threat (insult) with P >= alert_threat (alert_insult): alert;
- the rules found an insult: alert (a post not in Dutch: review);
- otherwise P(threat) >= review_threat or P(insult) >= review_insult: review;
- a post not in Dutch is never alerted on the Dutch model alone: at most review.
The thresholds were tuned by leave-one-writer-out cross-validation (docs/triage.md, docs/evaluation-round6.md).
The explanation is Dutch a comms officer reads: how sure, which words, why review rather than alert.
"""

from __future__ import annotations

from dataclasses import dataclass

from classifiers.base import Labels
from classifiers.rules import STRONG_NL
from core.config import TriageConfig
from core.vocabulary import HARM_NL

LANGUAGE_NL = {
    "en": "Engels",
    "de": "Duits",
    "fr": "Frans",
    "tr": "Turks",
    "ar": "Arabisch",
    "pl": "Pools",
    "es": "Spaans",
}


@dataclass(frozen=True)
class Triage:
    decision: str  # one of TRIAGES: none | review | alert
    urgency: str | None  # URGENCIES for alert and review (what an alert would be); None for none
    kind: str | None  # the harm the decision is about: threat | insult | None
    reason: str  # Dutch, for the alert, the digest and the review page


def strength(p: float) -> str:
    """How sure the model is, in words."""
    if p >= 0.8:
        return "sterk signaal"
    if p >= 0.5:
        return "duidelijk signaal"
    return "zwak signaal"


def trigger_words(labels: Labels) -> list[str]:
    """The words the rules found (model cues such as 'model:threat 0.08' are not words)."""
    return [c for c in labels.cues if not c.startswith("model:")]


def _words(labels: Labels) -> str:
    words = trigger_words(labels)
    return (" Woorden die dit aangaven: " + ", ".join(f'"{w}"' for w in words) + ".") if words else ""


def _model_says(kind: str, p: float) -> str:
    return f"{strength(p).capitalize()} van een {HARM_NL[kind]} (het model schat de kans op {p:.0%})"


def triage(labels: Labels, lang: str | None, cfg: TriageConfig) -> Triage:
    """The decision for one post; `lang` is an ISO 639-1 code, None when unknown (treated as Dutch)."""
    s = labels.scores
    if "harm.threat" not in s and "rules.threat" not in s:
        return _from_label(labels)  # labels without scores (set by hand, an old classifier): as before triage
    pt, pi = float(s.get("harm.threat", 0.0)), float(s.get("harm.insult", 0.0))
    strong = [STRONG_NL.get(k.split(".", 2)[2], "") for k, v in s.items() if k.startswith("rules.strong.") and v >= 1]
    strong = strong if cfg.rules_alert and cfg.rules_strong else []
    # a strong cue the model does not back (below rules_strong_min) is reviewed like any other rule hit
    rule_t = cfg.rules_alert and (float(s.get("rules.threat", 0.0)) >= 1.0 or bool(strong))
    rule_i = cfg.rules_alert and float(s.get("rules.insult", 0.0)) >= 1.0
    dutch = lang is None or lang in cfg.languages
    # a rule hit the model does not back at all ("de bom 💣" under a musical) is reviewed, not alerted
    backed = pt + pi >= cfg.rules_alert_min
    if strong and pt + pi >= cfg.rules_strong_min:
        why = ", ".join(dict.fromkeys(w for w in strong if w))
        return Triage("alert", "urgent", "threat", f"Sterk signaal van een bedreiging: {why}.{_words(labels)}")
    if rule_t and backed:
        return Triage("alert", "urgent", "threat", f"Sterk signaal van een bedreiging.{_words(labels)}")
    if dutch and pt >= cfg.alert_threat:
        return Triage("alert", "urgent", "threat", _model_says("threat", pt) + "." + _words(labels))
    if rule_i and dutch and backed:
        return Triage("alert", "normal", "insult", f"Sterk signaal van een belediging.{_words(labels)}")
    if dutch and pi >= cfg.alert_insult:
        return Triage("alert", "normal", "insult", _model_says("insult", pi) + "." + _words(labels))
    kind = "threat" if pt >= cfg.review_threat or rule_t else "insult" if (pi >= cfg.review_insult or rule_i) else None
    if kind is None:
        return Triage("none", None, None, "Geen signaal van een bedreiging of belediging.")
    p = pt if kind == "threat" else pi
    if (rule_t or rule_i) and not backed:
        why = (
            "De woorden lijken op een bedreiging of belediging, maar het model leest de zin als onschuldig "
            "(bijvoorbeeld een uitdrukking); daarom eerst beoordelen."
        )
        return Triage("review", _urgency(kind), kind, f"Tegenstrijdig signaal.{_words(labels)} {why}")
    if not dutch:
        taal = LANGUAGE_NL.get(lang or "", f"taal '{lang}'")
        why = f"Het bericht is in het {taal}; het Nederlandse model alleen is niet genoeg voor een melding."
    else:
        why = "Het signaal is te zwak voor een directe melding; eerst beoordelen voorkomt een vals alarm."
    return Triage("review", _urgency(kind), kind, f"{_model_says(kind, p)}.{_words(labels)} {why}")


def _urgency(kind: str) -> str:
    return "urgent" if kind == "threat" else "normal"


def _from_label(labels: Labels) -> Triage:
    if labels.harm in ("threat", "insult"):
        urgency = "urgent" if labels.harm == "threat" else "normal"
        return Triage("alert", urgency, labels.harm, f"Gelabeld als {HARM_NL[labels.harm]}.{_words(labels)}")
    return Triage("none", None, None, "Geen signaal van een bedreiging of belediging.")
