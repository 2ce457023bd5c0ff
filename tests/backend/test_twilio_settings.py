"""Channel settings: half-configured Twilio or Telegram, or a non-https public URL, refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.backend.conftest import make_settings


def test_an_account_sid_without_a_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="TWILIO_AUTH_TOKEN"):
        make_settings(tmp_path, twilio_account_sid="AC" + "0" * 32)


def test_production_needs_an_https_public_url_for_twilio(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="PUBLIC_BASE_URL"):
        make_settings(tmp_path, env="production", twilio_auth_token="t" * 32)
    built = make_settings(
        tmp_path,
        env="production",
        twilio_auth_token="t" * 32,
        public_base_url="https://hub.example.org",
        address_hash_key="a" * 32,  # production needs its own (docs/security.md)
        ehr_auth="smart",
    )
    assert built.public_base_url == "https://hub.example.org"


def test_no_twilio_account_means_the_dev_outbox(tmp_path: Path) -> None:
    assert not make_settings(tmp_path).twilio_account_configured


def test_a_telegram_bot_token_needs_a_strong_webhook_secret(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="TELEGRAM_SECRET_TOKEN"):
        make_settings(tmp_path, telegram_bot_token="123:abc", telegram_secret_token="short")


@pytest.mark.parametrize("sid", ["AC123", "SK" + "0" * 32, "AC" + "0" * 32 + " "])
def test_an_account_sid_not_in_twilios_format_is_refused(tmp_path: Path, sid: str) -> None:
    # Inbound webhooks must name the configured account: a mistyped one would refuse them all.
    with pytest.raises(ValidationError, match="AC followed by 32 hex digits"):
        make_settings(tmp_path, twilio_account_sid=sid, twilio_auth_token="t" * 32)


def test_the_twilio_settings_are_typed_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "ab" * 16)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "t" * 32)
    monkeypatch.setenv("TWILIO_WHATSAPP_TEMPLATES", '{"appointment_reminder": "HX123"}')
    built = make_settings(tmp_path)
    assert built.twilio_account_sid == "AC" + "ab" * 16
    assert built.twilio_whatsapp_templates == {"appointment_reminder": "HX123"}
    assert built.twilio_account_configured
