"""The one client the actions use to reach the backend's internal API."""

from __future__ import annotations

from typing import Any, TypedDict
from urllib.parse import urlencode

import aiohttp

from bot.actions.settings import ActionSettings


class ClinicContact(TypedDict):
    """Public contact details of the clinic, as `GET /internal/clinic` returns them."""

    name: str
    phone: str
    hours: str
    emergency_number: str


class TriageQuestion(TypedDict):
    """A follow-up question; `answers` are suggestions (free text is accepted too)."""

    id: str
    text: str
    answers: list[str]


class TriageStep(TypedDict):
    """`POST /internal/triage`: the next question, or the level with why (never both)."""

    next_question: TriageQuestion | None
    level: str | None
    emergency: bool
    explanation: str
    safety_net: str
    rule_ids: list[str]
    record_id: int | None


# --- records (results, medications, refills) ---
class ResultsAnswer(TypedDict):
    """`GET /internal/records/results`: messages ready to send (values only where allowed)."""

    messages: list[str]
    details_shown: bool
    available: int
    critical_withheld: int


class MedicationOption(TypedDict):
    id: str
    name: str
    dosage: str | None
    refills_remaining: int | None
    prescriber: str | None
    needs_review: bool
    review_reason: str | None


class MedicationsAnswer(TypedDict):
    """`GET /internal/records/medications`: active prescriptions and earlier pharmacies."""

    text: str
    data: list[MedicationOption]
    pharmacies: list[str]


class RefillAnswer(TypedDict):
    """`POST /internal/records/refills` and `GET /internal/records/refills` (text to send)."""

    text: str


class HandoffOpened(TypedDict):
    """`POST /internal/handoffs`: where the patient stands and what to tell them."""

    id: int
    created: bool
    queue_position: int
    waiting_count: int
    expected_wait_minutes: int
    clinic_open: bool
    clinic_hours: str
    clinic_phone: str
    emergency_number: str


