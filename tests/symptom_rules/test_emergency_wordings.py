"""Emergencies in many lay wordings: the screen and a first-message triage both catch them.

A regression list gathered while testing unseen wordings (see docs/triage.md); add to it
whenever a new wording is missed.
"""

from __future__ import annotations

import pytest

from symptom_rules import screen

WORDINGS = {
    "chest": [
        "my chest feels like it's being crushed",
        "pain in the middle of my chest going into my jaw",
        "tight band around my chest and I'm all sweaty",
        "I think I'm having a heart attack",
        "dad has heavy pressure on his chest and feels sick",
        "chest hurts and I'm really short of breath",
        "sharp chest pain and I can't catch my breath",
        "elephant sitting on my chest",
        "my chest is killing me and my left arm is numb",
    ],
    "stroke": [
        "my mum's face has gone lopsided",
        "he can't raise his right arm and his speech is garbled",
        "suddenly can't speak properly and my arm is weak",
        "one side of her body went numb all of a sudden",
        "his smile is crooked and he's talking nonsense",
        "I think my husband is having a stroke",
    ],
    "breath": [
        "I can't get my breath",
        "he's gasping and can't talk",
        "my baby is breathing really fast and her ribs are sucking in",
        "struggling to breathe and turning blue",
        "my asthma inhaler isn't working and I can barely breathe",
        "can hardly breathe",
    ],
    "anaph": [
        "throat is closing up after eating shrimp",
        "lips and tongue swelling after a bee sting",
        "used my epipen",
        "had to use the epi pen on my son",
        "I'm allergic to nuts and ate one and now I can't breathe",
        "face swelling up and wheezing after taking amoxicillin",
    ],
    "bleed": [
        "blood is spurting from a cut on my wrist",
        "I can't stop the bleeding",
        "bleeding heavily from my head",
        "soaked through three towels with blood",
    ],
    "collapse": [
        "my husband collapsed",
        "she fainted and isn't waking up",
        "found my dad unconscious on the floor",
        "he's unresponsive",
        "my friend passed out and isn't breathing",
    ],
    "seizure": [
        "my daughter is having a fit",
        "he's convulsing",
        "shaking and jerking and not responding",
        "my son had a seizure for the first time",
    ],
    "suicide": [
        "I'm going to kill myself tonight",
        "I have pills saved up to end my life",
        "I want to end it all, I've got a plan",
        "I'm going to hang myself",
        "planning to overdose tonight",
        "I don't want to live anymore",
        "I've decided to end my life",
        "I'm going to jump off a building",
    ],
    "od": [
        "took 20 paracetamol",
        "my son swallowed a load of my tablets",
        "I've taken an overdose",
        "she drank bleach",
        "ate rat poison",
        "took too many of my sleeping tablets",
        "my toddler got into the medicine cabinet and swallowed some pills",
        "my kid ate a laundry pod",
    ],
    "infant": [
        "my 1 month old has a fever",
        "2 week old baby temp 38",
        "my 10 week old is burning up",
        "newborn with a fever of 38.4",
    ],
    "mening": [
        "fever and a rash that won't fade when I press a glass on it",
        "stiff neck, high temperature and the light hurts",
        "purple spots and she's really unwell with a fever",
    ],
    "abdo": [
        "tummy is rock hard and really painful",
        "I'm pregnant and have terrible stomach pain",
        "agonising stomach pain, pregnant 20 weeks",
        "belly is hard as a board and hurts to touch",
    ],
    "thunder": [
        "worst headache I've ever had, came on in seconds",
        "sudden severe headache out of nowhere",
        "thunderclap headache",
        "headache like I was hit on the back of the head",
    ],
    "gi": [
        "throwing up blood",
        "vomit looks like coffee grounds",
        "I've been sick and there was blood in it",
        "coughing and vomiting dark blood",
    ],
    "sepsis": [
        "I think I have sepsis",
        "high fever and very confused",
        "fever, shivering and I haven't peed since yesterday",
        "mottled skin and a temperature",
    ],
}


@pytest.mark.parametrize(
    "text", [text for texts in WORDINGS.values() for text in texts], ids=lambda t: t[:40]
)
def test_an_emergency_in_lay_words_is_recognised_on_the_first_message(engine, text):
    assert screen(text, engine=engine).is_emergency
    assert engine.triage(text, ask=False).is_emergency
