"""Strict parsing of EHR payloads through fhirclient's R4 models.

Anything the models refuse becomes `EhrBadResponse` whose message names the failing path
(e.g. `entry.0.resource.start: does not match expected format`).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any, TypeVar

from fhirclient.models.bundle import Bundle
from fhirclient.models.fhirabstractbase import FHIRAbstractBase, FHIRValidationError
from fhirclient.models.fhirabstractresource import FHIRAbstractResource

from .errors import EhrBadResponse

M = TypeVar("M", bound=FHIRAbstractBase)


def decode_json(raw: bytes, *, resource: str, operation: str) -> dict[str, Any]:
    """Decode a response body to a JSON object or raise EhrBadResponse."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        snippet = raw[:80].decode("utf-8", "replace")
        raise EhrBadResponse(
            resource, operation, f"body is not JSON ({e}); starts with {snippet!r}"
        ) from e
    if not isinstance(data, dict):
        raise EhrBadResponse(
            resource, operation, f"expected a JSON object, got {type(data).__name__}"
        )
    return data


def parse_model(cls: type[M], data: Any, *, operation: str, path: str = "") -> M:
    """Build a fhirclient model from JSON, strictly; errors carry the element path."""
    rtype = getattr(cls, "resource_type", cls.__name__)
    if not isinstance(data, dict):
        raise EhrBadResponse(rtype, operation, f"{path or '{root}'}: expected an object")
    if issubclass(cls, FHIRAbstractResource) and data.get("resourceType") != rtype:
        raise EhrBadResponse(
            rtype, operation, f"{path or '{root}'}: resourceType is {data.get('resourceType')!r}"
        )
    try:
        return cls(data, strict=True)
    except FHIRValidationError as e:
        err = e.prefixed(path) if path else e
        raise EhrBadResponse(rtype, operation, " ".join(str(err).split())) from e
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise EhrBadResponse(rtype, operation, f"{path or '{root}'}: {e}") from e


def parse_bundle(data: dict[str, Any], *, resource: str, operation: str) -> Bundle:
    """Parse a Bundle (searchset, transaction-response) strictly."""
    if data.get("resourceType") != "Bundle":
        raise EhrBadResponse(
            resource, operation, f"expected a Bundle, got {data.get('resourceType')!r}"
        )
    try:
        return Bundle(data, strict=True)
    except FHIRValidationError as e:
        raise EhrBadResponse(resource, operation, " ".join(str(e).split())) from e
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise EhrBadResponse(resource, operation, str(e)) from e


def bundle_resources(bundle: Bundle, rtype: str) -> list[Any]:
    """The entry resources of one type (matches and includes alike)."""
    return [
        e.resource
        for e in bundle.entry or []
        if e.resource is not None and e.resource.resource_type == rtype
    ]


def _ref_value(reference: Any) -> str | None:
    value = reference.get("reference") if isinstance(reference, dict) else reference
    value = getattr(value, "reference", value)
    return value if isinstance(value, str) else None


def ref_id(reference: Any, rtype: str | None = None) -> str | None:
    """Logical id from a Reference model or string (`Type/id`, absolute, or versioned)."""
    value = _ref_value(reference)
    if not value or value.startswith(("#", "urn:")):
        return None
    parts = value.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) < 2:
        return None
    if rtype is not None and parts[-2] != rtype:
        return None
    return parts[-1]


def ref_type(reference: Any) -> str | None:
    """Resource type named by a Reference, if literal."""
    value = _ref_value(reference)
    if not value or "/" not in value:
        return None
    return value.split("/_history/")[0].rstrip("/").split("/")[-2]


def dt(value: Any) -> datetime | None:
    """Aware datetime from a fhirclient FHIRDate/FHIRDateTime/FHIRInstant (None if absent).

    A dateTime may be a bare date (`2024-01-05`, `2024-01`): that becomes midnight UTC, so values
    of either precision can be compared and sorted together.
    """
    if value is None:
        return None
    d = getattr(value, "datetime", None) or getattr(value, "date", None)
    if isinstance(d, datetime):
        return d if d.tzinfo is not None else d.replace(tzinfo=timezone.utc)
    if isinstance(d, date):
        return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
    return None


def day(value: Any) -> date | None:
    """Python date from a fhirclient FHIRDate/FHIRDateTime."""
    if value is None:
        return None
    d = getattr(value, "date", None)
    if isinstance(d, datetime):
        return d.date()
    if isinstance(d, date):
        return d
    full = dt(value)
    return full.date() if full else None


def first_coding_code(concept: Any, system: str | None = None) -> str | None:
    """The first code of a CodeableConcept (optionally of one system)."""
    for c in getattr(concept, "coding", None) or []:
        if system is None or c.system == system:
            return c.code
    return None


def concept_text(concept: Any, default: str = "") -> str:
    """Human text of a CodeableConcept: text, else the first display, else the first code."""
    if concept is None:
        return default
    if concept.text:
        return concept.text
    for c in concept.coding or []:
        if c.display:
            return c.display
    return first_coding_code(concept) or default


def extension_value(element: Any, url: str) -> Any:
    """The value[x] of the first extension with this url, or None."""
    for ext in getattr(element, "extension", None) or []:
        if ext.url == url:
            for attr in ("valueUnsignedInt", "valueInteger", "valueCode", "valueString"):
                v = getattr(ext, attr, None)
                if v is not None:
                    return v
    return None
