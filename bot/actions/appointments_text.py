"""Pure helpers of the appointment dialogue: what a reply means mid-flow, and how to say things.

No tracker and no backend here, so each helper is unit-tested on its own.
"""

from __future__ import annotations

import re
from typing import Any, Literal

Digression = Literal["stop", "restart", "address", "who", "person"]

_STOP = re.compile(
    r"^\s*(?:never ?mind|nevermind|nvm|forget it|forget about it|stop|quit|"
    r"not now|leave it|don'?t bother|i'?ll call instead|i changed my mind)\b"
)
_RESTART = re.compile(r"\b(?:start (?:over|again)|restart|from the (?:start|beginning))\b")
_ADDRESS = re.compile(
    r"\b(?:address|where is|where's|wheres|located|location|directions|how do i get)\b"
)
_WHO = re.compile(
    r"\b(?:who is|who's|whos|who are|tell me about (?:the )?(?:doctor|dr)|what kind of doctor|"
    r"what does (?:the )?(?:doctor|dr)|is (?:s?he|the doctor) (?:a|any) good)\b"
)
_PERSON = re.compile(r"\b(?:talk to|speak (?:to|with)) (?:a |someone|somebody|a real)")
_YES = re.compile(
    r"^\s*(?:y|ya|yes|yeah|yep|yup|ok|okay|k|sure|confirm|correct|please do|do it|go ahead|"
    r"book it|sounds good|perfect|great|that'?s (?:fine|right|great))\b"
)
_NO = re.compile(r"^\s*(?:n|no|nope|nah|not that one|wrong|none of (?:these|those|them))\b")
_NUMBER = re.compile(r"^\s*(?:#|no\.?|number|option)?\s*(\d{1,2})\s*[.)]?\s*$")


def digression(text: str) -> Digression | None:
    """A reply that is not an answer to the question but a change of course."""
    lowered = text.lower().strip()
    if _STOP.search(lowered):
        return "stop"
    if _RESTART.search(lowered):
        return "restart"
    if _PERSON.search(lowered):
        return "person"
    if _WHO.search(lowered):
        return "who"
    if _ADDRESS.search(lowered):
        return "address"
    return None


def is_yes(text: str, intent: str) -> bool:
    """A confirmation, by intent or by the usual words."""
    return intent == "affirm" or bool(_YES.search(text.lower()))


def is_no(text: str, intent: str) -> bool:
    """A refusal, by intent or by the usual words."""
    return intent == "deny" or bool(_NO.search(text.lower()))


def pick(text: str, options: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The option the reply names: its id (a pressed button), its number, or its exact label."""
    cleaned = text.strip()
    for option in options:
        if cleaned == option.get("id"):
            return option
    number = _NUMBER.match(cleaned)
    if number:
        index = int(number.group(1)) - 1
        return options[index] if 0 <= index < len(options) else None
    lowered = cleaned.lower()
    for option in options:
        if lowered == str(option.get("label", "")).lower():
            return option
    return None


def slot_buttons(slots: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One button per offered slot; the payload is the slot id (the hub numbers them on SMS)."""
    return [{"title": str(s["label"]), "payload": str(s["id"])} for s in slots]


def addresses(slots: list[dict[str, Any]]) -> str:
    """The clinics of the offered slots with their addresses."""
    seen: dict[str, str] = {}
    for slot in slots:
        seen.setdefault(str(slot.get("clinic_name")), str(slot.get("clinic_address") or ""))
    if not seen:
        return "I'll give you the clinic's address as soon as you've picked a time."
    return "\n".join(f"{name}: {address}" if address else name for name, address in seen.items())


def clinicians(slots: list[dict[str, Any]]) -> str:
    """Who the offered clinicians are: name, specialty and clinic (no personal details)."""
    seen: dict[str, str] = {}
    for slot in slots:
        name = str(slot.get("practitioner_name") or "")
        if name and name not in seen:
            specialty = str(slot.get("specialty") or "").lower() or "clinician"
            seen[name] = f"{name} is a {specialty} clinician at {slot.get('clinic_name')}."
    return " ".join(seen.values()) or "I'll tell you who you'll see once you've picked a time."


def booked_text(answer: dict[str, Any], verb: str = "booked") -> str:
    """The confirmation: when, who, where, what to bring, how to cancel."""
    appointment = answer["appointment"]
    lines = [f"You're {verb}: {appointment['label']}."]
    if appointment.get("clinic_address"):
        lines.append(f"Address: {appointment['clinic_address']}.")
    if answer.get("what_to_bring"):
        lines.append(str(answer["what_to_bring"]))
    if answer.get("how_to_cancel"):
        lines.append(str(answer["how_to_cancel"]))
    return "\n".join(lines)


def cancelled_text(answer: dict[str, Any]) -> str:
    """The cancellation, flagged when later than the clinic's notice policy."""
    text = f"Done: your appointment on {answer['appointment']['label']} is cancelled."
    if answer.get("late"):
        hours = float(answer.get("notice_hours") or 24)
        text += (
            f" Please note this is less than {hours:g} hours before the appointment, which is "
            "later than the clinic's cancellation policy asks; the clinic may contact you about "
            f"it. Questions: {answer.get('clinic_phone')}."
        )
    return text


def mentions_child(text: str) -> bool:
    """ "Book my son for a checkup": the appointment is for a child in the patient's care."""
    return bool(re.search(r"\bmy (?:son|daughter|child|kid|baby|boy|girl)\b", text.lower()))
