"""IDOR sweep: a conversation verified as patient A asks every /internal route for patient B.

The routes are read from the app itself (its OpenAPI description), so every internal route
added later (appointments, results, medications, refills, …) is swept without editing this
file. Each request names B wherever it can: `for_patient`, any patient id, and B's own
appointment, report, medication and task ids in paths and bodies. Whatever the route, B's
data must not come back, and the EHR must not have been asked to read or change B's record
(every read and write there leaves an AuditEvent naming the patient).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.core.config import Settings
from backend.ehr.fake import InMemoryEhr
from backend.identity.access import record_verification
from tests.backend.identity_world import MATEO, World, world_for

ZOE = "pat-003"
STRANGER = "pat-005"  # an adult with appointments, results and medications
OTHER_FAMILYS_CHILD = "pat-040"  # Jean-Baptiste Pierre-Louis's daughter, not in Mateo's care


@dataclass(frozen=True)
class Target:
    """What the sweep knows about patient B."""

    patient_id: str
    ids: dict[str, list[str]]  # resource type -> B's resource ids
    secrets: list[str]  # values that must never come back: names, phones, MRN


def target(ehr: InMemoryEhr, patient_id: str) -> Target:
    def owned(rtype: str) -> list[str]:
        return [r["id"] for r in ehr._all(rtype) if f"Patient/{patient_id}" in str(r)]

    patient = ehr.resource("Patient", patient_id)
    name = patient["name"][0]
    secrets = [name["family"], *name["given"]]
    secrets += [t["value"] for t in patient.get("telecom", [])]
    secrets += [i["value"] for i in patient.get("identifier", [])]
    ids = {
        rtype: owned(rtype)
        for rtype in ("Appointment", "DiagnosticReport", "MedicationRequest", "Task", "Slot")
    }
    assert ids["Appointment"] and ids["DiagnosticReport"] and ids["MedicationRequest"]
    return Target(patient_id, ids, secrets)


def id_for(name: str, b: Target) -> str:
    """B's id of the kind a parameter's name asks for (a patient id when it does not say)."""
    lowered = name.lower()
    for hint, rtype in (
        ("appointment", "Appointment"),
        ("report", "DiagnosticReport"),
        ("result", "DiagnosticReport"),
        ("medication", "MedicationRequest"),
        ("refill", "Task"),
        ("task", "Task"),
        ("slot", "Slot"),
    ):
        if hint in lowered and b.ids.get(rtype):
            return b.ids[rtype][0]
    return b.patient_id


def fill(schema: dict[str, Any], name: str, spec: dict[str, Any], a_conv: str, b: Target) -> Any:
    """A value for one field: A's conversation, B's ids, or something plausible."""
    spec = resolve(schema, spec)
    if "anyOf" in spec:
        spec = resolve(schema, next(s for s in spec["anyOf"] if s.get("type") != "null"))
    if name == "conversation_id":
        return a_conv
    if "enum" in spec:
        return spec["enum"][0]
    kind, fmt = spec.get("type"), spec.get("format")
    if kind == "string" and fmt == "date":
        return "2000-01-01"
    if kind == "string" and fmt == "date-time":
        return "2030-01-07T10:00:00Z"
    if kind == "string":
        if "pattern" in spec and "\\d" in spec["pattern"]:
            return "123456"
        return id_for(name, b) if ("id" in name or "patient" in name) else "x"
    if kind == "integer":
        return max(int(spec.get("minimum", 1)), 1)
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return [fill(schema, name, spec.get("items", {}), a_conv, b)] if "id" in name else []
    if kind == "object" or "properties" in spec:
        return body_for(schema, spec, a_conv, b)
    return "x"


def resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in spec:
        spec = schema["components"]["schemas"][spec["$ref"].rsplit("/", 1)[-1]]
    return spec


def body_for(schema: dict[str, Any], spec: dict[str, Any], a_conv: str, b: Target) -> Any:
    spec = resolve(schema, spec)
    props: dict[str, Any] = spec.get("properties", {})
    body = {name: fill(schema, name, field, a_conv, b) for name, field in props.items()}
    for name in props:
        if "patient" in name:  # for_patient, patient_id, …: always B
            body[name] = b.patient_id
    return body


def requests_for(app_schema: dict[str, Any], a_conv: str, b: Target) -> Iterator[dict[str, Any]]:
    for path, methods in app_schema["paths"].items():
        if not path.startswith("/internal"):
            continue
        for method, operation in methods.items():
            url = path
            query: dict[str, Any] = {}
            for param in operation.get("parameters", []):
                value = fill(app_schema, param["name"], param.get("schema", {}), a_conv, b)
                if "patient" in param["name"]:
                    value = b.patient_id
                if param["in"] == "path":
                    url = url.replace("{" + param["name"] + "}", str(value))
                elif param["in"] == "query":
                    query[param["name"]] = value
            body = None
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = body_for(app_schema, content["application/json"]["schema"], a_conv, b)
            yield {"method": method.upper(), "url": url, "params": query, "json": body}


def b_events(ehr: InMemoryEhr, b: Target, since: int) -> list[dict[str, Any]]:
    """AuditEvents after `since` that name B: the EHR read or changed B's record."""
    wanted = f"Patient/{b.patient_id}"
    return [
        event
        for event in ehr.audit_log[since:]
        if any(entity.get("what", {}).get("reference") == wanted for entity in event["entity"])
    ]


