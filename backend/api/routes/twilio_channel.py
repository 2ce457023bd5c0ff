"""SMS and WhatsApp webhooks from Twilio, and Twilio's delivery status callbacks.

Verify before parse: a request whose X-Twilio-Signature does not validate against the
configured public URL is refused (403) before its form is read. The provider's answer (an
empty TwiML response) comes only after the message is stored; the assistant's replies go
out through the REST API (backend/hub/outbound.py), since the hub may also answer later.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, HTTPException, Request, Response, status

from backend.api.deps import HubDep, PhoneOutboundDep, ServicesDep, SettingsDep
from backend.core.config import Settings
from backend.hub import transcript
from backend.hub.rasa_gateway import AssistantUnavailable
from channels.base import InboundMessage, InvalidMessage, Reply
from channels.twilio.webhook import (
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
UNAVAILABLE = (
    "Sorry, the assistant is unavailable right now. Your message was kept; please try again "
    "in a few minutes."
)
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
    hub: HubDep,
    background: BackgroundTasks,
    signature: SignatureHeader = None,
) -> Response:
    """Inbound SMS from Twilio (signed form post); replies are sent separately."""
    return await _inbound("sms", request, services, hub, background, signature)


@router.post("/whatsapp")
async def twilio_whatsapp(
    request: Request,
    services: ServicesDep,
    hub: HubDep,
    background: BackgroundTasks,
    signature: SignatureHeader = None,
) -> Response:
    """Inbound WhatsApp message from Twilio (signed form post); replies are sent separately."""
    return await _inbound("whatsapp", request, services, hub, background, signature)


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
    if not outbound.record_status(
        message_sid=form["MessageSid"], status=form["MessageStatus"], error_code=form["ErrorCode"]
    ):
        logger.info("status callback for a message the hub did not send")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _inbound(
    channel: str,
    request: Request,
    services: ServicesDep,
    hub: HubDep,
    background: BackgroundTasks,
    signature: str | None,
) -> Response:
    params = await verified_form(request, services.settings, signature)
    try:
        form = parse_inbound(params, channel=channel)
    except MalformedWebhook as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, exc.reason) from exc
    inbound = InboundMessage(
        channel=channel,
        address=form["From"],
        text=form["Body"],
        provider_message_id=form["MessageSid"],
    )
    outbound = services.phone_outbound
    try:
        result = await hub.handle(inbound)
    except InvalidMessage as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.reason) from exc
    except AssistantUnavailable:
        # The message is stored; the patient is told, and Twilio gets its answer.
        with services.session_factory() as session:
            conversation = transcript.find_conversation(
                session=session, cipher=services.cipher, channel=channel, address=form["From"]
            )
        if conversation is not None and outbound is not None:
            background.add_task(
                outbound.deliver, conversation_id=conversation.id, replies=[Reply(UNAVAILABLE)]
            )
        return _twiml()
    if result.replies and outbound is not None:
        background.add_task(
            outbound.deliver, conversation_id=result.conversation_id, replies=result.replies
        )
    return _twiml()


def _twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="application/xml")
