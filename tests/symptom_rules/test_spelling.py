"""Spelling tolerance for red-flag words: what must be corrected, and what must be left alone."""

from __future__ import annotations

import pytest

from symptom_rules.extraction.spelling import AlarmSpelling

MISSPELT = {
    "cheast": "chest",
    "sweting": "sweating",
    "colapsed": "collapsed",
    "unconsious": "unconscious",
    "sieizure": "seizure",
    "anafalactic": "anaphylactic",
    "bleding": "bleeding",
    "drowsey": "drowsy",
}
REAL_WORDS = ["heat", "chess", "cheat", "strike", "brake", "pane", "paint", "blew", "stoke", "fits"]


def _norm(engine, text: str) -> str:
    return " ".join(token.norm_ for token in engine.extractor.nlp.tokenizer(text))


@pytest.mark.parametrize(("wrong", "right"), sorted(MISSPELT.items()))
def test_a_misspelt_red_flag_word_is_read_as_the_word(engine, wrong, right):
    assert _norm(engine, wrong) == right


@pytest.mark.parametrize("word", REAL_WORDS)
def test_a_real_english_word_is_never_bent_into_a_red_flag_word(engine, word):
    assert _norm(engine, word) == word


@pytest.mark.parametrize(
    ("text", "norms"),
    [
        ("cant breath", "can not breathe"),
        ("hart attack", "heart attack"),
        ("stroak", "stroke"),
        ("short of breath", "short of breathe"),  # the table maps both sides alike
    ],
)
def test_the_reviewed_table_wins_over_the_fuzzy_match(engine, text, norms):
    assert _norm(engine, text) == norms


def test_short_words_and_numbers_are_left_alone():
    spelling = AlarmSpelling(["chest", "pain"], word_count=lambda word: 0)
    assert spelling.correct("pin") is None  # three letters: only the reviewed table
    assert spelling.correct("ches7") is None
    assert spelling.correct("chset") == "chest"  # a swap is one edit


def test_a_tie_goes_to_the_shared_first_letter_then_the_commoner_word():
    counts = {"breath": 5000, "breathe": 900}
    spelling = AlarmSpelling(["breath", "breathe", "wreath"], word_count=lambda w: counts.get(w, 0))
    assert spelling.correct("breah") == "breath"


@pytest.mark.parametrize(
    "text",
    [
        "cheast pain and sweting",
        "cant breeth",
        "my nan is having a stroak",
        "hart attack i think",
        "my chest is killin me and im sweating",
    ],
)
def test_misspelt_emergencies_reach_the_screen(engine, text):
    assert engine.screen(text).is_emergency, text


def test_a_rare_medical_word_is_not_bent_into_a_different_sounding_one(engine):
    assert _norm(engine, "haemostasis") == "haemostasis"  # not "haemoptysis"
