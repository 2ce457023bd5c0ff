"""Signed Twilio webhook posts for the hub's tests (the Messages API double is twilio_double)."""

from __future__ import annotations

from itertools import count

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from backend.db.models import Conversation, Message
from backend.hub import transcript
from backend.services import Services
from tests.utils.twilio_double import form_body, sign

TOKEN = "twilio-auth-token-0123456789abcdef"
ACCOUNT = "AC" + "0" * 32
BASE = "https://hub.example.org"
PATIENT = "+15551230001"
SMS_FROM = "+15550100000"
WHATSAPP_FROM = "+15550100001"
_sids = count()


def twilio_overrides(api_base_url: str) -> dict[str, object]:
    """Settings of a configured Twilio account whose API is the local double."""
    return {
        "twilio_account_sid": ACCOUNT,
        "twilio_auth_token": TOKEN,
        "twilio_from_number": SMS_FROM,
        "twilio_whatsapp_from": f"whatsapp:{WHATSAPP_FROM}",
        "public_base_url": BASE,
        "twilio_api_base_url": api_base_url,
    }


def inbound_form(text: str, *, sender: str = PATIENT, channel: str = "sms", **extra: str) -> dict:
    prefix = "whatsapp:" if channel == "whatsapp" else ""
    return {
        "MessageSid": f"SM{next(_sids):032d}",
        "AccountSid": ACCOUNT,
        "From": prefix + sender,
        "To": prefix + (WHATSAPP_FROM if channel == "whatsapp" else SMS_FROM),
        "Body": text,
        "NumMedia": "0",
        **extra,
    }


def post_signed(
    client: TestClient,
    path: str,
    form: dict[str, str],
    *,
    signed_path: str | None = None,
    token: str = TOKEN,
):
    signature = sign(token, BASE + (signed_path or path), form)
    response = client.post(
        path,
        content=form_body(form),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    settle(client)
    return response


def settle(client: TestClient) -> None:
    """Wait until the turns the webhook queued were answered (they run after the webhook's
    answer, in the app's turn queue)."""
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    if services.phone_turns is not None:
        client.portal.call(services.phone_turns.settle)  # type: ignore[union-attr]


def text_in(client: TestClient, text: str, *, channel: str = "sms", sender: str = PATIENT):
    form = inbound_form(text, sender=sender, channel=channel)
    return post_signed(client, f"/channels/twilio/{channel}", form)


def stored_messages(services: Services) -> int:
    with services.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Message)) or 0


def conversation_id(services: Services, channel: str = "sms") -> str:
    with services.session_factory() as session:
        return session.scalars(select(Conversation.id).where(Conversation.channel == channel)).one()


def logged(services: Services, channel: str = "sms") -> list[tuple[str, str]]:
    """(direction, text) of each message in the channel's one conversation, oldest first."""
    with services.session_factory() as session:
        lines = transcript.transcript(
            session=session,
            cipher=services.cipher,
            conversation_id=conversation_id(services, channel),
        )
    return [(line.direction, line.text) for line in lines]
