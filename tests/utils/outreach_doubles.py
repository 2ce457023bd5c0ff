"""HTTP doubles for running the real outreach scheduler process: a FHIR server that knows only
booked appointments, and a Rasa server answering `trigger_intent` that can hold its answers
(to stop the process in the middle of a dispatch, at a known point)."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime
from typing import Any

from aiohttp import web

from tests.utils.local_http import serve


class FhirAppointmentsDouble:
    """`GET /fhir/Appointment?patient=Patient/{id}`: that patient's booked appointments;
    searches of other types are empty; created resources (AuditEvent) are echoed back."""

    def __init__(self) -> None:
        self._by_patient: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def add_appointment(self, appointment_id: str, patient_id: str, start: datetime) -> None:
        self._by_patient.setdefault(patient_id, []).append(
            {
                "resourceType": "Appointment",
                "id": appointment_id,
                "status": "booked",
                "start": start.isoformat(),
                "end": start.isoformat(),
                "participant": [
                    {"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}
                ],
            }
        )

    async def start(self) -> FhirAppointmentsDouble:
        app = web.Application()
        app.router.add_get("/fhir/{rtype}", self._search)
        app.router.add_post("/fhir/{rtype}", self._create)
        self._runner, self.base_url = await serve(app)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _search(self, request: web.Request) -> web.Response:
        found: list[dict[str, Any]] = []
        if request.match_info["rtype"] == "Appointment":
            patient = request.query.get("patient", "").removeprefix("Patient/")
            found = self._by_patient.get(patient, [])
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(found),
            "entry": [{"resource": resource} for resource in found],
        }
        return web.json_response(bundle, content_type="application/fhir+json")

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        stored = {**body, "id": str(next(self._ids))}
        return web.json_response(stored, status=201, content_type="application/fhir+json")


class RasaTriggerDouble:
    """`POST /conversations/{id}/trigger_intent`: a reminder's words for the first
    `answer_first` calls; later calls are held (counted in `held`) until `release()`."""

    def __init__(self, *, answer_first: int) -> None:
        self._left = answer_first
        self._open = asyncio.Event()
        self.held = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def release(self) -> None:
        self._open.set()

    async def start(self) -> RasaTriggerDouble:
        app = web.Application()
        app.router.add_post("/conversations/{conversation}/trigger_intent", self._trigger)
        self._runner, self.base_url = await serve(app)
        return self

    async def stop(self) -> None:
        self._open.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _trigger(self, request: web.Request) -> web.Response:
        if self._left > 0:
            self._left -= 1
        elif not self._open.is_set():
            self.held += 1
            await self._open.wait()
        text = "Reminder: you have an appointment. Reply C to confirm."
        return web.json_response({"messages": [{"recipient_id": "x", "text": text}]})
