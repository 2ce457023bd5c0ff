"""Outreach on WhatsApp more than 24 hours after the patient last wrote: only the approved
template for the kind goes (with the appointment time as its only variable), or nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update

from backend.db.models import Conversation, Message
from backend.hub import transcript
from backend.hub.outbound import PhoneOutbound
from backend.outreach.contacts import patient_hash, remember_contact
from backend.outreach.kinds import REMINDER
from tests.utils.outreach_clinic import PATIENT, PHONE, Clinic, appointment, open_clinic

VISIT = datetime(2026, 6, 10, 14, 0, tzinfo=UTC)  # Wednesday 10:00 in New York
TUESDAY_NOON = datetime(2026, 6, 9, 16, 0, tzinfo=UTC)  # 12:00 in New York, within hours
TEMPLATE_SID = "HX" + "1" * 32


def silent_whatsapp_clinic(tmp_path: Path, templates: dict[str, str]) -> tuple[Clinic, str]:
    """The patient is reached on WhatsApp and last wrote long ago."""
    clinic = open_clinic(tmp_path, [appointment("appt-1", VISIT)])
    with clinic.session_factory() as session:
        conversation = transcript.get_or_create_conversation(
            session=session, cipher=clinic.cipher, channel="whatsapp", address=PHONE
        )
        session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(last_message_at=datetime(2026, 1, 5, tzinfo=UTC))
        )
        session.commit()
        remember_contact(
            session=session,
            cipher=clinic.cipher,
            patient_id=PATIENT,
            conversation_id=conversation.id,
        )
    clinic.dispatcher.phone = PhoneOutbound(
        db=clinic.dispatcher.db,
        cipher=clinic.cipher,
        transport=clinic.provider,
        whatsapp_templates=templates,
    )
    return clinic, conversation.id


async def remind(clinic: Clinic) -> str:
    outcome = await clinic.dispatcher.dispatch(
        job_id="reminder:appt-1:48h",
        patient_hash=patient_hash(clinic.cipher, PATIENT),
        now=TUESDAY_NOON,
    )
    return outcome.status


async def test_outside_the_window_the_approved_template_goes_instead(tmp_path: Path) -> None:
    clinic, conversation_id = silent_whatsapp_clinic(tmp_path, {REMINDER: TEMPLATE_SID})

    assert await remind(clinic) == "sent"

    assert clinic.bodies == [TEMPLATE_SID]  # the template, never free text
    with clinic.session_factory() as session:
        rows = session.query(Message).filter_by(conversation_id=conversation_id).all()
        logged = [clinic.cipher.decrypt(row.text_ciphertext) for row in rows]
    assert logged == [f"[WhatsApp template: {REMINDER}]"]


async def test_without_a_template_nothing_goes_outside_the_window(tmp_path: Path) -> None:
    clinic, _ = silent_whatsapp_clinic(tmp_path, {})

    assert await remind(clinic) == "failed_whatsapp_window"
    assert clinic.bodies == []
