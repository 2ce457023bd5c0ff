"""The real EHR port implementation: any FHIR R4 server over HTTP (httpx + fhirclient models)."""

from __future__ import annotations

from typing import Any

import httpx

from .auth import EhrAuth
from .fhir_clinical import ClinicalOps
from .fhir_patients import PatientOps
from .fhir_scheduling import SchedulingOps
from .fhir_slots import SlotSearchOps
from .transport import FhirTransport


class FhirHttpEhr(PatientOps, SlotSearchOps, SchedulingOps, ClinicalOps):
    """`Ehr` over a FHIR R4 REST endpoint.

    - `base_url`: the FHIR base, e.g. `http://127.0.0.1:8090/fhir`.
    - `timeout_s`: per-request timeout (connect, read, write, pool).
    - `auth`: `None` (open embedded server), `StaticTokenAuth` or `SmartBackendAuth`.
    - `read_retries`: extra attempts for GETs on connection errors, timeouts and 5xx; writes never
      retry.
    - `audit_agent`: the name recorded as the agent of every AuditEvent.
    - `directory_cache_s`: how long Schedules, Locations and PractitionerRoles are cached.
    - `transport`: an httpx transport override (tests).

    Reads nothing from the environment: the backend's settings construct it.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 5.0,
        auth: EhrAuth | None = None,
        read_retries: int = 2,
        audit_agent: str = "patient-assistant",
        directory_cache_s: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._t = FhirTransport(
            base_url, timeout_s=timeout_s, auth=auth, read_retries=read_retries, transport=transport
        )
        self._audit_agent = audit_agent
        self._cache_ttl_s = directory_cache_s
        self._cache: dict[str, tuple[float, Any]] = {}

    @property
    def base_url(self) -> str:
        """The FHIR base URL this client talks to."""
        return self._t.base_url

    def clear_cache(self) -> None:
        """Forget cached directory resources (after a seed or a schedule change)."""
        self._cache.clear()

    async def aclose(self) -> None:
        """Release pooled connections."""
        await self._t.aclose()

    async def __aenter__(self) -> FhirHttpEhr:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
