"""data/manifest.toml is the one list of labelled sets: every file is in it, its figures are true, and
nothing sealed is ever trained on."""

from __future__ import annotations

from classifiers.datasets import DATA_DIR, PURPOSES, manifest
from classifiers.train import EXTRA_TRAIN, WRITERS


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def test_every_labelled_file_is_in_the_manifest_with_its_true_size_and_purpose() -> None:
    sets = manifest()
    assert len({s.name for s in sets}) == len(sets), "manifest names are unique"
    on_disk = {p.relative_to(DATA_DIR).as_posix() for p in (DATA_DIR / "labelled").rglob("*.jsonl")}
    assert on_disk == {s.path.relative_to(DATA_DIR).as_posix() for s in sets}
    for s in sets:
        assert s.purpose in PURPOSES and s.path.parent.name == s.purpose, s.name
        rows = s.read()
        assert len(rows) == s.rows, s.name
        assert all({"text", "harm", "sentiment"} <= set(r) for r in rows), s.name


def test_training_reads_exactly_the_train_sets_and_no_sealed_post() -> None:
    sets = manifest()
    train = {s.name for s in sets if s.purpose == "train"}
    assert set(EXTRA_TRAIN) < train and len(train - set(EXTRA_TRAIN)) == 1  # + the first writer's train split
    assert set(EXTRA_TRAIN) <= set(WRITERS)
    trained = {_key(r["text"]) for s in sets if s.purpose == "train" for r in s.read()}
    for s in sets:
        if s.purpose in ("sealed", "demo", "eval", "dev"):
            assert not {_key(r["text"]) for r in s.read()} & trained, s.name


def test_the_wheel_ships_no_labelled_data() -> None:
    import tomllib

    pyproject = tomllib.loads((DATA_DIR.parent / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = [p for ps in pyproject["tool"]["setuptools"]["package-data"].values() for p in ps]
    assert "*.jsonl" not in patterns
    assert not list((DATA_DIR.parent / "classifiers").rglob("*.jsonl"))
