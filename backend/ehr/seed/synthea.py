"""Import Synthea R4 transaction bundles, with every date shifted so the record ends "now".

Each bundle becomes one transaction of PUTs under the resources' own (UUID) ids, with `urn:uuid:`
references rewritten to `Type/id`, so it works on servers that do not resolve placeholders and
re-importing the same folder updates rather than duplicates. Phone numbers (Synthea writes
`555-413-6221`) are stored in E.164, as the assistant looks patients up by E.164 number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import EhrRejected
from ..fhir_patients import normalize_phone
from .upload import Uploader

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


def _parse_dt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def latest_encounter_end(bundle: dict[str, Any]) -> datetime | None:
    """The end of the last Encounter in the bundle (the anchor for the date shift)."""
    ends = []
    for e in bundle.get("entry", []):
        r = e.get("resource", {})
        if r.get("resourceType") == "Encounter":
            v = (r.get("period") or {}).get("end") or (r.get("period") or {}).get("start")
            if isinstance(v, str) and DATETIME_RE.match(v):
                ends.append(_parse_dt(v))
    return max(ends) if ends else None


def shift_dates(node: Any, delta: timedelta) -> Any:
    """A copy of a JSON tree with every full date and dateTime moved by delta."""
    if isinstance(node, dict):
        return {k: shift_dates(v, delta) for k, v in node.items()}
    if isinstance(node, list):
        return [shift_dates(v, delta) for v in node]
    if isinstance(node, str):
        if DATETIME_RE.match(node):
            shifted = _parse_dt(node) + delta
            return shifted.isoformat(timespec="seconds").replace("+00:00", "Z")
        if DATE_RE.match(node):
            return (date.fromisoformat(node) + timedelta(days=delta.days)).isoformat()
    return node


def _rewrite_refs(node: Any, mapping: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str) and ref in mapping:
            node["reference"] = mapping[ref]
        for v in node.values():
            _rewrite_refs(v, mapping)
    elif isinstance(node, list):
        for v in node:
            _rewrite_refs(v, mapping)


def normalize_telecom(resource: dict[str, Any]) -> None:
    """Rewrite phone numbers of a resource's telecom to E.164 in place (unparseable ones stay)."""
    for t in resource.get("telecom") or []:
        if isinstance(t, dict) and t.get("system") == "phone" and isinstance(t.get("value"), str):
            try:
                t["value"] = normalize_phone(t["value"])
            except EhrRejected:
                continue


def bundle_to_puts(bundle: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    """Transaction entries (PUT Type/id) for a Synthea bundle, dates shifted to end a day ago."""
    anchor = latest_encounter_end(bundle)
    delta = (now - timedelta(days=1)) - anchor if anchor else timedelta(0)
    mapping: dict[str, str] = {}
    resources = []
    for e in bundle.get("entry", []):
        r = e.get("resource")
        if not isinstance(r, dict) or not r.get("id"):
            continue
        if e.get("fullUrl"):
            mapping[e["fullUrl"]] = f"{r['resourceType']}/{r['id']}"
        resources.append(r)
    entries, seen = [], set()
    for r in resources:
        key = f"{r['resourceType']}/{r['id']}"
        if key in seen:
            continue
        seen.add(key)
        r = shift_dates(r, delta)
        _rewrite_refs(r, mapping)
        normalize_telecom(r)
        entries.append({"resource": r, "request": {"method": "PUT", "url": key}})
    return entries


def import_synthea(
    up: Uploader,
    folder: str | Path,
    *,
    now: datetime,
    limit: int | None = None,
    log: Callable[[str], None] = print,
) -> int:
    """Import every *.json transaction bundle of a folder (smallest first); returns the count."""
    files = sorted(Path(folder).glob("*.json"), key=lambda p: p.stat().st_size)
    files = [f for f in files if not f.name.endswith("_manifest.json")][:limit]
    done = 0
    for i, path in enumerate(files, 1):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        if bundle.get("resourceType") != "Bundle" or bundle.get("type") not in (
            "transaction",
            "batch",
        ):
            log(f"  skip {path.name}: not a transaction Bundle")
            continue
        entries = bundle_to_puts(bundle, now)
        up.transaction(entries)
        done += 1
        log(f"  [{i}/{len(files)}] {path.name}: {len(entries)} resources")
    return done
