"""Which messages the assistant cannot read, and what the log keeps of them."""

from __future__ import annotations

import pytest

from backend.hub.unreadable import Unreadable, logged_text, reply_to, why_unreadable
from channels.base import InboundMessage
from channels.twilio.render import render_for_channel

LIMIT = 20


def message(text: str, *, channel: str = "sms", attachments: int = 0) -> InboundMessage:
    return InboundMessage(channel, "+15551230001", text, attachments=attachments)


@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
def test_photos_without_text_and_long_texts_are_unreadable_on_phone_channels(
    channel: str,
) -> None:
    assert why_unreadable(message(" ", channel=channel, attachments=1), max_chars=LIMIT) == (
        Unreadable.ATTACHMENT
    )
    assert why_unreadable(message("x" * (LIMIT + 1), channel=channel), max_chars=LIMIT) == (
        Unreadable.TOO_LONG
    )


def test_a_photo_with_a_caption_is_read_as_its_caption() -> None:
    assert why_unreadable(message("my rash", attachments=1), max_chars=LIMIT) is None


def test_a_text_at_the_limit_is_readable() -> None:
    assert why_unreadable(message(" " + "x" * LIMIT + " "), max_chars=LIMIT) is None


def test_an_empty_text_without_attachments_is_left_to_the_usual_refusal() -> None:
    assert why_unreadable(message("   "), max_chars=LIMIT) is None


@pytest.mark.parametrize("channel", ["rest", "web", "telegram"])
def test_other_channels_keep_refusing_what_they_cannot_read(channel: str) -> None:
    assert why_unreadable(message("x" * (LIMIT + 1), channel=channel), max_chars=LIMIT) is None


def test_the_log_keeps_a_long_text_whole_and_a_note_for_attachments() -> None:
    long = message(" " + "x" * (LIMIT + 1) + "\n")
    assert logged_text(long, Unreadable.TOO_LONG) == "x" * (LIMIT + 1)
    photos = message("", attachments=3)
    assert logged_text(photos, Unreadable.ATTACHMENT) == "[3 attachments with no text, not opened]"


@pytest.mark.parametrize("why", list(Unreadable))
def test_each_answer_is_one_sms_and_says_what_to_do_in_an_emergency(why: Unreadable) -> None:
    [body] = render_for_channel(reply_to(why), "sms")
    assert "emergency" in body
