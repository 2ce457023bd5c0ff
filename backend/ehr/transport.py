"""HTTP transport to a FHIR R4 server: timeouts, auth headers, error mapping, read-only retries.

Reads (GET) are retried a bounded number of times on connection errors, timeouts and 5xx answers;
writes are never retried (a write that timed out may have been applied).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from .auth import EhrAuth
from .errors import (
    EhrAuthError,
    EhrBadResponse,
    EhrRejected,
    EhrTimeout,
    EhrUnavailable,
    NotFound,
    VersionConflict,
)
from .parse import decode_json

FHIR_JSON = "application/fhir+json"
RETRY_STATUSES = {500, 502, 503, 504}


@dataclass(frozen=True)
class Response:
    """A decoded FHIR answer: JSON body (may be empty) and the version from the ETag."""

    status: int
    body: dict[str, Any]
    version: str | None


def _etag_version(etag: str | None) -> str | None:
    if not etag:
        return None
    return etag.removeprefix("W/").strip('"') or None


def _outcome_text(body: bytes) -> str:
    try:
        data = decode_json(body, resource="", operation="")
    except EhrBadResponse:
        return body[:200].decode("utf-8", "replace")
    issues = data.get("issue") if data.get("resourceType") == "OperationOutcome" else None
    if not isinstance(issues, list):
        return ""
    texts = [
        str(i.get("diagnostics") or (i.get("details") or {}).get("text") or i.get("code"))
        for i in issues
        if isinstance(i, dict)
    ]
    return "; ".join(texts)[:500]


class FhirTransport:
    """An httpx client bound to one FHIR base URL."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float,
        auth: EhrAuth | None,
        read_retries: int,
        retry_backoff_s: float = 0.1,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._auth = auth
        self._retries = max(0, read_retries)
        self._backoff = retry_backoff_s
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            headers={"Accept": FHIR_JSON},
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        )

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._client.aclose()

    async def _send(
        self, method: str, path: str, *, params: Any, json_body: Any, headers: dict[str, str]
    ) -> httpx.Response:
        url = f"{self.base_url}/{path}" if path else self.base_url
        for attempt in (1, 2):
            h = dict(headers)
            if self._auth is not None:
                h.update(await self._auth.headers(self._client, self.base_url))
            r = await self._client.request(method, url, params=params, json=json_body, headers=h)
            if r.status_code == 401 and self._auth is not None and attempt == 1:
                self._auth.invalidate()  # refused before processing: safe to retry once
                continue
            return r
        return r

    async def request(
        self,
        method: str,
        path: str,
        *,
        resource: str,
        operation: str,
        params: Any = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        resource_id: str = "",
    ) -> Response:
        """Send one request and map every failure to a typed EhrError."""
        idempotent = method in ("GET", "HEAD")
        attempts = 1 + (self._retries if idempotent else 0)
        h = {"Content-Type": FHIR_JSON} if json_body is not None else {}
        h.update(headers or {})
        last: Exception | None = None
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(self._backoff * (2 ** (attempt - 1)))
            try:
                r = await self._send(method, path, params=params, json_body=json_body, headers=h)
            except httpx.TimeoutException as e:
                last = EhrTimeout(resource, operation, self.timeout_s)
                last.__cause__ = e
                continue
            except httpx.TransportError as e:
                last = EhrUnavailable(resource, operation, f"{type(e).__name__}: {e}".strip(": "))
                last.__cause__ = e
                continue
            if r.status_code in RETRY_STATUSES:
                last = EhrUnavailable(
                    resource, operation, f"HTTP {r.status_code} {_outcome_text(r.content)}"
                )
                continue
            return self._accept(r, resource=resource, operation=operation, resource_id=resource_id)
        assert last is not None
        raise last

    def _accept(
        self, r: httpx.Response, *, resource: str, operation: str, resource_id: str
    ) -> Response:
        status = r.status_code
        if status in (401, 403):
            raise EhrAuthError(resource, operation, f"HTTP {status} {_outcome_text(r.content)}")
        if status in (404, 410):
            raise NotFound(resource, resource_id or "?", operation)
        if status in (409, 412):
            raise VersionConflict(resource, resource_id or "?", operation)
        if 400 <= status < 500:
            raise EhrRejected(resource, operation, status, _outcome_text(r.content))
        if status >= 300:
            raise EhrBadResponse(resource, operation, f"unexpected HTTP {status}")
        body = (
            decode_json(r.content, resource=resource, operation=operation)
            if r.content.strip()
            else {}
        )
        return Response(status, body, _etag_version(r.headers.get("etag")))
