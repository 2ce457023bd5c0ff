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


class BackendUnavailable(Exception):
    """The backend did not answer, or answered with an error; the action should apologise."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"backend call {path} failed: {reason}")
        self.path = path
        self.reason = reason


class BackendClient:
    """Calls the backend's internal API with the service token."""

    def __init__(self, settings: ActionSettings) -> None:
        self._settings = settings

    async def _get(self, path: str) -> Any:
        headers = {"Authorization": f"Bearer {self._settings.service_token}"}
        timeout = aiohttp.ClientTimeout(total=self._settings.timeout_s)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(self._settings.backend_url + path, headers=headers) as response,
            ):
                if response.status != 200:
                    raise BackendUnavailable(path, f"HTTP {response.status}")
                return await response.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise BackendUnavailable(path, type(exc).__name__) from exc

    async def clinic_contact(self) -> ClinicContact:
        """The clinic's name, phone number, opening hours and emergency number."""
        data = await self._get("/internal/clinic")
        return ClinicContact(
            name=str(data["name"]),
            phone=str(data["phone"]),
            hours=str(data["hours"]),
            emergency_number=str(data["emergency_number"]),
        )
