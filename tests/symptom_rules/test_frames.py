"""Person-and-now frames for bare mentions, and ConText cues scoped to their own finding."""

from __future__ import annotations

import pytest

from symptom_rules.errors import RuleFileError
from symptom_rules.extraction.frames import load_frames


@pytest.mark.parametrize(
    "text",
    [
        "is Dr Stroke available on Monday?",
        "I'd like to book at the Heart and Stroke clinic",
        "can I cancel my seizure clinic follow-up",
        "got a seizure-proof phone case for my son",
        "my sieizure meds need repeating",
        "booking for the sepsis awareness talk",
        "I nearly had a heart attack when I saw the bill lol",
        "the printer at reception was choking on paper again",
        "i ingested a small amount of wine while on antibiotics, is that ok",
        "can you get sepsis from a cat scratch?",
        "whats the difference between a panic attack and a heart attack?",
        "what do you do if someone is choking?",
        "my daughter's in a play called 'The Overdose'",
        "had a collapsed lung 4 yrs ago, can i go diving?",
    ],
)
def test_a_mention_without_a_person_now_does_not_fire(engine, text):
    assert not engine.screen(text).is_emergency, engine.screen(text).rule_ids


@pytest.mark.parametrize(
    "text",
    [
        "my dad is having a stroke",
        "I think she's having a seizure right now",
        "he collapsed in the kitchen",
        "my son is choking on a grape",
        "heart attack i think, pain in my chest",
        "what do i do my husband is having a stroke",
        "is this a stroke? her face is drooping",
        "took an overdose tonight",
    ],
)
def test_a_person_having_it_now_still_fires(engine, text):
    assert engine.screen(text).is_emergency, text


@pytest.mark.parametrize(
    "text",
    [
        "seizure free for 3 years, can you help with my driving licence form",
        "heart attacks run in my family, should I get a check?",
        "had a fit as a child, do I need to declare it?",
        "had meningitis as a baby, now im 23 and want a hearing test",
        "my son had anaphylaxis at age 4, nursery need a form",
        "3 years ago I took an overdose, I'm doing well now",
        "had sepsis last winter, fully recovered now",
        "he hasnt had a seizure for ages but we need his midazolam in date",
        "mums face isnt drooping and her speech is normal",
        "cant breath thru my nose cos of hayfever",
        "my cousin is anaphylactic to wasps, could i be too?",
        "my chest is killing me from laughing at the panto",
    ],
)
def test_history_family_negation_and_figures_of_speech_stay_with_their_finding(engine, text):
    assert not engine.screen(text).is_emergency, engine.screen(text).rule_ids


@pytest.mark.parametrize(
    "text",
    [
        "3 day history of chest pain and sweating, worse today",
        "3-day history of chest pain and sweating",
        "history of asthma, presents with crushing chest pain and sweating",
        "had a stroke in 2019 and now my face is drooping again",
    ],
)
def test_a_history_cue_does_not_reach_the_present_illness(engine, text):
    assert engine.screen(text).is_emergency, text


def test_a_typo_in_the_frames_file_names_the_file_and_line(engine, tmp_path):
    path = tmp_path / "frames.yaml"
    path.write_text(
        "mentions: [stroke_mentoin]\ntitles: [dr]\nservices: [clinic]\nlaughter: [lol]\n"
        "near_miss: [nearly]\nobjects: [printer]\nharmless_swallows: [wine]\n"
        "question_openers: [what]\nnow: [my]\n"
    )
    with pytest.raises(RuleFileError, match="stroke_mentoin"):
        load_frames(path, engine.rules.vocabulary)
    path.write_text("mentions: [stroke_mention]\n")
    with pytest.raises(RuleFileError, match="frames"):
        load_frames(path, engine.rules.vocabulary)


@pytest.mark.parametrize(
    ("text", "age", "fever"),
    [
        ("afebrile, taking paracetamol for fever, neck stiff", None, False),
        ("temp 36.8, took calpol for a fever yesterday, mild headache", None, False),
        ("giving calpol for his fever, temp 38.5", None, True),  # the reading is a fever
        ("had paracetamol for fever earlier, temp now 37.1", 0.1, True),  # under 3 months
        ("taking paracetamol for fever", None, True),  # nothing measured
    ],
)
def test_a_measured_temperature_beats_a_fever_named_as_a_medicine_reason(engine, text, age, fever):
    result = engine.triage(text, age_years=age, ask=False)
    assert ("fever" in result.present) is fever
