"""People's label corrections and dismissals, kept as training examples (`label_feedback`)."""
from __future__ import annotations

from .labels import (DISMISS_REASONS, HARM_NL, SENTIMENT_NL, FeedbackError, LabelChange, correct_labels, dismiss,
                     dismissal_labels, feedback_examples, list_feedback, plan_correction)

__all__ = ["DISMISS_REASONS", "HARM_NL", "SENTIMENT_NL", "FeedbackError", "LabelChange", "correct_labels", "dismiss",
           "dismissal_labels", "feedback_examples", "list_feedback", "plan_correction"]
