"""The words edumon uses everywhere, defined once: labels, statuses, sources, roles,
and the Dutch a user reads for each.

Every other module imports these; none defines its own copy. Orders are meaningful:
labels go from mild to severe, so a list shown worst-first is `reversed(...)`.
"""

from __future__ import annotations

# -- sources ------------------------------------------------------------------
SOURCES = ("rss", "bluesky", "mastodon")
SOCIAL_SOURCES = ("bluesky", "mastodon")  # posts that can be deleted at the source
SOURCE_NL = {"rss": "nieuws (RSS)", "bluesky": "Bluesky", "mastodon": "Mastodon"}

# How one fetch of one source target ended (`source_runs.status`).
# partial: the answer was broken (a malformed feed) but some items were read and kept.
SOURCE_RUN_STATUSES = ("ok", "partial", "not_modified", "failed", "rate_limited")

# Where in a post, besides its own text, relevance may find a school (`Mention.elsewhere`),
# and the Dutch label the stored text shows when the match was found there.
TEXT_PLACES = ("content", "image_alt", "link_card", "quoted_post")
TEXT_PLACE_NL = {
    "content": "volledige artikeltekst",
    "image_alt": "alt-tekst van een afbeelding",
    "link_card": "linkvoorbeeld",
    "quoted_post": "geciteerd bericht",
}

# -- classifier labels (mild to severe) --------------------------------------
SENTIMENTS = ("positive", "neutral", "negative")
HARMS = ("none", "insult", "threat")
HARM_KINDS = ("pesten", "kwetsen", "stalken", "bedreigen", "zwartmaken", "discriminatie")
SENTIMENT_NL = {"positive": "positief", "neutral": "neutraal", "negative": "negatief"}
HARM_NL = {"none": "geen", "insult": "belediging", "threat": "bedreiging"}

# -- follow-ups (the protocol's work items) -----------------------------------
FOLLOWUP_ACTIONS = ("in_real_life", "report_police", "correct_online")
FOLLOWUP_STATUSES = ("open", "done", "dismissed")
STATUS_NL = {"open": "open", "done": "afgehandeld", "dismissed": "vervallen"}

# -- the review page's accounts -----------------------------------------------
ROLES = ("comms", "leader", "analyst")
ROLE_NL = {"comms": "communicatie", "leader": "schoolleider", "analyst": "analist"}

# -- triage: what happens with a classified post (mild to severe) -----------
TRIAGES = ("none", "review", "alert")
TRIAGE_NL = {"none": "geen actie", "review": "te beoordelen", "alert": "melding aan de schoolleiding"}
URGENCIES = ("normal", "urgent")
URGENCY_NL = {"normal": "normaal", "urgent": "dringend"}
