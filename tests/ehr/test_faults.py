"""Faults: the EHR down, too slow, answering 500 or garbage -> typed errors, no half writes."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from backend.ehr import (
    EhrBadResponse,
    EhrRejected,
    EhrTimeout,
    EhrUnavailable,
    FhirHttpEhr,
    NotFound,
)

from .servers import RunningServer, free_port

BASE = "http://ehr.test/fhir"
SLOT = {
    "resourceType": "Slot",
    "id": "s1",
    "meta": {"versionId": "1"},
    "status": "free",
    "schedule": {"reference": "Schedule/sc1"},
    "start": "2030-01-07T09:00:00-05:00",
    "end": "2030-01-07T09:15:00-05:00",
}
SCHEDULE = {"resourceType": "Schedule", "id": "sc1", "actor": [{"reference": "Practitioner/p1"}]}


class Recorder:
    """A scripted FHIR server for httpx.MockTransport that records what it was sent."""

    def __init__(self, on_write: httpx.Response) -> None:
        self.requests: list[httpx.Request] = []
        self.on_write = on_write

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "GET" and request.url.path.endswith("/Slot/s1"):
            return httpx.Response(200, json=SLOT)
        if request.method == "GET" and request.url.path.endswith("/Schedule/sc1"):
            return httpx.Response(200, json=SCHEDULE)
        return self.on_write

    @property
    def writes(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method != "GET"]


def _ehr(handler: object, retries: int = 2) -> FhirHttpEhr:
    return FhirHttpEhr(BASE, transport=httpx.MockTransport(handler), read_retries=retries)  # type: ignore[arg-type]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A socket that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(50)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                held.append(conn)
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/fhir"
    stop.set()
    t.join()
    for c in held:
        c.close()
    srv.close()


async def test_an_ehr_that_is_down_raises_ehr_unavailable() -> None:
    ehr = FhirHttpEhr(f"http://127.0.0.1:{free_port()}/fhir", timeout_s=1.0, read_retries=1)
    with pytest.raises(EhrUnavailable) as err:
        await ehr.get_patient("pat-001")
    assert err.value.resource == "Patient" and err.value.operation == "read patient"
    await ehr.aclose()


async def test_an_ehr_that_never_answers_raises_ehr_timeout(silent_server: str) -> None:
    ehr = FhirHttpEhr(silent_server, timeout_s=0.3, read_retries=1)
    with pytest.raises(EhrTimeout) as err:
        await ehr.list_clinics()
    assert isinstance(err.value, EhrUnavailable) and err.value.timeout_s == 0.3
    await ehr.aclose()


async def test_reads_are_retried_a_bounded_number_of_times_on_500() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(
            500,
            json={
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "fatal", "code": "exception", "diagnostics": "db locked"}],
            },
        )

    ehr = _ehr(handler, retries=2)
    with pytest.raises(EhrUnavailable, match="db locked"):
        await ehr.get_patient("pat-001")
    assert len(calls) == 3


async def test_a_booking_that_gets_500_is_not_retried_and_raises() -> None:
    server = Recorder(httpx.Response(500, text="boom"))
    ehr = _ehr(server)
    with pytest.raises(EhrUnavailable):
        await ehr.book(slot_id="s1", patient_id="pat-001")
    assert len(server.writes) == 1
    body = json.loads(server.writes[0].content)
    assert body["type"] == "transaction"  # one atomic request: nothing half-written


async def test_a_booking_that_times_out_is_not_retried() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            raise httpx.ReadTimeout("slow", request=request)
        return Recorder(httpx.Response(500))(request)

    calls: list[httpx.Request] = []

    def counting(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return handler(request)

    with pytest.raises(EhrTimeout, match="may or may not have been applied"):
        await _ehr(counting).book(slot_id="s1", patient_id="pat-001")
    assert sum(1 for c in calls if c.method == "POST") == 1


async def test_malformed_json_raises_bad_response() -> None:
    ehr = _ehr(lambda r: httpx.Response(200, content=b"<html>proxy error</html>"))
    with pytest.raises(EhrBadResponse, match="not JSON"):
        await ehr.list_clinics()


async def test_invalid_fhir_raises_bad_response_naming_the_path() -> None:
    bad = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "Slot",
                    "id": "x",
                    "status": "free",
                    "schedule": {"reference": "Schedule/1"},
                    "start": "next tuesday",
                    "end": "2030-01-01T10:00:00Z",
                }
            }
        ],
    }
    ehr = _ehr(
        lambda r: (
            httpx.Response(200, json=bad)
            if "Slot" in r.url.path
            else httpx.Response(
                200,
                json={
                    "resourceType": "Bundle",
                    "type": "searchset",
                    "entry": [{"resource": SCHEDULE}],
                },
            )
        )
    )
    now = datetime.now(timezone.utc)
    with pytest.raises(EhrBadResponse) as err:
        await ehr.search_free_slots(start=now, end=now + timedelta(days=1))
    assert "entry.0" in str(err.value) and "start" in str(err.value)


async def test_a_wrong_resource_type_is_a_bad_response() -> None:
    ehr = _ehr(lambda r: httpx.Response(200, json={"resourceType": "Observation", "id": "pat-001"}))
    with pytest.raises(EhrBadResponse):
        await ehr.get_patient("pat-001")


async def test_404_raises_not_found_with_the_id() -> None:
    ehr = _ehr(
        lambda r: httpx.Response(404, json={"resourceType": "OperationOutcome", "issue": []})
    )
    with pytest.raises(NotFound) as err:
        await ehr.get_patient("nobody")
    assert err.value.resource_id == "nobody"


async def test_a_400_is_rejected_with_the_server_diagnostics() -> None:
    oo = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "diagnostics": "bad date"}],
    }
    ehr = _ehr(lambda r: httpx.Response(400, json=oo))
    with pytest.raises(EhrRejected, match="bad date"):
        await ehr.create_flag(patient_id="pat-001", text="x")


async def test_a_failed_transaction_on_sekmet_leaves_nothing_behind(
    sekmet_server: RunningServer,
) -> None:
    ehr = FhirHttpEhr(sekmet_server.base_url)
    now = datetime.now(timezone.utc)
    slot = (
        await ehr.search_free_slots(
            start=now + timedelta(days=40), end=now + timedelta(days=47), specialty="394537008"
        )
    )[0]
    raw = httpx.get(f"{sekmet_server.base_url}/Slot/{slot.id}").json()
    stale = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {**raw, "status": "busy"},
                "request": {"method": "PUT", "url": f"Slot/{slot.id}", "ifMatch": 'W/"999"'},
            },
            {
                "resource": {
                    "resourceType": "Appointment",
                    "id": "ghost-appt",
                    "status": "booked",
                    "participant": [
                        {"actor": {"reference": "Patient/pat-001"}, "status": "accepted"}
                    ],
                },
                "request": {"method": "PUT", "url": "Appointment/ghost-appt"},
            },
        ],
    }
    r = httpx.post(sekmet_server.base_url, json=stale)
    assert r.status_code in (409, 412)
    assert httpx.get(f"{sekmet_server.base_url}/Appointment/ghost-appt").status_code == 404
    assert httpx.get(f"{sekmet_server.base_url}/Slot/{slot.id}").json()["status"] == "free"
    await ehr.aclose()
