"""Edu-Ley's social-media protocol at work: follow-ups, alerts, escalation,
evidence and flags.  `decide_actions` (writes what the protocol
requires) and `deliver_alerts` (sends it) are the two steps the cycle takes after
storing; `act` runs both."""

from .act import ActionsReport, act, decide_actions, deliver_alerts, summary

__all__ = ["ActionsReport", "act", "decide_actions", "deliver_alerts", "summary"]
