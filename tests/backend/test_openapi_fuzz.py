"""Schemathesis against the hub's own OpenAPI document: no 5xx anywhere, every error a clear
4xx, and every response the document declares matches its schema.

The app is built as the other backend tests build it (a temporary SQLite database, the
in-memory EHR, a Rasa double, no network) and called in-process over ASGI. Each caller gets
its key, so the fuzzing reaches the routes' own code and not only their doors: the REST
webhook the test client's API key, the internal API the service token, the console API a
signed-in triage lead. For the same reason half the generated conversation ids are swapped
for a verified patient's, and the hand-off waiting in the queue has id 1, which the fuzzing
tries among others.

Left out, because fuzzing them means nothing: `GET /console/api/events`, an event stream that
never ends by design (it would only wait out the client's timeout); `GET /healthz`, which
takes no input and answers 503 by design while a dependency is down (here Rasa, the action
server and the EHR are not running); and what the document does not list: the web chat
socket (a WebSocket, not HTTP), the console and chat pages and `/static` (files, no input).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.python.asgi import ASGIClient, shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from backend.db.migrate import upgrade
from backend.db.models import Clinician
from backend.ehr.fake import InMemoryEhr
from backend.handoff.auth import start_session
from backend.main import create_app
from backend.services import Services, build_services
from backend.triage.service import build_engine
from tests.backend.conftest import chest_pain_screen, make_settings, patient_conversation
from tests.utils.console_accounts import make_account, waiting_handoff
from tests.utils.fake_rasa import FakeRasa
from tests.utils.rest_client import HEADERS as REST_HEADERS

# Bounded and derandomized: the same cases on every machine, in about a minute.
EXAMPLES_PER_OPERATION = 30
# Generated conversation ids are swapped for this marker half the time, and the marker for
# the verified patient's conversation just before the call (see `aim`).
AIM = "<the verified conversation>"
PATIENT, PATIENT_ADDRESS = "pat-001", "fuzz-patient"  # a seeded patient (seed 42)


def _document() -> dict[str, Any]:
    """The app's OpenAPI document, read at collection time to parametrize the test (only the
    document is built: nothing is connected to or written)."""
    settings = make_settings(Path(tempfile.gettempdir()) / "openapi-fuzz-unused")
    return create_app(settings).openapi()


DOCUMENT = _document()
schema = (
    schemathesis.openapi.from_dict(DOCUMENT)
    .exclude(method="GET", path="/console/api/events")
    .exclude(method="GET", path="/healthz")
)


@schema.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    if isinstance(body, dict) and "conversation_id" in body:
        return st.sampled_from([body, {**body, "conversation_id": AIM}])
    return st.just(body)


@schema.hook
def flatmap_query(context: schemathesis.HookContext, query: Any) -> st.SearchStrategy[Any]:
    if isinstance(query, dict) and "conversation_id" in query:
        return st.sampled_from([query, {**query, "conversation_id": AIM}])
    return st.just(query)


@dataclass(frozen=True)
class FuzzWorld:
    """The fuzzed app's backing services, a verified patient and a console account."""

    services: Services
    clinician_id: int

    def verified_conversation(self) -> str:
        """The patient's conversation, verified afresh: a fuzzed identity step may have
        ended or restarted the verification a later call aims at."""
        return patient_conversation(self.services, address=PATIENT_ADDRESS, verified_as=PATIENT)

    def credentials(self, path: str) -> tuple[dict[str, str], dict[str, str]]:
        """(headers, cookies) for a call to `path`: the key each API wants from its caller."""
        if path.startswith("/internal/"):
            return {"Authorization": f"Bearer {self.services.settings.service_token}"}, {}
        if path.startswith("/channels/rest/"):
            return dict(REST_HEADERS), {}
        if path.startswith("/console/api/") and path != "/console/api/login":
            # A session of its own for every call: a fuzzed sign-out must not end the next.
            return {}, {"console_session": self._console_session()}
        return {}, {}

    def _console_session(self) -> str:
        with self.services.session_factory() as session:
            clinician = session.get(Clinician, self.clinician_id)
            assert clinician is not None
            lifetime = timedelta(hours=1)
            return start_session(session=session, clinician=clinician, lifetime=lifetime).token


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> FuzzWorld:
    """One app for every operation (building one costs seconds), so what one operation
    creates the next may stumble on, as in production."""
    settings = make_settings(tmp_path_factory.mktemp("fuzz"))
    upgrade(settings.effective_database_url)
    services = build_services(
        settings,
        rasa=FakeRasa(),
        safety_screen=chest_pain_screen,
        triage_engine=build_engine(settings),
        ehr=InMemoryEhr.from_seed(seed=42),
    )
    handoff_id, _ = waiting_handoff(services, address="fuzz-waiting", verified_as="pat-002")
    assert handoff_id == 1, "the module docstring promises the fuzzing a hand-off at id 1"
    clinician_id = make_account(services, "lead@clinic.example", role="triage_lead")
    return FuzzWorld(services, clinician_id)


@pytest.fixture(scope="module")
def asgi_client(fuzz_world: FuzzWorld) -> Iterator[ASGIClient]:
    """The app under test, its lifespan started (and stopped after the last operation)."""
    app = create_app(fuzz_world.services.settings, fuzz_world.services)
    assert app.openapi() == DOCUMENT, "the fuzzed document is not the app's own"
    # cast: FastAPI types the ASGI scope as a MutableMapping, schemathesis as a dict.
    with ASGIClient(cast(Any, app)) as client:
        yield client
    # The ASGI transport keeps a started lifespan running until told otherwise.
    shutdown_lifespans()


def aim(case: schemathesis.Case, world: FuzzWorld) -> None:
    """Put the verified patient's conversation id where the marker is."""
    for where in (case.body, case.query):
        if isinstance(where, dict) and where.get("conversation_id") == AIM:
            where["conversation_id"] = world.verified_conversation()


def assert_clear_error(response: schemathesis.Response, label: str) -> None:
    """No 5xx; a 4xx says what was wrong (FastAPI's `detail`), never an empty body."""
    assert response.status_code < 500, f"{label}: {response.status_code} {response.text[:300]}"
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    assert detail, f"{label}: {response.status_code} without a reason: {response.text[:300]}"


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    # The world is module-scoped on purpose (see fuzz_world).
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
def test_no_route_answers_a_server_error_or_an_unclear_client_error(
    case: schemathesis.Case, fuzz_world: FuzzWorld, asgi_client: ASGIClient
) -> None:
    aim(case, fuzz_world)
    headers, cookies = fuzz_world.credentials(case.path)
    response = case.call(
        base_url=asgi_client.base_url, session=asgi_client, headers=headers, cookies=cookies
    )
    assert_clear_error(response, case.operation.label)
    case.validate_response(response, checks=[response_schema_conformance, content_type_conformance])
