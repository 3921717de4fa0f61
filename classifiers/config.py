"""The `[classifier]` section of the config."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ClassifierConfig:
    backend: str = "default"
