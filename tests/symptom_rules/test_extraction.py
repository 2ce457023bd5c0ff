"""Extraction reads findings in context: denied, past, hypothetical, about someone else."""

from __future__ import annotations

import pytest

from symptom_rules.extraction import numbers
from symptom_rules.extraction.pipeline import read_facts


def states(engine, text):
    return engine.extractor.extract(text).states()


@pytest.mark.parametrize(
    "text",
    ["no fever", "denies chest pain", "without vomiting", "I don't have a fever", "not vomiting"],
)
def test_denied_findings_are_absent(engine, text):
    assert set(states(engine, text).values()) == {False}


def test_negation_stops_at_but(engine):
    assert states(engine, "no fever, no vomiting but my head is killing me") == {
        "fever": False,
        "vomiting": False,
        "headache": True,
    }


def test_a_past_event_with_a_year_is_history_not_now(engine):
    extraction = engine.extractor.extract("had a stroke in 2019")
    assert [f.status for f in extraction.findings] == ["historical"]
    assert extraction.states() == {}


def test_history_does_not_hide_what_is_happening_now(engine):
    assert states(engine, "had a stroke years ago. now my face is drooping")["face_droop"] is True


def test_someone_else_is_still_triaged(engine):
    extraction = engine.extractor.extract("my husband has chest pain")
    assert extraction.states() == {"chest_pain": True}
    assert extraction.findings[0].subject == "other"


def test_a_question_about_what_might_happen_is_hypothetical(engine):
    assert states(engine, "what should I do if my baby gets a fever") == {}


def test_family_history_is_not_a_current_finding(engine):
    assert states(engine, "family history of stroke") == {}


@pytest.mark.parametrize(
    "text",
    [
        "keystroke",
        "heartburn",
        "my job is a pain in the neck",
        "I thought I would die laughing",
        "I'm fit and healthy",
        "this headache is killing me",
        "I need a blood test",
    ],
)
def test_idioms_and_lookalike_words_raise_no_red_flag_findings(engine, text):
    red = {n.split(":")[1] for r in engine.rules.red_flags for n in r.when.names()}
    found = {k for k, v in states(engine, text).items() if v}
    # Findings that are right readings and alarm only with others: "heartburn" is
    # indigestion, which RF-CHEST-006 counts only with spreading pain, sweating or faintness.
    assert not found & (red - {"headache", "severe", "indigestion"})


@pytest.mark.parametrize(
    ("text", "finding"),
    [
        ("im vomitting", "vomiting"),
        ("diarhea all day", "diarrhoea"),
        ("sezure", "seizure"),
        ("bad hedache", "headache"),
        ("unconcious", "unresponsive"),
        ("i cant breathe", "cant_breathe"),
    ],
)
def test_common_misspellings_and_sms_shorthand_are_understood(engine, text, finding):
    assert states(engine, text).get(finding) is True


@pytest.mark.parametrize(
    ("text", "celsius"),
    [
        ("temp 102F", 38.9),
        ("39.5°C", 39.5),
        ("fever of 101.3", 38.5),
        ("38c", 38.0),
        ("temperature 99", 37.2),
        ("37.5 degrees", 37.5),
    ],
)
def test_temperatures_in_fahrenheit_and_celsius_are_read(text, celsius):
    assert numbers.temperature_c(text) == celsius


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("my 2 yo", 2.0),
        ("3 month old", 0.247),
        ("6 wk old baby", 0.115),
        ("I'm 67", 67.0),
        ("58M chest pain", 58.0),
        ("my 18 month old", 1.479),
        ("newborn", 0.05),
    ],
)
def test_ages_are_read_in_years(text, years):
    assert numbers.age_years(text) == years


def test_weeks_of_pregnancy_are_not_taken_for_an_age():
    assert numbers.age_years("I'm 12 weeks pregnant") is None
    assert numbers.pregnancy_weeks("I'm 12 weeks pregnant") == 12.0


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("for 3 days", 3.0),
        ("since yesterday", 1.0),
        ("for a couple of weeks", 14.0),
        ("2 hours ago", 0.0833),
        ("for 20 mins", 0.0139),
    ],
)
def test_durations_are_read_in_days(text, days):
    assert numbers.duration_days(text) == days


def test_a_high_temperature_counts_as_fever(engine):
    assert states(engine, "my 2 yo is 102F")["fever"] is True


@pytest.mark.parametrize(
    ("text", "finding"),
    [
        ("sore throat but breathing fine", "breathless"),
        ("twisted my ankle, I can walk on it", "possible_fracture"),
        ("fever, playing and drinking fine", "cant_keep_fluids"),
        ("wet nappies as usual", "no_urine"),
        ("cut my hand, it has stopped bleeding", "heavy_bleeding"),
        ("headache that came on gradually", "sudden_onset"),
        ("mild tummy ache", "severe"),
        ("34F, afebrile", "fever"),
    ],
)
def test_reassuring_words_rule_warning_signs_out(engine, text, finding):
    assert states(engine, text)[finding] is False
    assert states(engine, text)["reassuring"] is True