class BackendUnavailable(Exception):
    """The backend did not answer, or answered with an error; the action should apologise."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"backend call {path} failed: {reason}")
        self.path = path
        self.reason = reason


class PatientAccessDenied(BackendUnavailable):
    """The backend refused patient data (403): `code` is "not_verified" (ask the patient to
    confirm who they are first) or "not_in_care" (not this patient's, nor a child's in their
    care). A BackendUnavailable too, so an action that does not handle it apologises."""

    def __init__(self, path: str, code: str) -> None:
        super().__init__(path, f"HTTP 403 {code}")
        self.code = code


class BackendClient:
    """Calls the backend's internal API with the service token."""

    def __init__(self, settings: ActionSettings) -> None:
        self._settings = settings

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self._settings.service_token}"}
        timeout = aiohttp.ClientTimeout(total=self._settings.timeout_s)
        url = self._settings.backend_url + path
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.request(method, url, headers=headers, json=body) as response,
            ):
                if response.status == 403:
                    raise PatientAccessDenied(path, await _refusal_code(response))
                if response.status not in (200, 201):
                    raise BackendUnavailable(path, f"HTTP {response.status}")
                return await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise BackendUnavailable(path, type(exc).__name__) from exc

    async def _get(self, path: str) -> Any:
        return await self._call("GET", path)

    async def clinic_contact(self) -> ClinicContact:
        """The clinic's name, phone number, opening hours and emergency number."""
        data = await self._get("/internal/clinic")
        return ClinicContact(
            name=str(data["name"]),
            phone=str(data["phone"]),
            hours=str(data["hours"]),
            emergency_number=str(data["emergency_number"]),
        )

    async def triage(
        self, *, conversation_id: str, complaint: str, answers: dict[str, str]
    ) -> TriageStep:
        """One triage step for the conversation: the next question or the decision."""
        data = await self._call(
            "POST",
            "/internal/triage",
            {"conversation_id": conversation_id, "complaint": complaint, "answers": answers},
        )
        return TriageStep(
            next_question=data["next_question"],
            level=data["level"],
            emergency=bool(data["emergency"]),
            explanation=str(data["explanation"]),
            safety_net=str(data["safety_net"]),
            rule_ids=list(data["rule_ids"]),
            record_id=data["record_id"],
        )

    async def open_handoff(self, *, conversation_id: str, reason: str) -> HandoffOpened:
        """Put the conversation in the clinicians' queue (hand-off; safe to call twice)."""
        data = await self._call(
            "POST", "/internal/handoffs", {"conversation_id": conversation_id, "reason": reason}
        )
        return HandoffOpened(
            id=int(data["id"]),
            created=bool(data["created"]),
            queue_position=int(data["queue_position"]),
            waiting_count=int(data["waiting_count"]),
            expected_wait_minutes=int(data["expected_wait_minutes"]),
            clinic_open=bool(data["clinic_open"]),
            clinic_hours=str(data["clinic_hours"]),
            clinic_phone=str(data["clinic_phone"]),
            emergency_number=str(data["emergency_number"]),
        )

    # --- records (results, medications, refills) ---
    async def lab_results(self, *, conversation_id: str) -> ResultsAnswer:
        """The conversation's patient's released results (403 until verified)."""
        query = urlencode({"conversation_id": conversation_id})
        data = await self._get(f"/internal/records/results?{query}")
        return ResultsAnswer(
            messages=[str(m) for m in data["messages"]],
            details_shown=bool(data["details_shown"]),
            available=int(data["available"]),
            critical_withheld=int(data["critical_withheld"]),
        )

    async def medications(self, *, conversation_id: str) -> MedicationsAnswer:
        """Active prescriptions (403 until verified)."""
        query = urlencode({"conversation_id": conversation_id})
        data = await self._get(f"/internal/records/medications?{query}")
        return MedicationsAnswer(
            text=str(data["text"]), data=list(data["data"]), pharmacies=list(data["pharmacies"])
        )

    async def request_refill(
        self, *, conversation_id: str, medication_request_id: str, pharmacy: str | None
    ) -> RefillAnswer:
        """Send the refill request to the prescriber (or find the one already sent)."""
        body: dict[str, Any] = {
            "conversation_id": conversation_id,
            "medication_request_id": medication_request_id,
        }
        if pharmacy:
            body["pharmacy"] = pharmacy
        data = await self._call("POST", "/internal/records/refills", body)
        return RefillAnswer(text=str(data["text"]))

    async def refill_status(self, *, conversation_id: str) -> RefillAnswer:
        """Where the patient's refill requests stand."""
        query = urlencode({"conversation_id": conversation_id})
        data = await self._get(f"/internal/records/refills?{query}")
        return RefillAnswer(text=str(data["text"]))

    # --- appointments ---
    async def appointments(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /internal/appointments/{operation}` (search, book, list, cancel, reschedule,
        request); the shapes are backend/appointments/schemas.py, read in
        bot/actions/appointments.py."""
        data = await self._call("POST", f"/internal/appointments/{operation}", body)
        if not isinstance(data, dict):
            raise BackendUnavailable(f"/internal/appointments/{operation}", "not an object")
        return data

    # --- outreach ---
    async def confirm_appointment(self, *, conversation_id: str, appointment_id: str) -> bool:
        """Record in the EHR that the patient will attend (reply C to a reminder)."""
        body = {"conversation_id": conversation_id, "appointment_id": appointment_id}
        data = await self._call("POST", "/internal/outreach/confirm", body)
        return bool(isinstance(data, dict) and data.get("confirmed"))

    # --- identity ---
    async def identity(self, step: str, body: dict[str, Any]) -> dict[str, Any]:
        """One step of identity verification (`POST /internal/identity/<step>`: status, start,
        choose, confirm, end); the answer says what happened, never who anyone is."""
        data = await self._call("POST", f"/internal/identity/{step}", body)
        if not isinstance(data, dict):
            raise BackendUnavailable(f"/internal/identity/{step}", "not an object")
        return data


async def _refusal_code(response: aiohttp.ClientResponse) -> str:
    """The `detail` of a 403 answer, or "access_denied" when it has none we can read."""
    try:
        detail = (await response.json()).get("detail")
    except (aiohttp.ContentTypeError, ValueError, AttributeError):
        return "access_denied"
    return detail if isinstance(detail, str) else "access_denied"


class UsesBackend:
    """Mixin for actions that call the backend: one lazily built client (tests pass one
    pointed at a local double). Not an Action itself, so the action server skips it."""

    def __init__(self, client: BackendClient | None = None) -> None:
        self._client = client

    def backend(self) -> BackendClient:
        if self._client is None:
            self._client = BackendClient(ActionSettings.from_env())
        return self._client
