"""Relevance: only mentions really about a school are kept, with every school they match."""

from __future__ import annotations

import pytest

from core.config import School
from pipeline.relevance import match_schools, matches_school

LEY = School(id="ley", name="Ley College", aliases=["Ley College", "LeyCollege"], exclude=["ley lines"])
LEY_SHORT = School(id="ley-short", name="Ley", aliases=["Ley", "Ley College"], exclude=["ley lines"])
REGENBOOG = School(id="regenboog", name="De Regenboog", aliases=["De Regenboog"], context=["Leiderdorp"])


@pytest.mark.parametrize(
    "text",
    [
        "Geweldig debat op het Ley College vandaag",
        "ley college heeft een nieuwe directeur",
        "Trots op #LeyCollege!",
        "trots op #leycollege",
        "Het Ley\nCollege opent de deuren",
        "Open dag bij LeyCollege.",
        "(Ley College) wint prijs",
    ],
)
def test_alias_matches_case_insensitively_on_word_bounds_and_as_hashtag(text: str) -> None:
    assert matches_school(text, LEY)


@pytest.mark.parametrize(
    "text",
    [
        "Ley Colleges in Engeland",  # not on a word bound
        "Het Valley College in Utrecht",  # inside a longer word
        "@leycollege_fan zegt hoi",  # a handle, not the school
        "",
    ],
)
def test_alias_does_not_match_inside_words(text: str) -> None:
    assert not matches_school(text, LEY)


def test_exclusion_disables_only_the_alias_inside_it() -> None:
    assert not matches_school("Een lezing over ley lines in het landschap", LEY_SHORT)
    # the same text matches through another alias
    assert matches_school("Lezing over ley lines op het Ley College", LEY_SHORT)


def test_context_words_are_required_for_common_names() -> None:
    assert not matches_school("Basisschool De Regenboog in Zwolle krijgt nieuw plein", REGENBOOG)
    assert matches_school("Ouders boos bij De Regenboog in Leiderdorp", REGENBOOG)
    assert matches_school("De Regenboog #leiderdorp", REGENBOOG)


def test_a_text_carries_every_school_it_matches() -> None:
    text = "Leerlingen van het Ley College en De Regenboog (Leiderdorp) planten samen bomen"
    assert match_schools(text, [LEY, REGENBOOG]) == ["ley", "regenboog"]
    assert match_schools("Nieuws over een andere school", [LEY, REGENBOOG]) == []
