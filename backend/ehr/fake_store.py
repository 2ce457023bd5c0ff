"""Storage, patients and directory of the in-memory fake EHR (see `backend.ehr.fake`)."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from fhirclient.models.fhirabstractresource import FHIRAbstractResource
from fhirclient.models.fhirelementfactory import FHIRElementFactory

from . import builders, codes, mapping
from .domain import (
    Clinic,
    Clinician,
    PatientSummary,
)
from .errors import EhrError, NotFound
from .parse import ref_id

Resource = dict[str, Any]
_MIN = datetime.min.replace(tzinfo=timezone.utc)


S = TypeVar("S", bound="FakeStore")


class FakeStore:
    """FHIR JSON in a dict, with the patient and directory operations of the port."""

    """`Ehr` over a dict of FHIR JSON resources; `audit_log` collects the AuditEvents written."""

    def __init__(
        self, resources: Iterable[Resource] = (), *, path: str | Path | None = None
    ) -> None:
        self._db: dict[tuple[str, str], Resource] = {}
        self._path = Path(path) if path else None
        self.audit_log: list[Resource] = []
        self.fail_next: EhrError | None = None
        for r in resources:
            self._put(copy.deepcopy(r))

    @classmethod
    def from_seed(cls: type[S], *, seed: int = 42, now: datetime | None = None) -> S:
        """The synthetic clinic of `backend.ehr.seed`, generated in memory."""
        from .seed.generate import generate_clinic

        return cls(generate_clinic(seed=seed, now=now or datetime.now(timezone.utc)))

    @classmethod
    def from_file(cls: type[S], path: str | Path) -> S:
        """Load a JSON list of resources or a Bundle; `save()` writes changes back."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("resourceType") == "Bundle":
            data = [e["resource"] for e in data.get("entry", []) if "resource" in e]
        return cls(data, path=path)

    def save(self, path: str | Path | None = None) -> None:
        """Write every resource as a JSON list (to the file it was loaded from by default)."""
        target = Path(path) if path else self._path
        if target is None:
            raise ValueError("no file to save to")
        target.write_text(json.dumps(list(self._db.values()), ensure_ascii=False, indent=1))

    # -- storage -------------------------------------------------------------------------------

    def _put(self, r: Resource) -> Resource:
        r.setdefault("id", str(uuid.uuid4()))
        old = self._db.get((r["resourceType"], r["id"]))
        version = int((old or {}).get("meta", {}).get("versionId", "0")) + 1
        r["meta"] = {
            **r.get("meta", {}),
            "versionId": str(version),
            "lastUpdated": builders.now_iso(),
        }
        self._db[(r["resourceType"], r["id"])] = r
        return r

    def _get(self, rtype: str, rid: str) -> Resource:
        if (rtype, rid) not in self._db:
            raise NotFound(rtype, rid)
        return self._db[(rtype, rid)]

    def _all(self, rtype: str, pred: Callable[[Resource], bool] = lambda r: True) -> list[Resource]:
        return [r for (t, _), r in self._db.items() if t == rtype and pred(r)]

    @staticmethod
    def _model(r: Resource) -> Any:
        model: FHIRAbstractResource = FHIRElementFactory.instantiate(r["resourceType"], r)
        return model

    def _check(self) -> None:
        if self.fail_next is not None:
            err, self.fail_next = self.fail_next, None
            raise err

    def _audit(self, subtype: str, patient_ids: list[str]) -> None:
        self.audit_log.append(
            builders.audit_event(
                agent="patient-assistant", subtype=subtype, patient_ids=patient_ids, query=None
            )
        )

    async def record_audit_event(
        self, *, action: str, succeeded: bool, patient_id: str | None = None
    ) -> None:
        """Collect the AuditEvent in `audit_log` (see the port)."""
        self._check()
        self.audit_log.append(
            builders.assistant_audit_event(
                agent="patient-assistant", action=action, succeeded=succeeded, patient_id=patient_id
            )
        )

    def resource(self, rtype: str, rid: str) -> Resource:
        """Raw JSON of a stored resource (for assertions)."""
        return copy.deepcopy(self._get(rtype, rid))

    # -- patients and directory ----------------------------------------------------------------

    def _patients(self, pred: Callable[[Resource], bool]) -> list[PatientSummary]:
        self._check()
        out = [mapping.patient_summary(self._model(r)) for r in self._all("Patient", pred)]
        self._audit("search-type", [p.id for p in out])
        return sorted(out, key=lambda p: p.id)

    async def find_patients_by_phone(self, phone: str) -> list[PatientSummary]:
        """Patients whose telecom has this phone."""
        return self._patients(lambda r: any(t.get("value") == phone for t in r.get("telecom", [])))

    async def find_patient_by_identifier(
        self, *, identifier: str, birth_date: date
    ) -> PatientSummary | None:
        """The patient with this identifier value and birth date, or None."""
        found = self._patients(
            lambda r: (
                r.get("birthDate") == birth_date.isoformat()
                and any(i.get("value") == identifier for i in r.get("identifier", []))
            )
        )
        return found[0] if len(found) == 1 else None

    async def find_patients_by_name(
        self, *, family: str, given: str | None, birth_date: date
    ) -> list[PatientSummary]:
        """Patients by family name (+ given prefix) and birth date (case-insensitive)."""

        def match(r: Resource) -> bool:
            names = r.get("name", [])
            return r.get("birthDate") == birth_date.isoformat() and any(
                n.get("family", "").lower().startswith(family.lower())
                and (
                    not given
                    or any(g.lower().startswith(given.lower()) for g in n.get("given", []))
                )
                for n in names
            )

        return self._patients(match)

    async def get_patient(self, patient_id: str) -> PatientSummary:
        """One patient by id; raises NotFound."""
        self._check()
        p = mapping.patient_summary(self._model(self._get("Patient", patient_id)))
        self._audit("read", [patient_id])
        return p

    async def list_clinics(self) -> list[Clinic]:
        """Active Locations."""
        self._check()
        locs = self._all("Location", lambda r: r.get("status") == "active")
        return sorted((mapping.clinic(self._model(r)) for r in locs), key=lambda c: c.name)

    async def list_clinicians(
        self, *, specialty: str | None = None, location_id: str | None = None
    ) -> list[Clinician]:
        """Practitioners by specialty and/or clinic (from PractitionerRoles)."""
        self._check()
        acc: dict[str, dict[str, Any]] = {}
        for r in self._all("PractitionerRole", lambda r: r.get("active", True)):
            specs = [c["code"] for s in r.get("specialty", []) for c in s.get("coding", [])]
            locs = [ref_id(x, "Location") for x in r.get("location", [])]
            if (specialty and specialty not in specs) or (location_id and location_id not in locs):
                continue
            pid = ref_id(r["practitioner"], "Practitioner") or ""
            a = acc.setdefault(
                pid, {"name": r["practitioner"].get("display", pid), "s": [], "l": []}
            )
            a["s"] += [s for s in specs if s not in a["s"]]
            a["l"] += [x for x in locs if x and x not in a["l"]]
        return sorted(
            (
                Clinician(
                    pid,
                    a["name"],
                    tuple(a["s"]),
                    tuple(codes.SPECIALTIES.get(s, s) for s in a["s"]),
                    tuple(a["l"]),
                )
                for pid, a in acc.items()
            ),
            key=lambda c: c.name,
        )
