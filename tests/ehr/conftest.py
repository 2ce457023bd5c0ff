"""Fixtures: real FHIR servers (sekmet, Medplum) started once per session and seeded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone

import pytest

from backend.ehr import FhirHttpEhr
from backend.ehr.seed.__main__ import main as seed_main

from .servers import RunningServer, medplum_unavailable_reason, start_medplum, start_sekmet

SEED_NOW = datetime.now(timezone.utc).replace(microsecond=0)


def _seed(server: RunningServer) -> None:
    rc = seed_main(["--base-url", server.base_url, "--seed", "42", "--now", SEED_NOW.isoformat()])
    assert rc == 0, f"seeding {server.name} failed"


@pytest.fixture(scope="session")
def sekmet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A seeded sekmet server with its database in a temp directory."""
    server = start_sekmet(tmp_path_factory.mktemp("sekmet"))
    try:
        _seed(server)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def medplum_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A seeded Medplum fhir-router (in-memory repository) behind the Node wrapper."""
    reason = medplum_unavailable_reason()
    if reason:
        pytest.skip(f"Medplum server unavailable: {reason}")
    server = start_medplum(tmp_path_factory.mktemp("medplum"))
    try:
        _seed(server)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", params=["sekmet", "medplum"])
def fhir_server(request: pytest.FixtureRequest) -> RunningServer:
    """Each seeded server in turn (tests using it run once per FHIR implementation)."""
    return request.getfixturevalue(f"{request.param}_server")


@pytest.fixture
async def ehr(fhir_server: RunningServer) -> AsyncIterator[FhirHttpEhr]:
    """The real port implementation pointed at the server under test."""
    client = FhirHttpEhr(fhir_server.base_url, timeout_s=15.0)
    try:
        yield client
    finally:
        await client.aclose()
