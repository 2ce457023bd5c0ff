"""Patient lookup and the clinic directory over FHIR (Patient, Location, PractitionerRole)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import phonenumbers
from fhirclient.models.location import Location
from fhirclient.models.patient import Patient
from fhirclient.models.practitionerrole import PractitionerRole

from . import builders, codes, mapping
from .domain import Clinic, Clinician, PatientSummary
from .errors import EhrRejected
from .fhir_base import FhirBase
from .parse import bundle_resources, concept_text, first_coding_code, ref_id


def normalize_phone(phone: str, default_region: str = "US") -> str:
    """E.164 form of a phone number; raises EhrRejected when it is not a valid number."""
    try:
        parsed = phonenumbers.parse(phone, None if phone.startswith("+") else default_region)
    except phonenumbers.NumberParseException as e:
        raise EhrRejected("Patient", "find by phone", 400, f"not a phone number: {e}") from e
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class PatientOps(FhirBase):
    """Finding patients, and listing clinics and clinicians."""

    async def record_audit_event(
        self, *, action: str, succeeded: bool, patient_id: str | None = None
    ) -> None:
        """An AuditEvent for an assistant action outside a FHIR call (see the port)."""
        event = builders.assistant_audit_event(
            agent=self._audit_agent, action=action, succeeded=succeeded, patient_id=patient_id
        )
        await self._create(event, "audit")

    async def _patients(
        self, params: list[tuple[str, str]], operation: str
    ) -> list[PatientSummary]:
        bundle = await self._search("Patient", [*params, ("_count", "50")], operation)
        patients = [mapping.patient_summary(p) for p in bundle_resources(bundle, "Patient")]
        await self._audit(
            subtype="search-type",
            patient_ids=[p.id for p in patients],
            query=f"Patient?{'&'.join(k for k, _ in params)}",
        )
        return patients

    async def find_patients_by_phone(self, phone: str) -> list[PatientSummary]:
        """Patients whose telecom has this phone (a family can share one; [] if none)."""
        e164 = normalize_phone(phone)
        found = await self._patients([("phone", e164)], "find by phone")
        return [p for p in found if e164 in p.phones]

    async def find_patient_by_identifier(
        self, *, identifier: str, birth_date: date
    ) -> PatientSummary | None:
        """The patient with this MRN (or other identifier value) and birth date, or None."""
        found = await self._patients(
            [("identifier", identifier.strip()), ("birthdate", birth_date.isoformat())],
            "find by identifier",
        )
        found = [p for p in found if p.birth_date == birth_date]
        return found[0] if len(found) == 1 else None

    async def find_patients_by_name(
        self, *, family: str, given: str | None, birth_date: date
    ) -> list[PatientSummary]:
        """Patients matching family name (+ given name prefix) and birth date."""
        params = [("family", family.strip()), ("birthdate", birth_date.isoformat())]
        if given:
            params.append(("given", given.strip()))
        found = await self._patients(params, "find by name")
        return [p for p in found if p.birth_date == birth_date]

    async def get_patient(self, patient_id: str) -> PatientSummary:
        """One patient by id; raises NotFound."""
        model, _, _ = await self._read(Patient, patient_id, "read patient")
        await self._audit(subtype="read", patient_ids=[patient_id])
        return mapping.patient_summary(model)

    async def list_clinics(self) -> list[Clinic]:
        """Active clinic sites (Locations), by name."""
        bundle = await self._search_cached(
            "Location", [("status", "active"), ("_count", "200")], "list clinics"
        )
        locs: list[Location] = bundle_resources(bundle, "Location")
        return sorted((mapping.clinic(x) for x in locs), key=lambda c: c.name)

    async def list_clinicians(
        self, *, specialty: str | None = None, location_id: str | None = None
    ) -> list[Clinician]:
        """Practitioners with an active role of this specialty and/or at this clinic."""
        params = [("active", "true"), ("_count", "500")]
        if specialty:
            params.append(("specialty", f"{codes.SNOMED}|{specialty}"))
        if location_id:
            params.append(("location", f"Location/{location_id}"))
        bundle = await self._search_cached("PractitionerRole", params, "list clinicians")
        roles: list[PractitionerRole] = bundle_resources(bundle, "PractitionerRole")
        acc: dict[str, _ClinicianAcc] = {}
        for role in roles:
            pid = ref_id(role.practitioner, "Practitioner") if role.practitioner else None
            if not pid:
                continue
            a = acc.setdefault(pid, _ClinicianAcc(role.practitioner.display or pid))
            for s in role.specialty or []:
                code = first_coding_code(s, codes.SNOMED)
                if code and code not in a.codes:
                    a.codes.append(code)
                    a.names.append(concept_text(s))
            for loc in role.location or []:
                lid = ref_id(loc, "Location")
                if lid and lid not in a.locations:
                    a.locations.append(lid)
        clinicians = [
            Clinician(
                id=pid,
                name=a.name,
                specialties=tuple(a.codes),
                specialty_names=tuple(a.names),
                location_ids=tuple(a.locations),
            )
            for pid, a in acc.items()
        ]
        return sorted(clinicians, key=lambda c: c.name)


@dataclass
class _ClinicianAcc:
    name: str
    codes: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
