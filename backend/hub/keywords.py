"""Carrier keywords (STOP, START, HELP), answered by the hub itself before Rasa.

The lists are Twilio's defaults for long codes. A keyword counts only as the whole message
(case and surrounding whitespace or punctuation aside), so "stop reminders please" goes to
the assistant. Opting out is per phone number, across SMS and WhatsApp, and persists until
the patient opts back in; the outbound sender checks it before every message.

On STOP the hub sends nothing: on SMS the carrier (Twilio) sends the one confirmation it is
allowed to send, and anything the hub sent would be refused (Twilio error 21610).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.db.models import PhoneConsent, utcnow
from channels.base import InboundMessage, Reply

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
)
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
# Channels whose address is a phone number: the only ones carrier keywords apply to.
PHONE_CHANNELS = frozenset({"sms", "whatsapp"})
_TRIM = " \t\r\n.!?"


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


def classify(text: str) -> Keyword | None:
    """The carrier keyword `text` is, if the whole message is one."""
    word = text.strip(_TRIM).upper()
    if word in OPT_OUT_KEYWORDS:
        return Keyword.OPT_OUT
    if word in OPT_IN_KEYWORDS:
        return Keyword.OPT_IN
    if word in HELP_KEYWORDS:
        return Keyword.HELP
    return None


def phone_hash(cipher: Cipher, phone: str) -> str:
    """The consent key of an E.164 number: the same on every phone channel."""
    return cipher.address_hash("phone", phone)


def is_opted_out(*, session: Session, cipher: Cipher, phone: str) -> bool:
    """True when the number sent an opt-out keyword and has not opted back in since."""
    consent = session.get(PhoneConsent, phone_hash(cipher, phone))
    return consent is not None and consent.opted_out


def record_consent(
    *, session: Session, cipher: Cipher, phone: str, opted_out: bool, keyword: str, channel: str
) -> None:
    """Persist the number's opt-out (or opt-in) at once."""
    key = phone_hash(cipher, phone)
    consent = session.get(PhoneConsent, key)
    if consent is None:
        consent = PhoneConsent(phone_hash=key)
        session.add(consent)
    consent.opted_out = opted_out
    consent.keyword = keyword[:16]
    consent.channel = channel
    consent.changed_at = utcnow()
    session.commit()


class KeywordDesk:
    """Answers carrier keywords for the hub; None means "not a keyword, carry on"."""

    def __init__(self, *, cipher: Cipher, clinic_name: str, clinic_phone: str) -> None:
        self._cipher = cipher
        self.help_text = (
            f"{clinic_name}: this is the clinic's messaging assistant. For help call "
            f"{clinic_phone}; in an emergency call your local emergency number. "
            "Reply STOP to opt out of all messages, START to opt back in."
        )
        self.opted_in_text = (
            f"You will receive messages from {clinic_name} again. "
            "Reply HELP for help, STOP to opt out."
        )

    def answer(self, *, session: Session, message: InboundMessage) -> list[Reply] | None:
        """The hub's own replies to a keyword (possibly none), or None for any other text."""
        if message.channel not in PHONE_CHANNELS:
            return None
        keyword = classify(message.text)
        if keyword is None:
            return None
        word = message.text.strip(_TRIM).upper()
        if keyword is Keyword.OPT_OUT:
            record_consent(
                session=session,
                cipher=self._cipher,
                phone=message.address,
                opted_out=True,
                keyword=word,
                channel=message.channel,
            )
            return []
        if keyword is Keyword.OPT_IN:
            opted_out = is_opted_out(session=session, cipher=self._cipher, phone=message.address)
            if word == "YES" and not opted_out:
                return None  # an ordinary "yes" to the assistant
            record_consent(
                session=session,
                cipher=self._cipher,
                phone=message.address,
                opted_out=False,
                keyword=word,
                channel=message.channel,
            )
            return [Reply(text=self.opted_in_text)]
        return [Reply(text=self.help_text)]
