"""The one client the actions use to reach the backend's internal API."""

from __future__ import annotations

from typing import Any, TypedDict

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


class BackendUnavailable(Exception):
    """The backend did not answer, or answered with an error; the action should apologise."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"backend call {path} failed: {reason}")
        self.path = path
        self.reason = reason


class PatientAccessDenied(Exception):
    """The backend refused patient data (403): `code` is "not_verified" (ask the patient to
    confirm who they are first) or "not_in_care" (not this patient's, nor a child's in their
    care)."""

    def __init__(self, path: str, code: str) -> None:
        super().__init__(f"backend refused {path}: {code}")
        self.path = path
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


async def _refusal_code(response: aiohttp.ClientResponse) -> str:
    """The `detail` of a 403 answer, or "access_denied" when it has none we can read."""
    try:
        detail = (await response.json()).get("detail")
    except (aiohttp.ContentTypeError, ValueError, AttributeError):
        return "access_denied"
    return detail if isinstance(detail, str) else "access_denied"