def sweep(world: World, a_conv: str, reverify: Callable[[], None], b: Target) -> list[str]:
    """Every internal request for B from A's conversation; the routes swept. `reverify` runs
    before each request, so a route that ends the verification (log out) spoils no other."""
    client = TestClient(world.client.app, raise_server_exceptions=False)
    schema = world.client.app.openapi()  # type: ignore[attr-defined]
    swept = []
    for request in requests_for(schema, a_conv, b):
        reverify()
        before = len(world.ehr.audit_log)
        response = client.request(headers=world.headers, **request)
        where = f"{request['method']} {request['url']}"
        swept.append(where)
        assert response.status_code < 500 or response.status_code == 503, (where, response.text)
        if response.status_code < 400:
            leaked = [s for s in b.secrets if s in response.text]
            assert not leaked, (where, "B's data came back")
            for rtype in ("DiagnosticReport", "MedicationRequest"):
                assert not any(rid in response.text for rid in b.ids[rtype]), (where, rtype)
        assert b_events(world.ehr, b, before) == [], (where, "the EHR was asked for B's record")
    return swept


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    with world_for(settings) as made:
        yield made


def verified(
    world: World, patient_id: str, dependants: frozenset[str] = frozenset()
) -> tuple[str, Callable[[], None]]:
    """A's conversation, and how to (re)verify it as A."""
    conversation = world.conversation("sms", world.patient(patient_id).phones[0])

    def reverify() -> None:
        with world.services.session_factory() as session:
            record_verification(
                session=session,
                cipher=world.services.cipher,
                conversation_id=conversation,
                patient_id=patient_id,
                dependants=dependants,
            )

    return conversation, reverify


def test_a_verified_patient_reaches_nothing_of_another_patient(world: World) -> None:
    swept = sweep(world, *verified(world, ZOE), target(world.ehr, STRANGER))
    assert any(route.startswith("POST /internal/identity/") for route in swept)
    assert len(swept) >= 6


def test_a_parent_reaches_nothing_of_another_familys_child(world: World) -> None:
    mateo = verified(world, MATEO, frozenset({"pat-037", "pat-038"}))
    sweep(world, *mateo, target(world.ehr, OTHER_FAMILYS_CHILD))


def test_an_unverified_conversation_reaches_nothing_at_all(world: World) -> None:
    stranger = world.conversation("rest", "someone")
    sweep(world, stranger, lambda: None, target(world.ehr, STRANGER))


def test_the_sweep_would_see_a_leak(world: World) -> None:
    """Verified as B itself, B's own data comes back: the sweep must notice, or it proves
    nothing when it passes. Skipped until a route that returns patient data exists."""
    b = target(world.ehr, STRANGER)
    schema = world.client.app.openapi()  # type: ignore[attr-defined]
    data_routes = [
        p for p in schema["paths"] if p.startswith("/internal/") and "/identity/" not in p
    ]
    if not any(("records" in p or "appointments" in p) for p in data_routes):
        pytest.skip("no patient-data route mounted yet")
    with pytest.raises(AssertionError):
        sweep(world, *verified(world, STRANGER), b)
