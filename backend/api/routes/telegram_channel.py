"""Telegram webhook: the secret token checked first, then the update stored and its turn
queued (backend/hub/phone_turns.py); the replies go out through the Bot API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Header, HTTPException, Request, status

from backend.api.deps import ServicesDep
from backend.api.rate_limits import accept_phone_message
from backend.hub.telegram_outbound import WEBHOOK_PATH, TelegramOutbound
from channels import telegram
from channels.base import InboundMessage, InvalidMessage, Reply

router = APIRouter(tags=["channels"])


async def get_telegram(services: ServicesDep) -> TelegramOutbound:
    if services.telegram is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "Telegram is not set up")
    return services.telegram


TelegramDep = Annotated[TelegramOutbound, Depends(get_telegram)]


@router.post(WEBHOOK_PATH)
async def telegram_webhook(
    request: Request,
    services: ServicesDep,
    sender: TelegramDep,
    background: BackgroundTasks,
    secret: Annotated[str | None, Header(alias=telegram.SECRET_HEADER)] = None,
) -> dict[str, Any]:
    """One Telegram update (webhook mode); replies are sent through the Bot API."""
    if not telegram.is_authentic(expected=services.settings.telegram_secret_token, received=secret):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the Telegram secret token does not match")
    try:
        update = telegram.parse_update(await request.json())
    except ValueError as exc:  # invalid JSON, or MalformedUpdate
        reason = getattr(exc, "reason", "the body is not JSON")
        raise HTTPException(status.HTTP_400_BAD_REQUEST, reason) from exc
    if update.callback_query_id:
        background.add_task(sender.answer_button, update.callback_query_id)
    if update.chat_id is None:
        return {"ok": True}
    chat = str(update.chat_id)
    if not update.private:  # nothing stored: a group is not a patient
        background.add_task(sender.send_text, chat_id=chat, reply=Reply(telegram.PRIVATE_ONLY_TEXT))
        return {"ok": True}
    if not update.supported:
        background.add_task(sender.send_text, chat_id=chat, reply=Reply(telegram.UNSUPPORTED_TEXT))
        return {"ok": True}
    inbound = InboundMessage(
        channel=telegram.CHANNEL,
        address=chat,
        text=update.text or "",
        provider_message_id=f"update:{update.update_id}",
        choice_index=update.choice_index,
    )
    try:  # stored and queued; over the rate limit stored only (backend/hub/throttling.py)
        accepted = await accept_phone_message(request.app, services, inbound)
    except InvalidMessage as exc:  # Telegram retries non-2xx answers: tell the patient instead
        background.add_task(sender.send_text, chat_id=chat, reply=Reply(f"Sorry: {exc.reason}."))
        return {"ok": True}
    return {"ok": True, "duplicate": accepted.duplicate}
