"""The labelled sets: `data/manifest.toml` lists each one's file, writer, round, purpose and size.

Purposes: `train` (what `edumon train` learns from), `dev` and `eval` (the first writer's held-out
splits), `sealed` (written before a round's change by writers who never saw the classifier; measured
once, never trained on) and `demo` (the demo's gold labels). The sets live in the repository's
`data/` folder, not in the wheel; only the trained heads ship.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .evaluate import read_jsonl

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
PURPOSES = ("train", "dev", "eval", "sealed", "demo")
# The first writer's school-context set, split three ways (`load_split`).
SCHOOL_SPLITS = {"train": "r1-w01-school-train", "dev": "r1-w01-school-dev", "test": "r1-w01-school-test"}


@dataclass(frozen=True)
class LabelledSet:
    """One labelled JSONL file of the manifest."""

    name: str
    path: Path
    purpose: str
    writer: str
    round: int
    rows: int
    weight: float = 1.0
    harm_only: bool = False  # teaches the harm head only (its sentiment labels are one-sided)

    def read(self) -> list[dict[str, Any]]:
        return read_jsonl(self.path)


def manifest(data_dir: Path = DATA_DIR) -> list[LabelledSet]:
    """Every set of `data_dir/manifest.toml`; a missing manifest is one clear error."""
    path = data_dir / "manifest.toml"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no labelled-data manifest here (give the repository's data/ folder)")
    entries = tomllib.loads(path.read_text(encoding="utf-8"))["set"]
    return [
        LabelledSet(
            name=e["name"],
            path=data_dir / e["file"],
            purpose=e["purpose"],
            writer=e["writer"],
            round=e["round"],
            rows=e["rows"],
            weight=e.get("weight", 1.0),
            harm_only=e.get("harm_only", False),
        )
        for e in entries
    ]


def labelled(name: str, data_dir: Path = DATA_DIR) -> LabelledSet:
    """The set with this manifest name."""
    for s in manifest(data_dir):
        if s.name == name:
            return s
    raise KeyError(f"no labelled set named {name!r} in {data_dir / 'manifest.toml'}")


def by_purpose(purpose: str, data_dir: Path = DATA_DIR) -> list[LabelledSet]:
    return [s for s in manifest(data_dir) if s.purpose == purpose]


def load_split(split: str) -> list[dict[str, Any]]:
    """A split of the first writer's school-context set: train, dev or test."""
    return labelled(SCHOOL_SPLITS[split]).read()
