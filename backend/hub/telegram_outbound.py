"""Sending to Telegram chats with python-telegram-bot's `Bot` (or the development outbox).

The Bot talks to `TELEGRAM_API_BASE_URL` (tests: a local double of the Bot API). With no bot
token configured, messages go to the development outbox instead. The database (the chat id,
the outbox) is used in short `DbWork` steps, never while Telegram is being called.
"""

from __future__ import annotations

import logging
from functools import partial

from sqlalchemy.orm import Session
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import TelegramError

from backend.core.crypto import Cipher
from backend.db.models import Conversation
from backend.db.work import DbWork
from backend.hub.transports import keep_in_outbox
from channels.base import Reply
from channels.telegram import CHANNEL, inline_keyboard

logger = logging.getLogger(__name__)
WEBHOOK_PATH = "/channels/telegram"  # backend/api/routes/telegram_channel.py


class TelegramOutbound:
    """Replies, keyboards and callback answers for Telegram chats."""

    def __init__(
        self,
        *,
        db: DbWork,
        cipher: Cipher,
        bot_token: str,
        api_base_url: str = "https://api.telegram.org",
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._bot = (
            Bot(bot_token, base_url=f"{api_base_url.rstrip('/')}/bot") if bot_token else None
        )

    async def deliver(self, *, conversation_id: str, replies: list[Reply]) -> int:
        """Send `replies` to the conversation's chat; the count of messages sent."""
        chat_id = await self._db.run(partial(self._chat_id, conversation_id))
        sent = 0
        for reply in replies:
            if not await self.send_text(chat_id=chat_id, reply=reply):
                break
            sent += 1
        return sent

    def _chat_id(self, conversation_id: str, session: Session) -> str:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None or conversation.channel != CHANNEL:
            raise ValueError(f"conversation {conversation_id} is not a Telegram chat")
        return self._cipher.decrypt(conversation.address_ciphertext)

    async def send_text(self, *, chat_id: str, reply: Reply) -> bool:
        """Send one reply (buttons as an inline keyboard); False when Telegram refused it."""
        if self._bot is None:
            options = "".join(f"\n[{b['title']}]" for b in reply.buttons)
            body = reply.text + options
            await self._db.run(
                lambda s: keep_in_outbox(s, self._cipher, channel=CHANNEL, to=chat_id, body=body)
            )
            return True
        markup = None
        if reply.buttons:
            markup = InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(b["text"], callback_data=b["callback_data"])]
                    for [b] in inline_keyboard(reply)
                ]
            )
        try:
            await self._bot.send_message(chat_id=int(chat_id), text=reply.text, reply_markup=markup)
        except TelegramError as exc:
            logger.warning("Telegram refused a message: %s", exc.__class__.__name__)
            return False
        return True

    async def answer_button(self, callback_query_id: str) -> None:
        """Stop the button's spinner in the patient's app."""
        if self._bot is None:
            return
        try:
            await self._bot.answer_callback_query(callback_query_id)
        except TelegramError as exc:
            logger.info("callback answer refused: %s", exc.__class__.__name__)

    async def register_webhook(self, *, public_base_url: str, secret_token: str) -> bool:
        """Tell Telegram where to deliver updates (webhook mode, inside the hub) and with
        which secret; False when there is no bot or Telegram refused (the hub still starts)."""
        if self._bot is None:
            return False
        try:
            return bool(
                await self._bot.set_webhook(
                    url=f"{public_base_url.rstrip('/')}{WEBHOOK_PATH}",
                    secret_token=secret_token or None,
                    allowed_updates=["message", "edited_message", "callback_query"],
                    drop_pending_updates=False,
                )
            )
        except TelegramError as exc:
            logger.warning("Telegram refused setWebhook: %s", exc.__class__.__name__)
            return False

    async def aclose(self) -> None:
        if self._bot is not None:
            await self._bot.shutdown()
