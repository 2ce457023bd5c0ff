"""No database connection is held while a route awaits the EHR (project issue 18).

The pool is cut to one connection and one database thread, and the EHR answers only when
the test lets it. Before the fix each request held a session across its EHR call: the second
request's pool checkout then froze the event loop, and the whole process with it. Now every
request reaches the EHR at once, the loop keeps answering, and no connection is checked out
while they wait.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, create_engine, select

from backend.db.migrate import upgrade
from backend.db.models import AccessAudit
from backend.ehr.fake import InMemoryEhr
from backend.main import create_app
from backend.services import Services, build_services
from scripts.stack import free_port
from tests.backend.conftest import make_settings, patient_conversation
from tests.utils.fake_rasa import FakeRasa
from tests.utils.records import CHILD, PATIENT, clinic_records

AUTH = {"Authorization": "Bearer test-service-token-0123456789"}
REQUESTS = 6  # more than the pool's one connection and the one database thread
WAIT_S = 20.0  # how long a step may take before the test gives up (a failure, not a budget)


class GatedEhr(InMemoryEhr):
    """The in-memory EHR, whose `gated` call waits until the test releases it."""

    def __init__(self, resources: list[dict[str, Any]], gated: str) -> None:
        super().__init__(resources)
        self.waiting = 0  # calls inside the gate (changed on the event loop only)
        self.released = threading.Event()
        answer: Callable[..., Any] = getattr(self, gated)

        async def held(*args: Any, **kwargs: Any) -> Any:
            self.waiting += 1
            while not self.released.is_set():
                await asyncio.sleep(0.01)
            return await answer(*args, **kwargs)

        setattr(self, gated, held)


def tiny_pool(services: Services) -> Engine:
    """Rebind the services to an engine with exactly one connection and no overflow."""
    engine = create_engine(
        services.settings.effective_database_url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=1,
        max_overflow=0,
        pool_timeout=10,
    )
    services.engine.dispose()
    services.engine = engine
    services.session_factory.configure(bind=engine)  # the DbWork's factory too
    return engine


@pytest.fixture
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Services]]:
    settings = make_settings(tmp_path, db_threads=1)
    upgrade(settings.effective_database_url)
    ehr = GatedEhr(clinic_records(), gated=request.param)
    services = build_services(settings, rasa=FakeRasa(), ehr=ehr)
    tiny_pool(services)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, services), host="127.0.0.1", port=free_port(), log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, lambda: "the backend did not start")
    yield f"http://127.0.0.1:{server.config.port}", services
    ehr.released.set()
    server.should_exit = True
    thread.join(timeout=10)


def wait_until(condition: Callable[[], bool], failure: Callable[[], str]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(failure())
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("served", "path"),
    [("refill_tasks", "refills"), ("medication_requests", "medications")],
    indirect=["served"],
)
def test_requests_waiting_on_the_ehr_hold_no_connection(
    served: tuple[str, Services], path: str
) -> None:
    base_url, services = served
    ehr = services.ehr
    assert isinstance(ehr, GatedEhr)
    conversation_id = patient_conversation(services, verified_as=PATIENT, dependants={CHILD})

    def ask(_: int) -> httpx.Response:
        return httpx.get(
            f"{base_url}/internal/records/{path}",
            params={"conversation_id": conversation_id},
            headers=AUTH,
            timeout=WAIT_S * 2,
        )

    with ThreadPoolExecutor(REQUESTS) as pool:
        answers = pool.map(ask, range(REQUESTS))
        wait_until(
            lambda: ehr.waiting == REQUESTS,
            lambda: f"only {ehr.waiting} of {REQUESTS} requests reached the EHR",
        )
        # All of them wait on the EHR: the loop still answers, and none holds a connection
        # or a database thread meanwhile.
        assert httpx.get(f"{base_url}/livez", timeout=5).json() == {"status": "ok"}
        assert services.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert services.db.busy == 0
        ehr.released.set()
        responses = list(answers)

    assert [r.status_code for r in responses] == [200] * REQUESTS, [r.text for r in responses]
    with services.session_factory() as session:
        audited = session.scalars(
            select(AccessAudit.outcome).where(AccessAudit.action == f"read.{path}")
        ).all()
    assert audited == ["success"] * REQUESTS
