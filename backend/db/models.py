"""Tables of the hub. Patient text and channel addresses are stored only encrypted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_conversation_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    pass


class Conversation(Base):
    """One patient-facing thread on one channel address, known to Rasa only by `id`."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "address_hash"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_conversation_id)
    channel: Mapped[str] = mapped_column(String(16))
    address_hash: Mapped[str] = mapped_column(String(64))
    address_ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Patient messages since the current Rasa session began (see hub/sessions.py).
    session_turns: Mapped[int] = mapped_column(Integer, default=0)


class Message(Base):
    """One message in or out: the transcript clinicians read, encrypted at rest."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id", name="uq_messages_provider_id"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    author: Mapped[str] = mapped_column(String(16))  # patient | bot | clinician | system
    text_ciphertext: Mapped[str] = mapped_column(Text)
    # Buttons offered with an outbound message (encrypted JSON list of {title, payload}).
    buttons_ciphertext: Mapped[str | None] = mapped_column(Text, nullable=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TriageRecord(Base):
    """A finished triage, for the clinicians who pick the conversation up.

    The level and the rule ids are kept in clear (they drive the queue's ordering and audits);
    what the patient said, the answers and the findings are encrypted JSON.
    """

    __tablename__ = "triage_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    level: Mapped[str] = mapped_column(String(32))
    rule_ids: Mapped[list[str]] = mapped_column(JSON)
    summary_ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PhoneConsent(Base):
    """Whether a phone number may be messaged: STOP opts out, START opts back in.

    Keyed by the number's keyed hash (channel "phone"), so an opt-out on SMS holds on
    WhatsApp too; the number itself is not stored here.
    """

    __tablename__ = "phone_consents"

    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    opted_out: Mapped[bool] = mapped_column(Boolean)
    keyword: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutboundDelivery(Base):
    """One message body handed to a provider (or held back), and its delivery status."""

    __tablename__ = "outbound_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id"), nullable=True, index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))  # reply | outreach | clinician | keyword
    provider_message_id: Mapped[str | None] = mapped_column(
        String(64), nullable=True, unique=True
    )
    # queued | sent | delivered | ... (Twilio's MessageStatus) | outbox | blocked_opt_out | failed
    status: Mapped[str] = mapped_column(String(32))
    error_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DevOutboxMessage(Base):
    """A message that would have left the system while no provider is configured."""

    __tablename__ = "dev_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    to_ciphertext: Mapped[str] = mapped_column(Text)
    text_ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Clinician(Base):
    """A console account (created by `python -m backend.handoff.accounts create`)."""

    __tablename__ = "clinicians"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ClinicianSession(Base):
    """A signed-in console session; only a hash of the cookie's token is stored."""

    __tablename__ = "clinician_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Handoff(Base):
    """One escalation of a conversation to clinicians (states in backend/handoff/states.py).

    At most one hand-off per conversation is active (waiting or with a clinician); the partial
    unique index enforces it. The summary (triage findings, level, rules, or the critical
    result) is encrypted JSON.
    """

    __tablename__ = "handoffs"
    __table_args__ = (
        Index(
            "uq_handoffs_one_active_per_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("state IN ('waiting', 'with_clinician')"),
            postgresql_where=text("state IN ('waiting', 'with_clinician')"),
        ),
        Index("ix_handoffs_state_priority_waiting", "state", "priority_rank", "waiting_since"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(8))
    priority_rank: Mapped[int] = mapped_column(Integer)  # 0 urgent, 1 high, 2 normal
    summary_ciphertext: Mapped[str | None] = mapped_column(Text, nullable=True)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("clinicians.id"), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)  # hand_back | close
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    waiting_since: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IdentityVerification(Base):
    """The FHIR Patient a conversation is verified as (backend/identity/access.py).

    The patient id and the ids of the children in their care are stored encrypted: together
    with the conversation they say who is talking to the clinic.
    """

    __tablename__ = "identity_verifications"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    patient_ciphertext: Mapped[str] = mapped_column(Text)
    dependants_ciphertext: Mapped[str] = mapped_column(Text)
    verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
