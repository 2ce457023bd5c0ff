"""Shared plumbing of the HTTP EHR: typed read/search/create/transaction and the audit trail."""

from __future__ import annotations

import time
import uuid
from typing import Any, TypeVar

from fhirclient.models.bundle import Bundle
from fhirclient.models.fhirabstractresource import FHIRAbstractResource

from . import builders
from .errors import EhrBadResponse, EhrRejected
from .parse import parse_bundle, parse_model
from .transport import FhirTransport

R = TypeVar("R", bound=FHIRAbstractResource)
Entry = dict[str, Any]


class FhirBase:
    """Typed helpers over a `FhirTransport`; the public classes mix topic operations into it."""

    _t: FhirTransport
    _audit_agent: str
    _cache_ttl_s: float
    _cache: dict[str, tuple[float, Any]]

    # -- reads -------------------------------------------------------------------------------

    async def _read_raw(
        self, rtype: str, rid: str, operation: str
    ) -> tuple[dict[str, Any], str | None]:
        """GET [base]/Type/id -> (JSON, versionId) with the id checked."""
        if not rid or "/" in rid:
            raise EhrRejected(rtype, operation, 400, f"invalid id {rid!r}")
        r = await self._t.request(
            "GET", f"{rtype}/{rid}", resource=rtype, operation=operation, resource_id=rid
        )
        body = r.body
        if body.get("resourceType") != rtype or body.get("id") != rid:
            raise EhrBadResponse(
                rtype,
                operation,
                f"asked for {rtype}/{rid}, got {body.get('resourceType')}/{body.get('id')}",
            )
        version = (body.get("meta") or {}).get("versionId") or r.version
        return body, version

    async def _read(
        self, cls: type[R], rid: str, operation: str
    ) -> tuple[R, dict[str, Any], str | None]:
        """Read and strictly parse one resource."""
        body, version = await self._read_raw(cls.resource_type, rid, operation)
        return parse_model(cls, body, operation=operation), body, version

    async def _read_cached(
        self, cls: type[R], rid: str, operation: str
    ) -> tuple[R, dict[str, Any]]:
        """Read a rarely changing directory resource (e.g. a Schedule) through the TTL cache."""
        key = f"{cls.resource_type}/{rid}"
        hit = self._cache.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        model, body, _ = await self._read(cls, rid, operation)
        self._cache[key] = (time.monotonic() + self._cache_ttl_s, (model, body))
        return model, body

    async def _search(self, rtype: str, params: list[tuple[str, str]], operation: str) -> Bundle:
        """GET [base]/Type?params -> parsed searchset (first page)."""
        r = await self._t.request("GET", rtype, resource=rtype, operation=operation, params=params)
        bundle = parse_bundle(r.body, resource=rtype, operation=operation)
        if bundle.type != "searchset":
            raise EhrBadResponse(rtype, operation, f"expected a searchset, got {bundle.type!r}")
        return bundle

    async def _search_cached(
        self, rtype: str, params: list[tuple[str, str]], operation: str
    ) -> Bundle:
        """A directory search (Schedule, Location, PractitionerRole) through the TTL cache."""
        key = f"{rtype}?{sorted(params)}"
        hit = self._cache.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        bundle = await self._search(rtype, params, operation)
        self._cache[key] = (time.monotonic() + self._cache_ttl_s, bundle)
        return bundle

    # -- writes (never retried) ----------------------------------------------------------------

    async def _create(self, resource: dict[str, Any], operation: str) -> dict[str, Any]:
        """POST a resource; returns the stored JSON (or the id from Location when minimal)."""
        rtype = resource["resourceType"]
        r = await self._t.request(
            "POST",
            rtype,
            resource=rtype,
            operation=operation,
            json_body=resource,
            headers={"Prefer": "return=representation"},
        )
        body = r.body
        if body.get("resourceType") != rtype or not body.get("id"):
            raise EhrBadResponse(rtype, operation, "create answered without the stored resource")
        return body

    async def _transaction(
        self, entries: list[Entry], *, resource: str, operation: str, resource_id: str = ""
    ) -> Bundle:
        """POST a transaction Bundle; a failed transaction changes nothing."""
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        r = await self._t.request(
            "POST",
            "",
            resource=resource,
            operation=operation,
            json_body=bundle,
            headers={"Prefer": "return=representation"},
            resource_id=resource_id,
        )
        out = parse_bundle(r.body, resource=resource, operation=operation)
        if out.type != "transaction-response" or len(out.entry or []) != len(entries):
            raise EhrBadResponse(
                resource, operation, f"expected a transaction-response with {len(entries)} entries"
            )
        for i, e in enumerate(out.entry or []):
            status = (e.response.status if e.response else "") or ""
            if not status[:1] == "2":
                raise EhrBadResponse(
                    resource, operation, f"entry.{i}.response.status is {status!r}"
                )
        return out

    def _put_entry(self, resource: dict[str, Any], version: str | None) -> Entry:
        path = f"{resource['resourceType']}/{resource['id']}"
        req: dict[str, str] = {"method": "PUT", "url": path}
        if version:
            req["ifMatch"] = f'W/"{version}"'
        return {"fullUrl": f"{self._t.base_url}/{path}", "resource": resource, "request": req}

    @staticmethod
    def _post_entry(resource: dict[str, Any]) -> Entry:
        return {
            "fullUrl": f"urn:uuid:{uuid.uuid4()}",
            "resource": resource,
            "request": {"method": "POST", "url": resource["resourceType"]},
        }

    # -- audit ---------------------------------------------------------------------------------

    def _audit_entry(self, *, subtype: str, patient_id: str, what: str) -> Entry:
        """A transaction entry recording a change to a patient's data (written with the change)."""
        event = builders.audit_event(
            agent=self._audit_agent, subtype=subtype, patient_ids=[patient_id], query=what
        )
        return self._post_entry(event)

    async def _audit(
        self, *, subtype: str, patient_ids: list[str], query: str | None = None
    ) -> None:
        """Record an AuditEvent for a read of patient data (the data is not returned without it)."""
        event = builders.audit_event(
            agent=self._audit_agent,
            subtype=subtype,
            patient_ids=sorted(set(patient_ids)),
            query=query,
        )
        await self._create(event, "audit")
