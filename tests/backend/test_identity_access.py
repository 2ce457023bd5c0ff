"""The access check every patient-data route goes through (backend/identity/access.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.core.crypto import Cipher
from backend.db.models import IdentityVerification, utcnow
from backend.hub import transcript
from backend.identity.access import (
    NotInCare,
    NotVerified,
    end_verification,
    record_verification,
    require_subject,
    verified_identity,
)
from backend.services import Services
from channels.base import InboundMessage


def _conversation(services: Services, text: str = "hi") -> str:
    with services.session_factory() as session:
        conversation = transcript.get_or_create_conversation(
            session=session, cipher=services.cipher, channel="rest", address="patient-1"
        )
        transcript.log_inbound(
            session=session,
            cipher=services.cipher,
            conversation=conversation,
            message=InboundMessage(channel="rest", address="patient-1", text=text),
            text=text,
        )
        return conversation.id


def test_unverified_conversation_is_refused(services: Services) -> None:
    conversation_id = _conversation(services)
    with services.session_factory() as session, pytest.raises(NotVerified):
        require_subject(session=session, cipher=services.cipher, conversation_id=conversation_id)


def test_verified_patient_reaches_self_and_dependants_only(services: Services) -> None:
    conversation_id = _conversation(services)
    with services.session_factory() as session:
        record_verification(
            session=session,
            cipher=services.cipher,
            conversation_id=conversation_id,
            patient_id="parent-1",
            dependants={"child-1"},
        )
        args = {"session": session, "cipher": services.cipher, "conversation_id": conversation_id}
        assert require_subject(**args) == "parent-1"
        assert require_subject(**args, for_patient="child-1") == "child-1"
        with pytest.raises(NotInCare):
            require_subject(**args, for_patient="stranger-2")


def test_patient_id_is_encrypted_at_rest(services: Services) -> None:
    conversation_id = _conversation(services)
    with services.session_factory() as session:
        record_verification(
            session=session,
            cipher=services.cipher,
            conversation_id=conversation_id,
            patient_id="patient-secret-id",
        )
        row = session.get(IdentityVerification, conversation_id)
        assert row is not None
        assert "patient-secret-id" not in row.patient_ciphertext
        assert Cipher("another-key-0123456789").encrypt("x") != row.patient_ciphertext


def test_silence_longer_than_the_idle_limit_ends_verification(services: Services) -> None:
    conversation_id = _conversation(services)
    verified_at = utcnow()
    with services.session_factory() as session:
        record_verification(
            session=session,
            cipher=services.cipher,
            conversation_id=conversation_id,
            patient_id="p-1",
            now=verified_at,
        )
        args = {"session": session, "cipher": services.cipher, "conversation_id": conversation_id}
        assert verified_identity(**args, now=verified_at + timedelta(minutes=29)) is not None
        assert verified_identity(**args, now=verified_at + timedelta(minutes=31)) is None
        # Once ended it stays ended, even if asked about an earlier moment.
        assert verified_identity(**args, now=verified_at) is None


def test_forget_me_ends_verification_at_once(services: Services) -> None:
    conversation_id = _conversation(services)
    with services.session_factory() as session:
        record_verification(
            session=session, cipher=services.cipher, conversation_id=conversation_id, patient_id="p"
        )
        assert end_verification(session=session, conversation_id=conversation_id)
        assert not end_verification(session=session, conversation_id=conversation_id)
        with pytest.raises(NotVerified):
            require_subject(
                session=session, cipher=services.cipher, conversation_id=conversation_id
            )
