"""The clinic directory: Organizations, Locations (with hours and time zone), Practitioners,
PractitionerRoles and one Schedule per clinician, clinic and specialty."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from .. import codes
from .common import TZ_NAME, Resource, SeedContext, concept, ref

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Site:
    """A clinic site and its opening hours per weekday (0 = Monday)."""

    key: str
    name: str
    neighbourhood: str
    line: str
    postal: str
    phone: str
    hours: dict[int, tuple[time, time]]


SITES = (
    Site(
        "harborview",
        "Riverside Health – Harborview",
        "Harborview",
        "120 Wharf Street",
        "10280",
        "+12125550140",
        {d: (time(8), time(18)) for d in range(5)} | {5: (time(9), time(13))},
    ),
    Site(
        "elm-park",
        "Riverside Health – Elm Park",
        "Elm Park",
        "48 Linden Avenue, Suite 200",
        "11375",
        "+17185550162",
        {d: (time(8, 30), time(17)) for d in range(5)},
    ),
    Site(
        "northgate",
        "Riverside Health – Northgate",
        "Northgate",
        "3301 Northgate Boulevard",
        "10471",
        "+17185550177",
        {d: (time(9), time(19)) for d in range(4)} | {4: (time(9), time(15))},
    ),
)

FAM, PED, CARD, DERM, ORTHO, WOMEN, ENDO = (
    "419772000",
    "394537008",
    "394579002",
    "394582007",
    "394801008",
    "394586005",
    "394583002",
)


@dataclass(frozen=True)
class Clinician:
    """A practitioner, their specialty, slot length and where/when they work (site -> weekdays)."""

    key: str
    prefix: str
    given: str
    family: str
    gender: str
    specialty: str
    slot_minutes: int
    sites: dict[str, tuple[int, ...]]


CLINICIANS = (
    Clinician("01", "Dr.", "Amara", "Okafor", "female", FAM, 15, {"harborview": (0, 1, 2, 3)}),
    Clinician(
        "02",
        "Dr.",
        "Liam",
        "O'Sullivan",
        "male",
        FAM,
        15,
        {"harborview": (4, 5), "elm-park": (0, 1, 2)},
    ),
    Clinician("03", "Dr.", "Mei-Ling", "Chen", "female", FAM, 15, {"elm-park": (1, 2, 3, 4)}),
    Clinician("04", "Dr.", "José", "Ramírez", "male", FAM, 15, {"northgate": (0, 1, 2, 3)}),
    Clinician(
        "05",
        "Dr.",
        "Priya",
        "Raghunathan",
        "female",
        PED,
        15,
        {"harborview": (0, 2), "northgate": (1, 3)},
    ),
    Clinician("06", "Dr.", "Noah", "Abernathy-Reyes", "male", PED, 15, {"elm-park": (0, 1, 3, 4)}),
    Clinician("07", "Dr.", "Chloé", "Dubois", "female", PED, 15, {"northgate": (0, 2, 4)}),
    Clinician("08", "Dr.", "Samuel", "Adeyemi", "male", CARD, 30, {"harborview": (1, 3)}),
    Clinician("09", "Dr.", "Ingrid", "Løvaas", "female", CARD, 30, {"northgate": (0, 2)}),
    Clinician("10", "Dr.", "Rafael", "D'Amico", "male", DERM, 30, {"elm-park": (2,)}),
    Clinician("11", "Dr.", "Hannah", "Goldberg", "female", ORTHO, 30, {"harborview": (0, 2, 4)}),
    Clinician(
        "12", "Dr.", "Kwame", "Mensah", "male", ORTHO, 30, {"elm-park": (1,), "northgate": (3,)}
    ),
    Clinician(
        "13",
        "Dr.",
        "Sofía",
        "Hernández-López",
        "female",
        WOMEN,
        30,
        {"harborview": (1, 3), "elm-park": (4,)},
    ),
    Clinician("14", "Dr.", "Aisling", "Ní Bhriain", "female", WOMEN, 30, {"northgate": (1, 2)}),
    Clinician("15", "Dr.", "Tomasz", "Wiśniewski", "male", ENDO, 30, {"elm-park": (0, 3)}),
    Clinician("16", "Dr.", "Fatima", "Al-Sayed", "female", ENDO, 30, {"harborview": (2,)}),
    Clinician(
        "17", "NP", "Grace", "Kim", "female", FAM, 15, {"northgate": (4,), "harborview": (0,)}
    ),
)

SCARCE_SPECIALTY = DERM  # one clinician, one day a week, booked solid for the first weeks


def display_name(c: Clinician) -> str:
    """How the assistant names the clinician."""
    return f"{c.prefix} {c.given} {c.family}"


def site_by_key(key: str) -> Site:
    """The Site with this key."""
    return next(s for s in SITES if s.key == key)


def _specialty(code: str) -> dict:
    name = codes.SPECIALTIES[code]
    return concept(codes.SNOMED, code, name, name)


def build_directory(ctx: SeedContext) -> list[Resource]:
    """Add the organizations, clinics, practitioners, roles and schedules; return the Schedules."""
    parent = ctx.add(
        {
            "resourceType": "Organization",
            "id": "org-riverside",
            "active": True,
            "name": "Riverside Community Health",
            "identifier": [{"system": codes.SEED_TAG_SYSTEM, "value": "org-riverside"}],
            "telecom": [{"system": "phone", "value": "+12125550100", "use": "work"}],
        }
    )
    for s in SITES:
        ctx.add(
            {
                "resourceType": "Organization",
                "id": f"org-{s.key}",
                "active": True,
                "name": s.name,
                "partOf": ref("Organization", parent["id"], parent["name"]),
                "telecom": [{"system": "phone", "value": s.phone, "use": "work"}],
                "address": [
                    {
                        "line": [s.line],
                        "city": "New York",
                        "state": "NY",
                        "postalCode": s.postal,
                        "country": "US",
                    }
                ],
            }
        )
        hours = [
            {
                "daysOfWeek": [DAYS[d]],
                "openingTime": f"{o:%H:%M:%S}",
                "closingTime": f"{c:%H:%M:%S}",
            }
            for d, (o, c) in sorted(s.hours.items())
        ]
        ctx.add(
            {
                "resourceType": "Location",
                "id": f"loc-{s.key}",
                "status": "active",
                "name": s.name,
                "alias": [s.neighbourhood],
                "mode": "instance",
                "extension": [{"url": codes.EXT_TIMEZONE, "valueCode": TZ_NAME}],
                "description": f"Primary and specialty care in {s.neighbourhood}",
                "telecom": [{"system": "phone", "value": s.phone, "use": "work"}],
                "address": {
                    "use": "work",
                    "line": [s.line],
                    "city": "New York",
                    "state": "NY",
                    "postalCode": s.postal,
                    "country": "US",
                    "district": s.neighbourhood,
                },
                "managingOrganization": ref("Organization", f"org-{s.key}", s.name),
                "hoursOfOperation": hours,
            }
        )
    schedules = []
    for c in CLINICIANS:
        name = display_name(c)
        ctx.add(
            {
                "resourceType": "Practitioner",
                "id": f"prac-{c.key}",
                "active": True,
                "gender": c.gender,
                "identifier": [
                    {"system": "http://hl7.org/fhir/sid/us-npi", "value": f"19900000{c.key}"}
                ],
                "name": [
                    {
                        "use": "official",
                        "family": c.family,
                        "given": [c.given],
                        "prefix": [c.prefix],
                    }
                ],
                "telecom": [{"system": "phone", "value": "+12125550100", "use": "work"}],
            }
        )
        for site_key, days in c.sites.items():
            site = site_by_key(site_key)
            ctx.add(
                {
                    "resourceType": "PractitionerRole",
                    "id": f"role-{c.key}-{site.key}",
                    "active": True,
                    "practitioner": ref("Practitioner", f"prac-{c.key}", name),
                    "organization": ref("Organization", f"org-{site.key}", site.name),
                    "location": [ref("Location", f"loc-{site.key}", site.name)],
                    "code": [
                        concept(
                            "http://terminology.hl7.org/CodeSystem/practitioner-role",
                            "nurse" if c.prefix == "NP" else "doctor",
                            "Nurse" if c.prefix == "NP" else "Doctor",
                        )
                    ],
                    "specialty": [_specialty(c.specialty)],
                    "availableTime": [
                        {
                            "daysOfWeek": [DAYS[d] for d in days],
                            "availableStartTime": f"{site.hours[days[0]][0]:%H:%M:%S}",
                        }
                    ],
                    "telecom": [{"system": "phone", "value": site.phone, "use": "work"}],
                }
            )
            schedules.append(
                ctx.add(
                    {
                        "resourceType": "Schedule",
                        "id": f"sched-{c.key}-{site.key}",
                        "active": True,
                        "specialty": [_specialty(c.specialty)],
                        "actor": [
                            ref("Practitioner", f"prac-{c.key}", name),
                            ref("Location", f"loc-{site.key}", site.name),
                        ],
                        "comment": f"{name} at {site.name}: {c.slot_minutes}-minute slots",
                    }
                )
            )
    return schedules
