"""The synthetic clinic: content, determinism, --if-empty and the Synthea importer."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from fhirclient.models.fhirelementfactory import FHIRElementFactory

from backend.ehr import FhirHttpEhr
from backend.ehr.seed.__main__ import main as seed_main
from backend.ehr.seed.clinic import site_by_key
from backend.ehr.seed.common import is_holiday
from backend.ehr.seed.generate import generate_clinic

from .conftest import SEED_NOW
from .servers import RunningServer

SYNTHEA = Path(__file__).resolve().parents[3] / "shared" / "data" / "fhir" / "synthea_r4"
NY = ZoneInfo("America/New_York")
E164 = re.compile(r"^\+[1-9]\d{7,14}$")


@pytest.fixture(scope="module")
def clinic() -> list[dict]:
    return generate_clinic(seed=42, now=SEED_NOW)


def _of(resources: list[dict], rtype: str) -> list[dict]:
    return [r for r in resources if r["resourceType"] == rtype]


def test_the_same_seed_and_now_give_the_same_clinic(clinic: list[dict]) -> None:
    assert generate_clinic(seed=42, now=SEED_NOW) == clinic
    assert generate_clinic(seed=7, now=SEED_NOW) != clinic


def test_a_patients_record_is_the_same_on_the_next_days(clinic: list[dict]) -> None:
    """The slot window holds a different number of weekdays from day to day; that must not
    reshuffle who has which results and medicines (tests name patients by what they hold)."""

    def holdings(resources: list[dict]) -> dict[str, Counter[str]]:
        held: dict[str, Counter[str]] = {}
        for r in resources:
            subject = (r.get("subject") or r.get("participant", [{}])[0].get("actor") or {}).get(
                "reference", ""
            )
            if subject.startswith("Patient/"):
                held.setdefault(subject, Counter())[r["resourceType"]] += 1
        return held

    today = holdings(clinic)
    for days in (1, 2, 5):
        later = holdings(generate_clinic(seed=42, now=SEED_NOW + timedelta(days=days)))
        assert later == today


def test_every_seeded_resource_is_valid_r4(clinic: list[dict]) -> None:
    for r in clinic:
        FHIRElementFactory.instantiate(r["resourceType"], r)


def test_directory_has_clinics_specialties_and_clinicians_at_two_sites(clinic: list[dict]) -> None:
    assert len(_of(clinic, "Location")) >= 3 and len(_of(clinic, "Organization")) >= 3
    assert len(_of(clinic, "Practitioner")) >= 15
    roles = _of(clinic, "PractitionerRole")
    specialties = {c["code"] for r in roles for s in r["specialty"] for c in s["coding"]}
    assert len(specialties) >= 6
    per_practitioner = Counter(r["practitioner"]["reference"] for r in roles)
    assert any(n >= 2 for n in per_practitioner.values())


def test_patients_cover_names_ages_phones_and_languages(clinic: list[dict]) -> None:
    patients = _of(clinic, "Patient")
    assert len(patients) >= 50
    names = " ".join(n["family"] + " " + " ".join(n["given"]) for p in patients for n in p["name"])
    assert "'" in names and "-" in names and re.search(r"[À-ž]", names)
    phones = [t["value"] for p in patients for t in p.get("telecom", [])]
    assert all(E164.match(v) for v in phones)
    assert any(n > 1 for n in Counter(phones).values()), "a family shares a phone"
    assert any("telecom" not in p for p in patients), "some have no phone"
    years = [SEED_NOW.year - int(p["birthDate"][:4]) for p in patients]
    assert min(years) <= 1 and max(years) >= 85
    children = [p for p in patients if SEED_NOW.year - int(p["birthDate"][:4]) < 18]
    assert children and all(p.get("contact") for p in children)
    assert len({p["communication"][0]["language"]["coding"][0]["code"] for p in patients}) >= 5
    assert _of(clinic, "RelatedPerson")


def test_labs_are_recent_with_flags_and_some_preliminary(clinic: list[dict]) -> None:
    reports = _of(clinic, "DiagnosticReport")
    panels = {r["code"]["coding"][0]["code"] for r in reports}
    assert {"58410-2", "24323-8", "57698-3", "4548-4", "3016-3", "24356-8"} <= panels
    assert any(r["status"] == "preliminary" for r in reports)
    oldest = min(datetime.fromisoformat(r["effectiveDateTime"]) for r in reports)
    assert oldest >= SEED_NOW - timedelta(days=90)
    flags = Counter(o["interpretation"][0]["coding"][0]["code"] for o in _of(clinic, "Observation"))
    assert flags["N"] and (flags["H"] + flags["L"]) and 1 <= flags["HH"] + flags["LL"] <= 10


def test_medications_and_appointments_cover_every_case(clinic: list[dict]) -> None:
    meds = _of(clinic, "MedicationRequest")
    remaining = [m["dispenseRequest"]["extension"][0]["valueUnsignedInt"] for m in meds]
    assert 0 in remaining and any(n > 0 for n in remaining)
    ends = [datetime.fromisoformat(m["dispenseRequest"]["validityPeriod"]["end"]) for m in meds]
    assert any(e < SEED_NOW for e in ends)
    assert any("extension" in m for m in meds), "a controlled substance"
    appts = _of(clinic, "Appointment")
    starts = [datetime.fromisoformat(a["start"]) for a in appts]
    assert any(s > SEED_NOW for s in starts) and any(s < SEED_NOW for s in starts)


def test_slots_are_15_or_30_minutes_for_8_weeks_and_some_busy(clinic: list[dict]) -> None:
    slots = _of(clinic, "Slot")
    lengths = {
        (datetime.fromisoformat(s["end"]) - datetime.fromisoformat(s["start"])).seconds // 60
        for s in slots
    }
    assert lengths == {15, 30}
    last = max(datetime.fromisoformat(s["start"]) for s in slots)
    assert last > SEED_NOW + timedelta(weeks=7)
    assert Counter(s["status"] for s in slots)["busy"] > 0


def test_slots_keep_opening_hours_and_skip_lunch_weekends_and_public_holidays() -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=NY)  # the 8 weeks hold Thanksgiving, Christmas, 1/1
    clinic = generate_clinic(seed=42, now=now)
    site_of = {
        f"Schedule/{s['id']}": site_by_key(a["reference"].removeprefix("Location/loc-"))
        for s in _of(clinic, "Schedule")
        for a in s["actor"]
        if a["reference"].startswith("Location/")
    }
    days: Counter[date] = Counter()
    for s in _of(clinic, "Slot"):
        start = datetime.fromisoformat(s["start"]).astimezone(NY)
        end = datetime.fromisoformat(s["end"]).astimezone(NY)
        site = site_of[s["schedule"]["reference"]]
        opens, closes = site.hours[start.weekday()]
        assert opens <= start.time() and end.time() <= closes, s["id"]
        assert end.time() <= time(12) or start.time() >= time(13), f"lunch: {s['id']}"
        days[start.date()] += 1
    holidays = [date(2026, 11, 26), date(2026, 12, 25), date(2027, 1, 1)]
    assert all(is_holiday(d) and days[d] == 0 for d in holidays)
    assert days[date(2026, 11, 25)] > 0 and days[date(2026, 12, 24)] > 0
    assert not any(d.weekday() == 6 for d in days), "closed on Sundays"


def test_if_empty_does_nothing_on_a_seeded_server_but_says_when_it_is_stale(
    sekmet_server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert seed_main(["--base-url", sekmet_server.base_url, "--if-empty"]) == 0
    out = capsys.readouterr().out
    assert "already seeded" in out and "make seed" not in out
    later = (SEED_NOW + timedelta(days=30)).isoformat()
    assert seed_main(["--base-url", sekmet_server.base_url, "--if-empty", "--now", later]) == 0
    assert "generated 30 days ago" in capsys.readouterr().out


def _synthea_files(n: int) -> list[Path]:
    return sorted(SYNTHEA.glob("*.json"), key=lambda p: p.stat().st_size)[:n]


def _file_resources(path: Path, rtype: str) -> list[dict]:
    bundle = json.loads(path.read_text(encoding="utf-8"))
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def _last_encounter_end(path: Path) -> datetime:
    return max(
        datetime.fromisoformat(e["period"]["end"]) for e in _file_resources(path, "Encounter")
    )


@pytest.fixture(scope="module")
def synthea_patients(sekmet_server: RunningServer) -> list[dict]:
    """The two smallest Synthea bundles imported into sekmet; their Patients as in the files."""
    if not SYNTHEA.exists():
        pytest.skip("shared/data/fhir/synthea_r4 is not present")
    args = ["--base-url", sekmet_server.base_url, "--import", str(SYNTHEA), "--limit", "2"]
    assert seed_main(args) == 0
    return [_file_resources(f, "Patient")[0] for f in _synthea_files(2)]


def test_synthea_import_shifts_every_date_so_the_record_ends_yesterday(
    sekmet_server: RunningServer, synthea_patients: list[dict]
) -> None:
    original = synthea_patients[0]
    path = _synthea_files(1)[0]
    last = _last_encounter_end(path)
    stored = httpx.get(
        f"{sekmet_server.base_url}/Encounter",
        params={"patient": f"Patient/{original['id']}", "_sort": "-date", "_count": "1"},
    ).json()["entry"][0]["resource"]
    shifted_last = datetime.fromisoformat(stored["period"]["end"].replace("Z", "+00:00"))
    assert abs(shifted_last - (datetime.now(timezone.utc) - timedelta(days=1))) < timedelta(hours=1)
    delta = shifted_last - last
    patient = httpx.get(f"{sekmet_server.base_url}/Patient/{original['id']}").json()
    born = date.fromisoformat(patient["birthDate"]) - date.fromisoformat(original["birthDate"])
    assert born.days == delta.days, "birth date moves with the record: ages stay consistent"


async def test_an_imported_patient_is_found_by_phone_with_recent_results(
    sekmet_server: RunningServer, synthea_patients: list[dict]
) -> None:
    original = synthea_patients[1]
    national = original["telecom"][0]["value"]  # Synthea writes 555-480-6422
    async with FhirHttpEhr(sekmet_server.base_url) as ehr:
        found = await ehr.find_patients_by_phone(national)
        assert [p.id for p in found] == [original["id"]]
        assert found[0].phones[0].startswith("+1")
        reports = await ehr.released_lab_reports(patient_id=original["id"])
    assert reports and all(r.results for r in reports)
    path = _synthea_files(2)[1]
    shift = datetime.now(timezone.utc) - timedelta(days=1) - _last_encounter_end(path)
    newest_in_file = max(
        datetime.fromisoformat(r["effectiveDateTime"])
        for r in _file_resources(path, "DiagnosticReport")
    )
    newest = max(r.effective for r in reports if r.effective)
    assert abs(newest - (newest_in_file + shift)) < timedelta(hours=1)
