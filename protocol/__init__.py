"""Edu-Ley's social-media protocol at work: follow-ups, alerts, escalation,
evidence and flags.  `act` is the one call the cycle makes after storing."""

from .act import ActionsReport, act, summary

__all__ = ["ActionsReport", "act", "summary"]
