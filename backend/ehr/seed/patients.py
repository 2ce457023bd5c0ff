"""Patients: realistic names (apostrophes, hyphens, accents), all ages, languages, E.164 phones;
families sharing a phone, children with a guardian (Patient.contact + RelatedPerson), some with
no phone at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .. import codes
from .common import Resource, SeedContext, concept, ref

LANG = {
    "en": "English",
    "es": "Spanish",
    "zh": "Chinese",
    "vi": "Vietnamese",
    "fr": "French",
    "ht": "Haitian Creole",
    "ru": "Russian",
    "ar": "Arabic",
    "pt": "Portuguese",
    "pl": "Polish",
}

# (given, family, gender, language)
ADULTS = [
    ("Siobhán", "O'Connor", "female", "en"),
    ("Mateo", "García-Pérez", "male", "es"),
    ("Zoë", "Müller", "female", "en"),
    ("Nguyễn", "Thị Lan", "female", "vi"),
    ("D'Andre", "Washington", "male", "en"),
    ("Renée", "Beauchamp", "female", "fr"),
    ("Wei", "Zhang", "male", "zh"),
    ("Olumide", "Adébáyọ̀", "male", "en"),
    ("Anne-Marie", "St. Pierre", "female", "fr"),
    ("Jean-Baptiste", "Pierre-Louis", "male", "ht"),
    ("Dmitri", "Volkov", "male", "ru"),
    ("Layla", "Haddad", "female", "ar"),
    ("João", "Conceição", "male", "pt"),
    ("Małgorzata", "Wójcik", "female", "pl"),
    ("Patrick", "McAllister", "male", "en"),
    ("Ngozi", "Eze-Okonkwo", "female", "en"),
    ("Björn", "Åkesson", "male", "en"),
    ("Inés", "Muñoz", "female", "es"),
    ("Kai", "Nakamura-Smith", "male", "en"),
    ("Bridget", "O'Malley-Burke", "female", "en"),
    ("Luis", "Peña", "male", "es"),
    ("Yasmin", "El-Amin", "female", "ar"),
    ("Marguerite", "de la Cruz", "female", "es"),
    ("Thomas", "Nguyen", "male", "en"),
    ("Aaliyah", "Johnson", "female", "en"),
    ("Hamza", "Qureshi", "male", "en"),
    ("Chiara", "Lo Bianco", "female", "en"),
    ("Eamon", "Ó Sé", "male", "en"),
    ("Rosa", "Benítez", "female", "es"),
    ("Samuel", "Cohen", "male", "en"),
    ("Fiona", "MacLeod", "female", "en"),
    ("Ana Lucía", "Rodríguez", "female", "es"),
    ("Mohammed", "Al-Farsi", "male", "ar"),
    ("Esther", "Kowalczyk", "female", "pl"),
    ("Jacques", "Lefèvre", "male", "fr"),
    ("Lin", "Huang", "female", "zh"),
]

# Families: parent index into ADULTS (shares the phone), children (given, gender, age in days)
FAMILIES = [
    (1, [("Valentina", "female", 6 * 365), ("Diego", "male", 62)]),  # newborn-ish
    (8, [("Léa", "female", 11 * 365 + 40)]),
    (9, [("Widlyne", "female", 15 * 365 + 200), ("Jean-Marc", "male", 3 * 365)]),
    (0, [("Ciarán", "male", 8 * 365 + 10)]),
]
ADULT_AGES_YEARS = [
    34,
    41,
    29,
    52,
    23,
    67,
    45,
    38,
    44,
    47,
    71,
    31,
    56,
    63,
    19,
    27,
    82,
    36,
    25,
    58,
    49,
    33,
    77,
    21,
    40,
    54,
    30,
    88,
    61,
    46,
    35,
    69,
    50,
    74,
    42,
    95,
]
AREA_CODES = ("212", "718", "917", "646", "347")
NO_PHONE = {13, 22, 27, 31, 35}  # adults without any phone on file


@dataclass(frozen=True)
class SeededPatient:
    """What the other generators need to know about a patient."""

    id: str
    age_years: int
    gender: str
    phone: str | None


def _phone(i: int) -> str:
    """Unique fictional (555-01xx) numbers: 50 per area code."""
    return f"+1{AREA_CODES[i // 50 % len(AREA_CODES)]}5550{150 + i % 50:03d}"


def _birth(ctx: SeedContext, days_old: int) -> date:
    return ctx.today - timedelta(days=days_old)


def _patient(
    ctx: SeedContext,
    n: int,
    given: str,
    family: str,
    gender: str,
    lang: str,
    birth: date,
    phone: str | None,
) -> Resource:
    mrn = f"MRN{100000 + n}"
    res: Resource = {
        "resourceType": "Patient",
        "id": f"pat-{n:03d}",
        "active": True,
        "identifier": [
            {
                "use": "usual",
                "type": concept(codes.V2_0203, "MR", "Medical record number"),
                "system": codes.MRN_SYSTEM,
                "value": mrn,
            }
        ],
        "name": [{"use": "official", "family": family, "given": given.split(" ")}],
        "gender": gender,
        "birthDate": birth.isoformat(),
        "address": [
            {
                "use": "home",
                "line": [f"{10 + n * 7} {ctx.rng.choice(STREETS)}"],
                "city": "New York",
                "state": "NY",
                "postalCode": ctx.rng.choice(ZIPS),
                "country": "US",
            }
        ],
        "communication": [
            {"language": concept("urn:ietf:bcp:47", lang, LANG[lang]), "preferred": True}
        ],
        "managingOrganization": ref("Organization", "org-riverside", "Riverside Community Health"),
    }
    if phone:
        res["telecom"] = [{"system": "phone", "value": phone, "use": "mobile", "rank": 1}]
    return res


GUARDIANS = {"Tyrone": "Marlene", "Maëlle": "Sébastien"}
STREETS = (
    "Amsterdam Ave",
    "Bedford Ave",
    "Grand Concourse",
    "Jamaica Ave",
    "Ocean Pkwy",
    "Broadway",
    "Fulton St",
    "Queens Blvd",
    "St. Nicholas Ave",
    "Court St",
)
ZIPS = ("10025", "11211", "10451", "11432", "11223", "10034", "11201", "11375")


def build_patients(ctx: SeedContext) -> list[SeededPatient]:
    """Add patients, guardians and RelatedPersons; return them for the clinical generators."""
    out: list[SeededPatient] = []
    parents: dict[int, tuple[str, Resource]] = {}
    for i, (given, family, gender, lang) in enumerate(ADULTS):
        n = i + 1
        age = ADULT_AGES_YEARS[i]
        phone = None if i in NO_PHONE else _phone(i)
        birth = _birth(ctx, age * 365 + ctx.rng.randint(0, 364))
        res = ctx.add(_patient(ctx, n, given, family, gender, lang, birth, phone))
        parents[i] = (lang, res)
        out.append(SeededPatient(res["id"], age, gender, phone))
    n = len(ADULTS)
    for parent_idx, children in FAMILIES:
        lang, parent = parents[parent_idx]
        p_given = " ".join(parent["name"][0]["given"])
        p_family = parent["name"][0]["family"]
        phone = parent["telecom"][0]["value"]
        rel = concept(
            "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
            "MTH" if parent["gender"] == "female" else "FTH",
            "mother" if parent["gender"] == "female" else "father",
        )
        for given, gender, days_old in children:
            n += 1
            res = _patient(ctx, n, given, p_family, gender, lang, _birth(ctx, days_old), phone)
            res["contact"] = [
                {
                    "relationship": [
                        rel,
                        concept(
                            "http://terminology.hl7.org/CodeSystem/v2-0131", "N", "Next-of-Kin"
                        ),
                    ],
                    "name": {"family": p_family, "given": p_given.split(" ")},
                    "telecom": [{"system": "phone", "value": phone, "use": "mobile"}],
                }
            ]
            ctx.add(res)
            ctx.add(
                {
                    "resourceType": "RelatedPerson",
                    "id": f"rp-{n:03d}",
                    "active": True,
                    "patient": ref("Patient", res["id"], f"{given} {p_family}"),
                    "relationship": [
                        rel,
                        concept(
                            "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "GUARD", "guardian"
                        ),
                    ],
                    "name": [{"family": p_family, "given": p_given.split(" ")}],
                    "telecom": [{"system": "phone", "value": phone, "use": "mobile"}],
                    "gender": parent["gender"],
                }
            )
            out.append(SeededPatient(res["id"], days_old // 365, gender, phone))
    # more single adults and teens so there are >= 50 patients across all ages
    extra = [
        ("Tyrone", "Baptiste", "male", "en", 16),
        ("Maëlle", "Girard", "female", "fr", 13),
        ("Ravi", "Subramanian", "male", "en", 60),
        ("Gráinne", "Fitzgerald", "female", "en", 39),
        ("Pedro", "Álvarez", "male", "es", 72),
        ("Keisha", "Brown-Williams", "female", "en", 28),
        ("Yosef", "Ben-David", "male", "en", 55),
        ("Amélie", "Côté", "female", "fr", 18),
        ("Hiroshi", "Tanaka", "male", "en", 66),
    ]
    for given, family, gender, lang, age in extra:
        n += 1
        phone = _phone(n + 37)
        birth = _birth(ctx, age * 365 + ctx.rng.randint(0, 364))
        res = _patient(ctx, n, given, family, gender, lang, birth, phone)
        if age < 18:  # a minor with their own phone still has a legal guardian on file
            res["contact"] = [
                {
                    "relationship": [
                        concept(
                            "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "GUARD", "guardian"
                        )
                    ],
                    "name": {"family": family, "given": [GUARDIANS[given]]},
                    "telecom": [{"system": "phone", "value": _phone(n + 90), "use": "mobile"}],
                }
            ]
        ctx.add(res)
        out.append(SeededPatient(f"pat-{n:03d}", age, gender, phone))
    return out
