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
    "issue-24 probes": [
        "burnt my hand on the oven and the skin has gone white and leathery, doesnt even hurt",
        "my toddler grabbed my tea and scalded his chest, big blisters",
        "spilt boiling water over my arm, huge blister the size of my hand",
        "got an electric shock from the plug and theres a burn on my hand",
        "splashed drain cleaner in my eye and it burns",
        "burnt my face on the bbq, eyebrows singed",
        "my baby pulled the iron onto her leg and its blistered",
        "sudden loss of vision in my right eye like a curtain coming down",
        "i suddenly cant see out of one eye",
        "my dads words are all jumbled and his arm is weak",
        "mum cant lift her arm and her face looks funny",
        "he's dribbling out the side of his mouth and his speech is slurred",
        "her arm suddenly went weak and she dropped her cup",
        "my wife suddenly cant understand what im saying to her",
        "my face feels numb on one side and my arm is tingling, started 20 mins ago",
        "gran has gone really confused all of a sudden and doesnt know where she is",
        "grandad woke up and didnt know who we were",
        "chest feels like an elephant is sitting on it",
        "pain in my chest going into my jaw",
        "tight chest and left arm aching, feel sick",
        "crushing pain in chest since 30 mins",
        "i think im having a heart attack",
        "hes clutching his chest and gone grey",
        "my baby is struggling to breathe, sucking in under her ribs",
        "baby breathing really fast and grunting",
        "my son has been fitting for 10 minutes",
        "shes having a fit and wont stop shaking",
        "found him on the floor not breathing",
        "my friend took 30 paracetamol an hour ago",
        "i want to die tonight ive got the pills ready",
        "i cut my wrist and it wont stop bleeding",
        "blood spurting from my leg after i cut it on glass",
        "vomiting blood and feel faint",
        "coughing up loads of blood",
        "my throat is closing up after eating peanuts",
        "stung by a bee and my tongue is swelling",
        "my 2 month old has a temp of 38.5",
        "baby has a rash that doesnt go away when i press a glass on it",
        "worst headache of my life came on suddenly",
        "hit my head, now being sick and drowsy",
        "my waters broke and theres a lot of blood",
        "im 30 weeks pregnant and bleeding heavily with pain",
        "my sats are 88%",
        "oxygen 90 on the monitor and struggling",
        "heart rate 170 and chest pain",
    ],
}


@pytest.mark.parametrize(
    "text", [text for texts in WORDINGS.values() for text in texts], ids=lambda t: t[:40]
)
def test_an_emergency_in_lay_words_is_recognised_on_the_first_message(engine, text):
    assert screen(text, engine=engine).is_emergency
    assert engine.triage(text, ask=False).is_emergency


# Messages that name an emergency's words without one happening now (figures of speech,
# history, admin, information questions, resolved or harmless events): none may fire.
NOT_EMERGENCIES = [
    "my stroke clinic appointment is on tuesday, can i move it",
    "i had a mini stroke in 2020 and need my clopidogrel repeat",
    "my grandad died of a heart attack, should i have my cholesterol checked",
    "what does a heart attack feel like in women?",
    "im dying to know my blood test results",
    "this heat is killing me, any tips for sleeping",
    "my phone died so i missed your call",
    "the kids nearly gave me a heart attack jumping out at me lol",
    "can you send me a leaflet about sepsis",
    "my son had a febrile seizure 2 years ago, hes 4 now and has a cold",
    "fit note please, back to work monday",
    "my epipen is out of date, can i get a new one",
    "need more gtn spray, havent needed it for months",
    "i burnt my finger on the toaster, small red mark, no blister",
    "tiny cut on my thumb, stopped bleeding",
    "i have a bit of a headache after staring at screens",
    "my chest is a bit tight with this cold, no pain, breathing fine",
    "my blood pressure was 145/90 at the pharmacy, should i book a check",
    "sats 97% on my watch, just checking",
    "my baby is 6 months, temp 37.9, feeding well and smiling",
    "i took 2 paracetamol for my headache, is it ok to take ibuprofen too",
    "can i take ibuprofen with sertraline",
    "is it safe to take 8 paracetamol a day",
    "my mum is in the stroke unit, when are visiting hours",
    "do you do overdose awareness training for carers",
    "i feel blue today, just a bit down, not suicidal",
    "what are the signs of meningitis in babies",
    "my husband snores and sometimes stops breathing for a second at night, sleep study?",
    "i passed out at a concert last year from the heat",
    "my arm went dead after sleeping on it, fine now",
    "pins and needles in my foot from sitting cross legged",
    "my lips are blue from the blueberry slushie lol",
    "i fainted when i had my blood taken last time, can i lie down this time",
    "we're having a heart and stroke awareness day at work",
    "collapsed lung when i was 20, fine since",
]


@pytest.mark.parametrize("text", NOT_EMERGENCIES, ids=lambda t: t[:40])
def test_emergency_words_without_an_emergency_now_do_not_fire(engine, text):
    assert not screen(text, engine=engine).is_emergency, screen(text, engine=engine).rule_ids
