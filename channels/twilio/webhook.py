"""Inbound Twilio webhooks: verify the signature first, then parse the form.

Twilio signs every webhook with the account's auth token over the exact public URL it
called and the form's parameters (`X-Twilio-Signature`). Nothing in a request is trusted,
or even looked at beyond decoding the form, until that signature validates.

The signature is made over the parameters' names and values run together with nothing
between them, so a captured request can be replayed with a value's boundary moved (the
`NumMedia=0` that follows `MessageSid` folded into it: `MessageSid=SM...NumMedia0`) and
still validate. Such a request differs from the original only in where the fields end, so
the fields' exact formats are checked after the signature: a message sid is `SM` or `MM`
and 32 hex digits, an account sid `AC` and 32 hex digits (docs/security.md, "Twilio").
"""

from __future__ import annotations

import re
from typing import TypedDict
from urllib.parse import parse_qsl

import phonenumbers
from twilio.request_validator import RequestValidator

from channels.twilio.sids import ACCOUNT_SID, MESSAGE_SID

WHATSAPP_PREFIX = "whatsapp:"
MAX_FORM_BYTES = 64 * 1024
# Twilio sends at most 10 media with one message; three digits leave room and bound the int.
NUM_MEDIA = re.compile(r"[0-9]{1,3}")


class MalformedWebhook(ValueError):
    """The (authentic) webhook lacks a field or carries an unusable value; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ForeignAccount(MalformedWebhook):
    """The (authentic) webhook names another Twilio account than the one configured."""


class FormParams(dict[str, list[str]]):
    """A decoded form that keeps repeated keys, in the shape RequestValidator reads."""

    def getall(self, name: str) -> list[str]:
        """Every value sent under `name` (RequestValidator signs them all)."""
        return self[name]

    def first(self, name: str) -> str | None:
        """The first value of `name`, or None when absent."""
        values = self.get(name)
        return values[0] if values else None


class TwilioInboundForm(TypedDict):
    """The fields of an inbound message webhook the hub uses (address already E.164).

    `Body` is empty for a message of photos or files only; `NumMedia` counts them.
    """

    MessageSid: str
    AccountSid: str
    From: str
    To: str
    Body: str
    NumMedia: int


class TwilioStatusForm(TypedDict):
    """The fields of a message status callback."""

    MessageSid: str
    MessageStatus: str
    ErrorCode: str | None


def decode_form(body: bytes) -> FormParams | None:
    """The form's parameters, or None when the body is not a decodable urlencoded form."""
    if len(body) > MAX_FORM_BYTES:
        return None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        return None
    params = FormParams()
    for name, value in pairs:
        params.setdefault(name, []).append(value)
    return params


def signed_url(public_base_url: str, path: str, query: str = "") -> str:
    """The URL Twilio called (and signed): the configured public base, the path, the query."""
    url = public_base_url.rstrip("/") + path
    return f"{url}?{query}" if query else url


def is_authentic(*, auth_token: str, url: str, params: FormParams, signature: str | None) -> bool:
    """True only when `signature` is Twilio's signature of `url` and `params` under the token."""
    if not auth_token or not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, params, signature))


def normalise_address(raw: str, *, channel: str) -> str:
    """The sender as E.164 ("+15551234567"); WhatsApp's "whatsapp:" prefix is removed.

    Raises MalformedWebhook for anything that is not a possible international number, and
    for a WhatsApp address without its prefix (or an SMS address with one).
    """
    value = raw.strip()
    if channel == "whatsapp":
        if not value.lower().startswith(WHATSAPP_PREFIX):
            raise MalformedWebhook("a WhatsApp sender must start with 'whatsapp:'")
        value = value[len(WHATSAPP_PREFIX) :]
    elif value.lower().startswith(WHATSAPP_PREFIX):
        raise MalformedWebhook("an SMS sender cannot be a WhatsApp address")
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise MalformedWebhook(f"sender is not a phone number ({exc.error_type})") from exc
    if not phonenumbers.is_possible_number(number):
        raise MalformedWebhook("sender is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_inbound(params: FormParams, *, channel: str, account_sid: str) -> TwilioInboundForm:
    """The inbound message fields, `From` normalised to E.164. Raises MalformedWebhook, and
    ForeignAccount when `account_sid` (the configured account; empty: not configured, so
    only the format is checked) is not the form's AccountSid."""
    fields = {name: _single(params, name) for name in ("MessageSid", "AccountSid", "From", "To")}
    for name, value in fields.items():
        if not value:
            raise MalformedWebhook(f"the form has no {name}")
    message_sid, form_account = str(fields["MessageSid"]), str(fields["AccountSid"])
    if not MESSAGE_SID.fullmatch(message_sid):
        raise MalformedWebhook("MessageSid is not a Twilio message sid (SM or MM + 32 hex digits)")
    if not ACCOUNT_SID.fullmatch(form_account):
        raise MalformedWebhook("AccountSid is not a Twilio account sid (AC + 32 hex digits)")
    if account_sid and form_account != account_sid:
        raise ForeignAccount("AccountSid is not the configured TWILIO_ACCOUNT_SID")
    num_media = _num_media(params)
    body = _single(params, "Body")
    if body is None and not num_media:
        raise MalformedWebhook("the form has no Body")
    return TwilioInboundForm(
        MessageSid=message_sid,
        AccountSid=form_account,
        From=normalise_address(str(fields["From"]), channel=channel),
        To=str(fields["To"]),
        Body=body or "",
        NumMedia=num_media,
    )


def parse_status(params: FormParams) -> TwilioStatusForm:
    """The status callback fields. Raises MalformedWebhook."""
    sid = _single(params, "MessageSid")
    status = _single(params, "MessageStatus") or _single(params, "SmsStatus")
    if not sid or not status:
        raise MalformedWebhook("a status callback needs MessageSid and MessageStatus")
    return TwilioStatusForm(
        MessageSid=sid, MessageStatus=status, ErrorCode=_single(params, "ErrorCode") or None
    )


def _num_media(params: FormParams) -> int:
    """How many photos or files came with the message (0 when Twilio did not say)."""
    raw = _single(params, "NumMedia")
    if raw is None or raw == "":
        return 0
    if not NUM_MEDIA.fullmatch(raw):
        raise MalformedWebhook("NumMedia is not a count")
    return int(raw)


def _single(params: FormParams, name: str) -> str | None:
    values = params.get(name)
    if values is None:
        return None
    if len(values) != 1:
        raise MalformedWebhook(f"the form repeats {name}")
    return values[0]
