"""What the patients of bench/load.py say: the mixes, the seeded patients who verify, the plan
of each level. Pure (no I/O), so tests/backend/test_bench_load_helpers.py checks it too.

A verified conversation answers the identity questions of the REST channel (last name, first
name, birth date) and then types the 6-digit code that, in development, lands in the hub's
outbox (`CODE` below stands for it; bare Rasa gets DUMMY_CODE, as it has no outbox).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

CODE = "\x00code"  # placeholder: the verification code read from the outbox
FAMILY, GIVEN, BORN = "\x00family", "\x00given", "\x00born"
DUMMY_CODE = "123456"
CODE_IN_TEXT = re.compile(r"verification code is (\d{6})")

# Triage asks until it can decide: "no" to every question of the headache protocol is six
# answers, of the cough protocol three (symptom_rules.triage), then self-care advice. A
# triage cut short by a stray "thanks" can end in emergency guidance and a hand-off, which a
# load run must not leave in the clinicians' console.
TRIAGE = ("hello", "I have had a headache since yesterday", *("no",) * 6)
SMALL_TALK = (
    "hi",
    "what can you do?",
    "are you a bot?",
    "I have had a cough for 3 days",
    *("no",) * 3,
    "thank you",
)
VERIFIED_BOOKING = (
    "can I book an appointment",
    FAMILY,
    GIVEN,
    BORN,
    CODE,
    "a checkup with a family doctor next week",
    "never mind",
    "what medications am I on",
)
VERIFIED_RECORDS = (
    "hello",
    "what medications am I on",
    FAMILY,
    GIVEN,
    BORN,
    CODE,
    "are my test results back?",
    "is my refill ready?",
)
PADDING = ("thanks", "what can you do?", "are you a bot?", "ok bye")
# Conversation i of a level follows MIXES[i % 4]; a verified mix without a free patient
# falls back to the unverified one beside it.
MIXES: tuple[tuple[tuple[str, ...], tuple[str, ...] | None], ...] = (
    (TRIAGE, None),
    (VERIFIED_BOOKING, SMALL_TALK),
    (SMALL_TALK, None),
    (VERIFIED_RECORDS, TRIAGE),
)


@dataclass(frozen=True)
class Patient:
    """A seeded patient who can be verified unambiguously over the REST channel."""

    id: str
    family: str
    given: str
    birth_date: date
    phone: str  # as on file; the code goes there

    @property
    def birth_date_text(self) -> str:
        return f"{self.birth_date.day} {self.birth_date:%B %Y}"


def phone_key(phone: str) -> str:
    """Digits only, so "+1 212-555-0101" and "+12125550101" compare equal."""
    return re.sub(r"\D", "", phone)


def _patient(resource: Mapping[str, Any]) -> Patient | None:
    names = resource.get("name") or []
    name = next((n for n in names if n.get("use") in (None, "official", "usual")), None)
    phones = [
        t.get("value")
        for t in resource.get("telecom") or []
        if t.get("system") == "phone" and t.get("value")
    ]
    if not name or not phones or not resource.get("birthDate") or not resource.get("id"):
        return None
    try:
        born = date.fromisoformat(str(resource["birthDate"]))
    except ValueError:
        return None
    given, family = " ".join(name.get("given") or []), name.get("family") or ""
    if not given or not family:
        return None
    return Patient(str(resource["id"]), family, given, born, str(phones[0]))


def eligible_patients(resources: Iterable[Mapping[str, Any]]) -> list[Patient]:
    """Patients with a phone nobody else has and a name + birth date no one else matches
    (FHIR name search matches prefixes), so verifying them never asks "which one are you"."""
    everyone = [
        p
        for r in resources
        if r.get("resourceType", "Patient") == "Patient"
        if (p := _patient(r)) is not None
    ]
    phones: dict[str, int] = {}
    for p in everyone:
        phones[phone_key(p.phone)] = phones.get(phone_key(p.phone), 0) + 1

    def ambiguous(p: Patient) -> bool:
        return any(
            o is not p
            and o.birth_date == p.birth_date
            and o.family.casefold().startswith(p.family.casefold())
            and o.given.casefold().startswith(p.given.casefold())
            for o in everyone
        )

    return sorted(
        (p for p in everyone if phones[phone_key(p.phone)] == 1 and not ambiguous(p)),
        key=lambda p: p.id,
    )


class PatientPool:
    """Hands out patients in turn, each at most `max_uses` times in a run (the backend allows
    IDENTITY_CODES_PER_HOUR codes per phone) and never twice in one level (two codes to one
    phone at once could not be told apart in the outbox)."""

    def __init__(self, patients: Sequence[Patient], max_uses: int) -> None:
        self.patients = list(patients)
        self.max_uses = max_uses
        self.uses = [0] * len(self.patients)
        self.cursor = 0

    def take(self, taken: set[str]) -> Patient | None:
        for _ in range(len(self.patients)):
            i = self.cursor
            self.cursor = (self.cursor + 1) % len(self.patients)
            patient = self.patients[i]
            if self.uses[i] < self.max_uses and patient.id not in taken:
                self.uses[i] += 1
                taken.add(patient.id)
                return patient
        return None


@dataclass(frozen=True)
class Conversation:
    """One patient's messages in order (CODE still a placeholder) and who they verify as."""

    sender: str
    texts: tuple[str, ...]
    patient: Patient | None = None


def fill(script: Sequence[str], patient: Patient | None, messages: int) -> tuple[str, ...]:
    """The script cut or padded to `messages`, with the patient's answers put in."""
    padded = list(script[:messages])
    while len(padded) < messages:
        padded.append(PADDING[(len(padded) - len(script)) % len(PADDING)])
    answers = {}
    if patient is not None:
        answers = {FAMILY: patient.family, GIVEN: patient.given, BORN: patient.birth_date_text}
    return tuple(answers.get(text, text) for text in padded)


def plan_level(prefix: str, level: int, messages: int, pool: PatientPool) -> list[Conversation]:
    """`level` conversations, the mixes in turn; sender ids start with `prefix`. A verified
    mix needs a free patient and room for the code within `messages`, else it is unverified."""
    taken: set[str] = set()
    plan = []
    for i in range(level):
        script, fallback = MIXES[i % len(MIXES)]
        patient = None
        if fallback is not None:
            # Cut before the code, a birth date would only use up a code to the phone.
            if CODE in script[:messages]:
                patient = pool.take(taken)
            if patient is None:
                script = fallback
        plan.append(Conversation(f"{prefix}-{i}", fill(script, patient, messages), patient))
    return plan


def wants_code(plan: Conversation) -> bool:
    return CODE in plan.texts


def code_in(text: str) -> str | None:
    """The code of an outbox message ("... verification code is 123456 ..."), or None."""
    found = CODE_IN_TEXT.findall(text)
    return found[-1] if found else None
