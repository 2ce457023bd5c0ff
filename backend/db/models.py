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


def as_utc(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime: SQLite gives back naive ones (everything stored
    is UTC), PostgreSQL aware ones."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


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
    # A patient message: when its turn was answered (None while queued or in progress), and
    # the text the assistant gets when it is not the text shown (a picked button's payload).
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    assistant_text_ciphertext: Mapped[str | None] = mapped_column(Text, nullable=True)


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
    provider_message_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
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
    # What the account may read (backend/handoff/console_access.py): clinician | triage_lead.
    role: Mapped[str] = mapped_column(String(16), default="clinician", server_default="clinician")
    # TOTP second factor (backend/handoff/totp.py): the secret, encrypted; one waiting for its
    # first code during enrolment; the time step of the last code accepted (no replays).
    totp_secret_ciphertext: Mapped[str | None] = mapped_column(Text, nullable=True)
    totp_pending_ciphertext: Mapped[str | None] = mapped_column(Text, nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ClinicianSession(Base):
    """A signed-in console session; only a hash of the cookie's token is stored."""

    __tablename__ = "clinician_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # absolute limit
    # The clinician's last action (idle limit); background refreshes do not move it.
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


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
    # When the patient was told (once) that their message waits for a clinician.
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # REST patients can only pull: the first message id they have not received yet, if any.
    patient_unread_from: Mapped[int | None] = mapped_column(Integer, nullable=True)


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


class AccessAudit(Base):
    """One verification attempt or one read/write of patient data (backend/identity/audit.py).

    `patient_id` is the FHIR logical id (an opaque pseudonym, never a name, phone or birth
    date), kept in clear so "who touched this patient" is one indexed query; `detail` holds
    short machine words only (a reason code, a resource type), never patient text.
    """

    __tablename__ = "access_audit"
    __table_args__ = (
        Index("ix_access_audit_patient_at", "patient_id", "at"),
        Index("ix_access_audit_conversation_at", "conversation_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    conversation_id: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(48))  # e.g. identity.code_sent, read.results
    outcome: Mapped[str] = mapped_column(String(16))  # success | failure | denied | error
    detail: Mapped[str | None] = mapped_column(String(200), nullable=True)


class IdentityChallenge(Base):
    """A verification in progress for one conversation (backend/identity/verification.py).

    Candidates, the chosen patient and the phone the code went to are encrypted; the code
    itself is never stored, only its keyed hash.
    """

    __tablename__ = "identity_challenges"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    candidates_ciphertext: Mapped[str] = mapped_column(Text)  # JSON list of patient ids
    patient_ciphertext: Mapped[str | None] = mapped_column(Text, nullable=True)
    phone_key: Mapped[str | None] = mapped_column(String(80), nullable=True)  # "p:" + keyed hash
    code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IdentityAttempt(Base):
    """Failures, locks and codes sent, per conversation or per phone, for lockout and limits.

    `key` is a conversation id or a keyed hash of a phone number, never a number in clear.
    """

    __tablename__ = "identity_attempts"
    __table_args__ = (Index("ix_identity_attempts_key_kind_at", "key", "kind", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))  # failure | lock | code_sent
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HandoffNote(Base):
    """A clinician's private note on a hand-off: never sent to the patient, encrypted."""

    __tablename__ = "handoff_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id"), index=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id"))
    text_ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutreachContact(Base):
    """Where to reach a patient for outreach (backend/outreach/contacts.py), and what they
    agreed to receive. The patient id is stored encrypted; lookups go by its keyed hash."""

    __tablename__ = "outreach_contacts"

    patient_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_ciphertext: Mapped[str] = mapped_column(Text)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    consents: Mapped[list[str]] = mapped_column(JSON, default=list)  # message kinds agreed to
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutreachOutbox(Base):
    """One outreach message, written before it is sent: the record that makes it exactly once.

    `key` is the job id plus the occurrence it is about (an appointment's start, a supply's
    end), so a moved appointment gets its own reminder while a repeat of one never does.
    """

    __tablename__ = "outreach_outbox"
    __table_args__ = (Index("ix_outreach_outbox_patient_at", "patient_hash", "claimed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    job_id: Mapped[str] = mapped_column(String(160), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    patient_hash: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str] = mapped_column(String(32))
    # sending | sent | skipped_<why> | failed_<why>
    status: Mapped[str] = mapped_column(String(32))
    capped: Mapped[bool] = mapped_column(Boolean, default=True)  # counts toward frequency caps
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The highest outbound_deliveries / messages ids when the claim was made: anything for this
    # conversation above them was sent for this claim (one scheduler, one message at a time).
    delivery_mark: Mapped[int] = mapped_column(Integer, default=0)
    message_mark: Mapped[int] = mapped_column(Integer, default=0)


class OutreachPause(Base):
    """A kind of outreach message that staff have paused (nothing of it goes out meanwhile)."""

    __tablename__ = "outreach_pauses"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    paused_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConsoleAudit(Base):
    """One console event: a sign-in (either way), a transcript or notes read or refused, a
    second factor set up, a sign-out everywhere (backend/handoff/console_audit.py).

    Who (`clinician_id`, None for an unknown email), which hand-off, conversation and FHIR
    Patient, when, what and how it ended. `detail` holds a short reason code, never patient
    text; no email address is kept for a sign-in that named no account.
    """

    __tablename__ = "console_audit"
    __table_args__ = (
        Index("ix_console_audit_patient_at", "patient_id", "at"),
        Index("ix_console_audit_clinician_at", "clinician_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("clinicians.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(48))  # e.g. console.transcript.read
    outcome: Mapped[str] = mapped_column(String(16))  # success | failure | denied
    handoff_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    conversation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    patient_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the caller's address
    detail: Mapped[str | None] = mapped_column(String(200), nullable=True)


class WebchatSession(Base):
    """A web chat token the server issued (backend/webchat/sessions.py).

    Only a keyed hash of the token is stored, so the table cannot be used to take over a tab.
    The conversation's channel address is a separate random value, kept encrypted like every
    address, so no copy of the token exists on the server.
    """

    __tablename__ = "webchat_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    address_ciphertext: Mapped[str] = mapped_column(Text)
    # Indexed: rows past the absolute lifetime are deleted by it.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # The last time a tab used the token (connected, wrote, or went away): the idle clock.
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
