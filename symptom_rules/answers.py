"""Normalising patients' answers to follow-up questions (yes / no / not sure / free text)."""

from __future__ import annotations

import re

YES = "yes"
NO = "no"
UNSURE = "unsure"

EMOJI = {"👍": YES, "✅": YES, "👎": NO, "❌": NO, "🤷": UNSURE}
_UNSURE = re.compile(
    r"^(not sure|unsure|dunno|idk|i don'?t know|don'?t know|no idea|maybe|possibly|perhaps|"
    r"kind of|kinda|sort of|a bit|a little|hard to say|can'?t tell|not certain|might be|"
    r"i think so|think so|probably|\?+)\b"
)
_YES = re.compile(
    r"^(yes|y|yeah|yea|yep|yup|ya|yah|aye|sure|correct|right|true|definitely|absolutely|"
    r"it is|it does|i do|i am|i have|he is|she is|he does|she does|he has|she has|they are|"
    r"of course|ok|okay|uh huh|affirmative|positive)\b"
)
_NO = re.compile(
    r"^(no|n|nope|nah|na|not really|none|never|negative|nothing|it isn'?t|it is not|"
    r"it doesn'?t|i don'?t|i'?m not|i am not|he isn'?t|she isn'?t|he doesn'?t|she doesn'?t|"
    r"not at all|no way|don'?t think so|i don'?t think so)\b"
)


def normalise_answer(text: str) -> str | None:
    """``yes``, ``no`` or ``unsure`` for an answer, or None when it is other free text.

    Hedges win over yes/no ("yes maybe" is unsure); answers are read from their start, so
    "no, but it hurts" is no. Numbers and free descriptions return None.
    """
    cleaned = " ".join(text.strip().lower().replace("’", "'").split())
    if cleaned[:1] in EMOJI:
        return EMOJI[cleaned[:1]]
    cleaned = re.sub(r"^[^\w?]+", "", cleaned)
    if not cleaned:
        return None
    if _UNSURE.match(cleaned) or re.search(r"\b(not sure|no idea|don'?t know|maybe)\b", cleaned):
        return UNSURE
    if _NO.match(cleaned):
        return NO
    if _YES.match(cleaned):
        return YES
    return None
