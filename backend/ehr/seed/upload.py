"""Upload resources as transaction Bundles of PUTs (client ids), in chunks, with progress."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

Resource = dict[str, Any]
SEED_MARKER = ("Basic", "patient-assistant-seed")
SMALL_CHUNK = 50


class UploadError(RuntimeError):
    """A chunk was refused by the FHIR server (the message has the server's diagnostics)."""


def put_entry(res: Resource) -> dict[str, Any]:
    """A transaction entry that creates-or-updates the resource under its own id."""
    path = f"{res['resourceType']}/{res['id']}"
    return {"resource": res, "request": {"method": "PUT", "url": path}}


def _diagnostics(r: httpx.Response) -> str:
    try:
        body = r.json()
        return "; ".join(
            str(i.get("diagnostics") or i.get("details", {}).get("text"))
            for i in body.get("issue", [])
        )[:1500]
    except (ValueError, AttributeError):
        return r.text[:500]


class Uploader:
    """Posts transaction bundles to a FHIR base URL."""

    def __init__(
        self, base_url: str, *, timeout_s: float = 120.0, headers: dict[str, str] | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(
            timeout=timeout_s,
            headers={
                "Accept": "application/fhir+json",
                "Content-Type": "application/fhir+json",
                "Prefer": "return=minimal",
                **(headers or {}),
            },
        )

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    def read(self, rtype: str, rid: str) -> Resource | None:
        """Type/id as JSON, or None when it does not exist."""
        r = self.client.get(f"{self.base_url}/{rtype}/{rid}")
        if r.status_code in (404, 410):
            return None
        if r.status_code != 200:
            raise UploadError(f"GET {rtype}/{rid}: HTTP {r.status_code} {_diagnostics(r)}")
        body = r.json()
        if not isinstance(body, dict):
            raise UploadError(f"GET {rtype}/{rid}: not a JSON object")
        return body

    def transaction(self, entries: list[dict[str, Any]]) -> None:
        """Post one transaction bundle; raise UploadError when refused."""
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        r = self.client.post(self.base_url, json=bundle)
        if r.status_code >= 300:
            raise UploadError(f"transaction refused: HTTP {r.status_code} {_diagnostics(r)}")

    def upload(
        self,
        resources: Iterable[Resource],
        *,
        chunk: int = 500,
        log: Callable[[str], None] = print,
        label: str = "resources",
    ) -> float:
        """Upload in chunks; prints one progress line per chunk; returns elapsed seconds."""
        items = list(resources)
        t0 = time.perf_counter()
        total, done, n = len(items), 0, 0
        while done < total:
            part = items[done : done + chunk]
            try:
                self.transaction([put_entry(r) for r in part])
            except UploadError as e:
                if chunk <= SMALL_CHUNK or "HTTP 400" not in str(e):
                    raise
                chunk = SMALL_CHUNK  # e.g. Medplum allows 50 updates per transaction
                log(f"  server refused {len(part)} entries per transaction; using {chunk}")
                continue
            done += len(part)
            n += 1
            if n % max(1, 500 // chunk) == 0 or done == total:
                log(f"  {done}/{total} {label} ({time.perf_counter() - t0:.1f} s)")
        return time.perf_counter() - t0
