"""The log sweep of a running stack (tests/utils/log_sweep.py): what to look for, read from
the stack itself, and where to look.

`secrets_of` runs while the stack is up: the patients and related persons in its EHR (the
seeded clinic and anyone a test added), and the codes in its development outbox. `leaks_in`
runs after it has stopped, so what the processes said on the way out is searched too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from scripts.stack import StackConfig
from tests.utils.log_sweep import (
    Leak,
    Secret,
    by_process,
    log_files,
    record_secrets,
    sent_codes,
    sweep,
)

PAGE = 200


def _resources(client: httpx.Client, url: str) -> Iterator[dict[str, Any]]:
    """Every resource of a FHIR search, page after page."""
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        response.raise_for_status()
        bundle = response.json()
        yield from (entry["resource"] for entry in bundle.get("entry") or [])
        links = {link.get("relation"): link.get("url") for link in bundle.get("link") or []}
        next_url = links.get("next")


def secrets_of(config: StackConfig) -> list[Secret]:
    """The patients' names, phones and birth dates, and the codes sent, of a running stack."""
    token = config.process_env()["SERVICE_TOKEN"]
    with httpx.Client(timeout=30) as client:
        records = [
            resource
            for kind in ("Patient", "RelatedPerson")
            for resource in _resources(client, f"{config.ehr_base_url}/{kind}?_count={PAGE}")
        ]
        outbox = client.get(
            f"{config.backend_url}/dev/outbox.json",
            headers={"Authorization": f"Bearer {token}"},  # codes unmasked
        )
        outbox.raise_for_status()
    patients = [r for r in records if r.get("resourceType") == "Patient"]
    if len(patients) < 40:
        raise AssertionError(f"the EHR lists {len(patients)} patients: is the clinic seeded?")
    return record_secrets(records) + sent_codes(entry["text"] for entry in outbox.json())


def leaks_in(log: str, var_dir: Path, secrets: list[Secret]) -> list[Leak]:
    """Leaks in each process's output (as the supervisor collected it) and in every log file
    under the stack's folder."""
    sources = by_process(log)
    for path in log_files(var_dir):
        sources[str(path.relative_to(var_dir))] = path.read_text(errors="replace").splitlines()
    return sweep(sources, secrets)
