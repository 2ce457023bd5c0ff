"""Phone numbers as the EHR stores them (E.164), from whatever a channel or a record gives."""

from __future__ import annotations

import phonenumbers

WHATSAPP_PREFIX = "whatsapp:"


def to_e164(raw: str, *, region: str = "US") -> str | None:
    """The E.164 form of `raw` ("whatsapp:+1…", "(212) 555-0150", "+44 20…"), or None when
    it is not a valid phone number (a Telegram chat id, a web token)."""
    text = raw.strip()
    if text.lower().startswith(WHATSAPP_PREFIX):
        text = text[len(WHATSAPP_PREFIX) :]
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