def test_a_denied_reassurance_rules_nothing_out(engine):
    found = states(engine, "no wet nappies since this morning")
    assert found["no_urine"] is True
    assert "wetting_well" not in found


def test_partly_overlapping_findings_are_both_kept(engine):
    found = states(engine, "scratched my eye and it's red")
    assert found["eye_injury"] is True and found["eye_problem"] is True


def test_a_loose_match_never_hides_an_exact_one_inside_it(engine):
    found = states(engine, "my stomach is rigid and really painful")
    assert found["rigid_abdomen"] is True and found["abdominal_pain"] is True


def test_a_gap_does_not_cross_a_sentence_or_a_but(engine):
    assert "black_stool" not in states(engine, "my poo is normal. Black dog bit me")
    assert "black_stool" not in states(engine, "poo is fine but the black mark on my leg hurts")


def test_an_age_after_my_makes_the_message_about_someone_else(engine):
    assert engine.extractor.extract("my 2 yo has a fever").about_other is True


@pytest.mark.parametrize(
    ("text", "fact", "value"),
    [
        ("4/12 old infant, T 39.4", "age_years", 0.329),
        ("3/7 hx of dysuria", "duration_days", 3.0),
        ("6/52 of productive cough", "duration_days", 42.0),
        ("kid is 5, had a temperature", "age_years", 5.0),
        ("my 6 week old, thermometer says 38.3", "temperature_c", 38.3),
        ("38.5 on the thermometer", "temperature_c", 38.5),
        ("took 20 paracetamol", "tablets_taken", 20.0),
        ("swallowed 12 of my sleeping pills", "tablets_taken", 12.0),
    ],
)
def test_clinician_shorthand_thermometers_and_tablet_counts_are_read(text, fact, value):
    assert read_facts(text)[fact] == value


def test_a_usual_dose_is_not_a_tablet_count_worth_reading():
    assert "tablets_taken" not in read_facts("BP 120/80, pain 7/10, seen on 3/12/2024")
    assert read_facts("I took 2 paracetamol")["tablets_taken"] == 2.0


@pytest.mark.parametrize(
    ("text", "finding"),
    [
        ("no fever, crushing chest pain spreading to my arm", "chest_pain"),
        ("no cough, can't breathe", "cant_breathe"),
        ("no rash, stiff neck and a fever", "stiff_neck"),
        ("history of asthma, now I can't breathe", "cant_breathe"),
        ("my 6 yo has a cough, no fever, playing normally", "reassuring"),
    ],
)
def test_a_comma_ends_a_denial_unless_the_list_is_joined_by_or(engine, text, finding):
    assert states(engine, text)[finding] is True


def test_a_denied_list_joined_by_or_denies_every_item(engine):
    assert states(engine, "denies fever, chills or chest pain") == {
        "fever": False,
        "shivering": False,
        "chest_pain": False,
    }


@pytest.mark.parametrize(
    ("text", "celsius"),
    [
        ("my 6 week old has a 38.4 temp and isn't feeding", 38.4),
        ("a 38.2 fever", 38.2),
        ("102 fever", 38.9),
        ("38,4 temp", 38.4),
        ("her temp's 38.6", 38.6),
        ("his temperature has been 38.2 all day", 38.2),
        ("temp spiked to 38.9", 38.9),
        ("his temp is now 38.6", 38.6),
    ],
)
def test_a_temperature_is_read_with_the_number_first_or_after_a_few_words(text, celsius):
    assert numbers.temperature_c(text) == celsius


@pytest.mark.parametrize(
    "text",
    ["fever for 38 hours", "10 day fever", "36 week pregnant temp", "38 year old, temperature"],
)
def test_numbers_that_are_not_temperatures_are_not_read_as_one(text):
    assert numbers.temperature_c(text) is None


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("my baby is 8 weeks and has a temp", 0.153),
        ("he's 2 months", 0.164),
        ("aged 7 weeks", 0.134),
        ("my 10 week baby", 0.192),
        ("my baby (7 weeks)", 0.134),
    ],
)
def test_an_age_in_weeks_or_months_is_read_without_the_word_old(text, years):
    assert numbers.age_years(text) == years


@pytest.mark.parametrize(
    "text",
    [
        "she's 8 weeks pregnant",
        "he's 6 weeks post op",
        "back pain for 3 years",
        "I overdosed 5 years ago",
        "a 5-year history of asthma",
    ],
)
def test_pregnancy_weeks_and_lengths_of_time_are_not_ages(text):
    assert numbers.age_years(text) is None


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("took 12 sertraline", 12.0),
        ("took 20 of my mum's diazepam", 20.0),
        ("took 28 x 500mg paracetamol", 28.0),
        ("took 10 tabs", 10.0),
    ],
)
def test_tablet_counts_are_read_with_drug_names(text, count):
    assert numbers.tablets_taken(text) == count


def test_a_count_of_boxes_is_not_a_count_of_tablets():
    assert numbers.tablets_taken("took 2 boxes of ibuprofen") is None
