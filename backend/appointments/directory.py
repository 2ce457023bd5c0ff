"""Which specialty, clinician or clinic a patient means, from their own words.

Specialties are matched against a synonym table ("skin doctor" -> dermatology); clinicians by
family or given name ("dr chen", "Dr Okafor"), accents ignored; clinics by name or neighbourhood.
The EHR's directory (`list_clinicians`, `list_clinics`) is the source of the names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from backend.ehr.domain import Clinic, Clinician

# SNOMED practice settings of the seed (backend/ehr/codes.py) and how patients name them.
SPECIALTY_WORDS: dict[str, tuple[str, ...]] = {
    "419772000": (
        "family medicine",
        "family doctor",
        "gp",
        "general practitioner",
        "primary care",
        "regular doctor",
        "checkup",
        "check up",
        "check-up",
        "physical",
        "annual exam",
    ),
    "394537008": (
        "paediatrics",
        "pediatrics",
        "pediatrician",
        "paediatrician",
        "kids doctor",
        "children's doctor",
        "child doctor",
        "baby doctor",
    ),
    "394579002": ("cardiology", "cardiologist", "heart doctor", "heart specialist"),
    "394582007": (
        "dermatology",
        "dermatologist",
        "derm",
        "skin doctor",
        "skin specialist",
        "skin clinic",
    ),
    "394801008": (
        "orthopaedics",
        "orthopedics",
        "orthopedic",
        "orthopaedic",
        "ortho",
        "bone doctor",
        "joint doctor",
        "sports injury",
    ),
    "394586005": (
        "women's health",
        "womens health",
        "gynecology",
        "gynaecology",
        "gynecologist",
        "gyno",
        "obgyn",
        "ob/gyn",
        "ob-gyn",
    ),
    "394583002": (
        "endocrinology",
        "endocrinologist",
        "endo",
        "diabetes doctor",
        "thyroid doctor",
        "hormone doctor",
    ),
}
CHILD_WORDS = ("my son", "my daughter", "my child", "my kid", "my baby", "my boy", "my girl")


def plain(text: str) -> str:
    """Lower case without accents or punctuation other than apostrophes and slashes."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9'/ -]+", " ", stripped.replace("’", "'"))


def _contains(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", text) is not None


def find_specialty(text: str) -> str | None:
    """The SNOMED code of the specialty the text names, or None."""
    lowered = re.sub(r"\bdocs?\b", "doctor", plain(text))  # "heart doc", "skin docs"
    best: tuple[int, str] | None = None
    for code, words in SPECIALTY_WORDS.items():
        for word in words:
            if _contains(lowered, word) and (best is None or len(word) > best[0]):
                best = (len(word), code)  # the longest phrase wins ("kids doctor" over "doctor")
    return best[1] if best else None


def find_clinicians(text: str, clinicians: Sequence[Clinician]) -> list[Clinician]:
    """Clinicians named in the text (family name, or title + given name); [] if none."""
    lowered = plain(text)
    found = []
    for clinician in clinicians:
        parts = plain(clinician.name).split()
        family = " ".join(parts[2:]) if len(parts) > 2 else parts[-1]
        names = {family, *family.split("-"), family.replace("'", "")}
        if any(len(n) > 2 and _contains(lowered, n) for n in names if n):
            found.append(clinician)
            continue
        given = parts[1] if len(parts) > 1 else ""
        if given and re.search(rf"\b(?:dr|doctor|np|nurse)\.?\s+{re.escape(given)}\b", lowered):
            found.append(clinician)
    return found


def find_clinic(text: str, clinics: Iterable[Clinic]) -> Clinic | None:
    """The clinic whose distinctive name words the text names ("Elm Park", "northgate")."""
    lowered = plain(text)
    sites = list(clinics)
    words = {c.id: plain(c.name).split() for c in sites}
    shared = set.intersection(*(set(w) for w in words.values())) if len(sites) > 1 else set()
    for clinic in sites:
        own = [w for w in words[clinic.id] if w not in shared]
        if own and _contains(lowered, " ".join(own)):
            return clinic
        if any(len(w) > 3 and _contains(lowered, w) for w in own):
            return clinic
    return None


def mentions_child(text: str) -> bool:
    """True when the patient books for a child ("book my son for a checkup")."""
    lowered = plain(text)
    return any(_contains(lowered, words) for words in CHILD_WORDS)
