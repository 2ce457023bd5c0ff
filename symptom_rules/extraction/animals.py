"""Findings about an animal are not the patient's: "our parrot is choking on a seed", "dog is
having a fit, wrong chat, meant to text the vet".

An ANIMAL cue (context.yaml) reaches forward a few words. It does not hold when a person is
named between the animal and the finding ("the dog bit me and I'm bleeding", "our dog bit my
son, he is bleeding a lot"): then the finding is a person's, and the screen hears it as usual.
A person named anywhere as the finding's subject (an OTHER_PERSON cue) wins as well.
"""

from __future__ import annotations

from spacy.tokens import Span

ANIMAL = "ANIMAL"
FIRST_PERSON = frozenset({"i", "i'm", "im", "me", "my", "myself", "mine", "we", "us"})


def about_an_animal(ent: Span, person_words: frozenset[str]) -> bool:
    """True when an animal, and no person, is what ``ent`` is said about."""
    doc = ent.doc
    animal_cues = [m for m in ent._.modifiers if m.category == ANIMAL]
    if not animal_cues or any(m.category == "OTHER_PERSON" for m in ent._.modifiers):
        return False
    for cue in animal_cues:
        cue_end = cue.modifier_span[1]
        if cue_end > ent.start:
            continue  # ANIMAL cues reach forward only
        between = {t.lower_ for t in doc[cue_end : ent.start]}
        if not between & (FIRST_PERSON | person_words):
            return True
    return False
