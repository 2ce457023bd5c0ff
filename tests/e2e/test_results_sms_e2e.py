"""Minimum necessary on SMS, end to end: a verified patient asking by text message learns that
results are ready and where to read them, never the values (issue 7)."""

from __future__ import annotations

import asyncio

import pytest

from backend.ehr import FhirHttpEhr
from backend.records.results import is_critical
from scripts.stack import StackConfig
from tests.utils.e2e_chat import (
    Outbox,
    SeedPatient,
    TwilioChat,
    fresh_patients,
    verify_in_conversation,
)

pytestmark = pytest.mark.e2e


async def _patient_with_released_results(stack: StackConfig) -> tuple[SeedPatient, list[str]]:
    ehr = FhirHttpEhr(stack.ehr_base_url, timeout_s=15.0)
    try:
        for _ in range(40):
            [patient] = await fresh_patients(stack, 1)
            reports = await ehr.released_lab_reports(patient_id=patient.id)
            if reports and not any(is_critical(r) for r in reports):
                values = [str(r.value) for report in reports for r in report.results if r.value]
                return patient, values
    finally:
        await ehr.aclose()
    raise AssertionError("the seed has no verifiable patient with released, non-critical results")


def test_on_sms_a_verified_patient_is_told_results_are_ready_without_values(
    stack: StackConfig,
) -> None:
    patient, values = asyncio.run(_patient_with_released_results(stack))
    chat = TwilioChat(stack, "sms", patient.phone)

    chat.say("are my test results back?", expect="date of birth")  # nothing before identity
    said = verify_in_conversation(chat, patient, Outbox(stack), by_phone=True)
    if "web chat" not in said:  # the notice may leave just after the confirmation
        said += chat.outbox.wait_for("sms", patient.phone, "web chat")

    assert "available" in said and "web chat" in said
    assert "usual range" not in said
    assert values and not any(f" {value} " in f" {said} " for value in values)
