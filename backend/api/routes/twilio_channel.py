"""SMS and WhatsApp webhooks from Twilio, and Twilio's delivery status callbacks.

Verify before parse: a request whose X-Twilio-Signature does not validate against the
configured public URL is refused (403) before its form is read. The provider's answer (an
empty TwiML response) comes as soon as the message is stored and its turn queued: the turn
runs in a queue worker (backend/hub/phone_turns.py) and the assistant's replies go out
through the REST API (backend/hub/outbound.py), never as TwiML.

After the signature, the form's sids must have Twilio's exact formats and name the
configured account (channels/twilio/webhook.py says why). A message the assistant cannot
read (photos only, or too long) is still stored and answered (backend/hub/unreadable.py).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, Response, status

from backend.api.deps import PhoneOutboundDep, ServicesDep, SettingsDep
from backend.api.rate_limits import accept_phone_message
from backend.core.config import Settings
from backend.services import Services
from channels.base import InboundMessage, InvalidMessage
from channels.twilio.webhook import (
    ForeignAccount,
    FormParams,
    MalformedWebhook,
    decode_form,
    is_authentic,
    parse_inbound,
    parse_status,
    signed_url,
)

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/channels/twilio", tags=["channels"])

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
SignatureHeader = Annotated[str | None, Header(alias="X-Twilio-Signature")]


async def verified_form(request: Request, settings: Settings, signature: str | None) -> FormParams:
    """The request's form, once its Twilio signature validates; 403 otherwise."""
    if not settings.twilio_auth_token:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the Twilio channel is not configured")
    if not signature:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "X-Twilio-Signature is missing")
    params = decode_form(await request.body())
    url = signed_url(settings.public_base_url, request.url.path, request.url.query)
    if params is None or not is_authentic(
        auth_token=settings.twilio_auth_token, url=url, params=params, signature=signature
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "X-Twilio-Signature does not validate")
    return params


@router.post("/sms")
async def twilio_sms(
    request: Request,
    services: ServicesDep,
    signature: SignatureHeader = None,
) -> Response:
    """Inbound SMS from Twilio (signed form post); replies are sent separately."""
    return await _inbound("sms", request, services, signature)


@router.post("/whatsapp")
async def twilio_whatsapp(
    request: Request,
    services: ServicesDep,
    signature: SignatureHeader = None,
) -> Response:
    """Inbound WhatsApp message from Twilio (signed form post); replies are sent separately."""
    return await _inbound("whatsapp", request, services, signature)


@router.post("/status", status_code=status.HTTP_204_NO_CONTENT)
async def twilio_status(
    request: Request,
    settings: SettingsDep,
    outbound: PhoneOutboundDep,
    signature: SignatureHeader = None,
) -> Response:
    """Delivery status callback for a message the hub sent (signed form post)."""
    params = await verified_form(request, settings, signature)
    try:
        form = parse_status(params)
    except MalformedWebhook as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, exc.reason) from exc
    outcome = await outbound.record_status(
        message_sid=form["MessageSid"], status=form["MessageStatus"], error_code=form["ErrorCode"]
    )
    # Acknowledged whatever the outcome: Twilio retries an error, and a late or replayed
    # callback is not an error, only not news.
    if outcome != "recorded":
        logger.info("status callback not recorded (%s)", outcome)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _inbound(
    channel: str, request: Request, services: Services, signature: str | None
) -> Response:
    params = await verified_form(request, services.settings, signature)
    try:
        form = parse_inbound(
            params, channel=channel, account_sid=services.settings.twilio_account_sid
        )
    except ForeignAccount as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, exc.reason) from exc
    except MalformedWebhook as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, exc.reason) from exc
    inbound = InboundMessage(
        channel=channel,
        address=form["From"],
        text=form["Body"],
        provider_message_id=form["MessageSid"],
        attachments=form["NumMedia"],
    )
    try:
        # Stored, queued, acknowledged: the turn runs in a queue worker, the replies go out
        # through Twilio's API (backend/hub/phone_turns.py). Over the rate limit it is stored
        # but not queued (backend/hub/throttling.py); Twilio gets its 200 either way.
        await accept_phone_message(request.app, services, inbound)
    except InvalidMessage as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.reason) from exc
    return _twiml()


def _twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="application/xml")
