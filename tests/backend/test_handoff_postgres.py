"""Hand-offs on the real PostgreSQL server: the claim race has exactly one winner there too."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from backend.core.config import Settings
from backend.db.models import Handoff
from backend.handoff import service
from backend.handoff.states import Reason
from backend.services import build_services
from tests.backend.test_postgres import pg_settings  # noqa: F401 (fixture)
from tests.utils.fake_rasa import FakeRasa
from tests.utils.handoffs import claim_race, make_clinician, make_conversation

pytestmark = pytest.mark.postgres


def test_the_migration_creates_the_handoff_tables_and_partial_index(
    pg_settings: Settings,  # noqa: F811
) -> None:
    engine = create_engine(pg_settings.effective_database_url)
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names())
        indexes = {i["name"]: i for i in inspector.get_indexes("handoffs")}
    finally:
        engine.dispose()
    assert {"handoffs", "clinicians", "clinician_sessions"} <= tables
    assert indexes["uq_handoffs_one_active_per_conversation"]["unique"]


def test_twenty_concurrent_claims_on_postgres_have_exactly_one_winner(
    pg_settings: Settings,  # noqa: F811
) -> None:
    services = build_services(pg_settings, rasa=FakeRasa())
    try:
        with services.session_factory() as session:
            clinicians = [
                make_clinician(session, email=f"c{i}@clinic.example", name=f"C{i}").id
                for i in range(20)
            ]
            conversation = make_conversation(session, services.cipher)
            handoff, _ = service.open_handoff(
                session=session,
                cipher=services.cipher,
                conversation_id=conversation.id,
                reason=Reason.EMERGENCY,
            )
        outcomes = claim_race(services.session_factory, handoff.id, clinicians)
        winners = [who for kind, who in outcomes if kind == "won"]
        assert len(outcomes) == 20 and len(winners) == 1
        with services.session_factory() as session:
            assert session.get(Handoff, handoff.id).claimed_by == winners[0]  # type: ignore[union-attr]
    finally:
        services.engine.dispose()
