"""`make run` says which channels are live with the credentials it was given."""

from __future__ import annotations

from scripts.run import channel_status


def test_with_no_credentials_only_web_chat_is_live() -> None:
    lines = channel_status({})
    assert lines[0] == "web chat and REST: live"
    assert all("development outbox" in line for line in lines[1:])


def test_twilio_and_telegram_credentials_make_their_channels_live() -> None:
    lines = channel_status(
        {
            "TWILIO_ACCOUNT_SID": "AC123",
            "TWILIO_AUTH_TOKEN": "secret",
            "TWILIO_FROM_NUMBER": "+15550100",
            "TELEGRAM_BOT_TOKEN": "123:abc",
        }
    )
    assert lines[1] == "SMS: live (Twilio)"
    assert "development outbox" in lines[2]  # no WhatsApp sender configured
    assert lines[3].startswith("Telegram: live")
