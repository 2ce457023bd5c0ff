"""Results and refills through the real processes and the real EHR, over the REST channel.

Verification itself is the identity flow's to test: here a conversation is marked verified
directly in the hub's database (as the identity flow would), so these tests see exactly what a
verified patient sees, and what an unverified one does not.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from backend.core.crypto import Cipher
from backend.db.session import make_engine, make_session_factory
from backend.ehr import FhirHttpEhr, LabReport, Medication
from backend.hub import transcript
from backend.identity.access import record_verification
from backend.records.medications import review_reason
from backend.records.results import is_critical
from scripts.stack import StackConfig
from tests.utils.rest_client import HEADERS as REST_HEADERS
from tests.utils.rest_client import address as rest_address

pytestmark = pytest.mark.e2e


def say(stack: StackConfig, sender: str, message: str) -> list[dict]:
    response = httpx.post(
        f"{stack.backend_url}/channels/rest/webhook",
        json={"sender": sender, "message": message},
        headers=REST_HEADERS,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


def text_of(replies: list[dict]) -> str:
    return "\n".join(reply.get("text") or "" for reply in replies)


def verify(stack: StackConfig, sender: str, patient_id: str) -> None:
    """What the identity flow records once the patient has proved who they are."""
    engine = make_engine(f"sqlite:///{stack.var_dir / 'backend.db'}")
    try:
        with make_session_factory(engine)() as session:
            cipher = Cipher(stack.env["ENCRYPTION_KEY"])
            conversation = transcript.get_or_create_conversation(
                session=session, cipher=cipher, channel="rest", address=rest_address(sender)
            )
            record_verification(
                session=session,
                cipher=cipher,
                conversation_id=conversation.id,
                patient_id=patient_id,
            )
    finally:
        engine.dispose()


async def _patient_with_results_and_a_routine_refill(
    stack: StackConfig,
) -> tuple[str, list[LabReport], Medication]:
    ehr = FhirHttpEhr(stack.ehr_base_url, timeout_s=15.0)
    today = datetime.now(UTC).date()
    try:
        for n in range(1, 52):
            pid = f"pat-{n:03d}"
            reports = await ehr.released_lab_reports(patient_id=pid)
            if not reports or any(is_critical(r) for r in reports):
                continue
            meds = await ehr.medication_requests(patient_id=pid, active_only=True)
            routine = [m for m in meds if review_reason(m, today) is None]
            if len(meds) == 1 and routine:
                return pid, reports, routine[0]
    finally:
        await ehr.aclose()
    raise AssertionError("the seed has no patient with results and one routine prescription")


@pytest.fixture(scope="module")
def patient(stack: StackConfig) -> tuple[str, list[LabReport], Medication]:
    return asyncio.run(_patient_with_results_and_a_routine_refill(stack))


def test_an_unverified_conversation_gets_no_results(stack: StackConfig) -> None:
    say(stack, "e2e-records-anon", "hi")
    replies = say(stack, "e2e-records-anon", "are my test results back")
    assert "usual range" not in text_of(replies)


def test_a_verified_patient_sees_only_their_own_released_results(
    stack: StackConfig, patient: tuple[str, list[LabReport], Medication]
) -> None:
    pid, reports, _ = patient
    sender = "e2e-records-results"
    say(stack, sender, "hello")
    verify(stack, sender, pid)
    shown = text_of(say(stack, sender, "are my test results back"))
    assert "usual range" in shown
    for report in reports[:5]:
        for result in report.results:
            assert result.name.split(" [")[0] in shown


def test_a_refill_becomes_a_task_for_the_prescriber_once(
    stack: StackConfig, patient: tuple[str, list[LabReport], Medication]
) -> None:
    pid, _, medication = patient
    sender = "e2e-records-refill"
    say(stack, sender, "hello")
    verify(stack, sender, pid)
    asked = say(stack, sender, "i need a refill")
    assert "pharmacy" in text_of(asked).lower()
    confirm = say(stack, sender, "CVS on Main St")
    assert medication.name in text_of(confirm)
    done = text_of(say(stack, sender, "yes"))
    assert "business days" in done
    tasks = httpx.get(
        f"{stack.ehr_base_url}/Task",
        params={"focus": f"MedicationRequest/{medication.id}"},
        timeout=15,
    ).json()
    [task] = [e["resource"] for e in tasks.get("entry", [])]
    assert task["requester"]["reference"] == f"Patient/{pid}"
    assert task["owner"]["reference"] == f"Practitioner/{medication.prescriber_id}"

    say(stack, sender, "i need a refill")
    say(stack, sender, "CVS on Main St")
    again = text_of(say(stack, sender, "yes"))
    assert "already asked" in again
    tasks = httpx.get(
        f"{stack.ehr_base_url}/Task",
        params={"focus": f"MedicationRequest/{medication.id}"},
        timeout=15,
    ).json()
    assert len(tasks.get("entry", [])) == 1


def test_a_results_question_in_the_middle_of_booking_is_answered_and_booking_goes_on(
    stack: StackConfig, patient: tuple[str, list[LabReport], Medication]
) -> None:
    pid, reports, _ = patient
    sender = "e2e-records-digression"
    say(stack, sender, "hello")
    verify(stack, sender, pid)
    offered = say(stack, sender, "I need to see a skin doctor next week")
    question = offered[-1]["text"]  # the booking's question (the offered times, usually)

    aside = say(stack, sender, "are my blood test results back?")

    shown = text_of(aside)
    assert "usual range" in shown
    assert reports[0].results[0].name.split(" [")[0] in shown
    assert aside[-1]["text"] == question  # and the booking asks its question again
