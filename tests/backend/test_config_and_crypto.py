"""Settings refuse placeholder secrets outside development; text is encrypted and keyed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from backend.core.config import Settings
from backend.core.crypto import Cipher, DecryptionError
from tests.backend.conftest import make_settings


def test_development_accepts_the_placeholder_secrets(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, env="development")  # type: ignore[call-arg]
    assert settings.service_token == "dev-service-token"


@pytest.mark.parametrize("field", ["encryption_key", "service_token", "rasa_token"])
@pytest.mark.parametrize("value", ["dev-service-token", "change-me", "short"])
def test_production_refuses_placeholder_or_short_secrets(
    tmp_path: Path, field: str, value: str
) -> None:
    with pytest.raises(ValidationError) as error:
        make_settings(tmp_path, env="production", **{field: value})
    assert field.upper() in str(error.value)


def test_database_defaults_to_sqlite_under_var_dir(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url="")
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'backend.db'}"


def test_cipher_round_trips_unicode_and_hides_the_text() -> None:
    cipher = Cipher("a-secret-of-some-length")
    token = cipher.encrypt("fièvre 39°C 🤒")
    assert "fièvre" not in token
    assert cipher.decrypt(token) == "fièvre 39°C 🤒"


def test_text_encrypted_under_another_key_cannot_be_read() -> None:
    token = Cipher("first-secret-xxxxxxxx").encrypt("hello")
    with pytest.raises(DecryptionError):
        Cipher("second-secret-xxxxxxx").decrypt(token)


def test_address_hash_is_stable_keyed_and_channel_specific() -> None:
    cipher = Cipher("a-secret-of-some-length")
    assert cipher.address_hash("sms", "+15551234567") == cipher.address_hash("sms", "+15551234567")
    assert cipher.address_hash("sms", "+15551234567") != cipher.address_hash(
        "whatsapp", "+15551234567"
    )
    assert cipher.address_hash("sms", "+15551234567") != Cipher("other-secret-xxxx").address_hash(
        "sms", "+15551234567"
    )


def test_the_ehr_is_built_from_settings_and_smart_needs_a_client_and_key(tmp_path: Path) -> None:
    from backend.ehr.fhir_http import FhirHttpEhr
    from backend.services import ehr_from_settings

    assert isinstance(ehr_from_settings(make_settings(tmp_path)), FhirHttpEhr)
    with pytest.raises(ValueError, match="client id"):
        ehr_from_settings(make_settings(tmp_path, ehr_auth="smart"))
    with pytest.raises(ValueError, match="does not exist"):
        ehr_from_settings(
            make_settings(
                tmp_path,
                ehr_auth="smart",
                ehr_smart_client_id="assistant",
                ehr_smart_key_file=str(tmp_path / "missing.pem"),
            )
        )


def test_the_default_outreach_consent_names_known_kinds_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backend.outreach.kinds import ALL_KINDS

    assert make_settings(tmp_path).outreach_default_consents == list(ALL_KINDS)
    monkeypatch.setenv("OUTREACH_DEFAULT_CONSENTS", '["appointment_reminder"]')
    assert make_settings(tmp_path).outreach_default_consents == ["appointment_reminder"]
    monkeypatch.setenv("OUTREACH_DEFAULT_CONSENTS", "[]")
    assert make_settings(tmp_path).outreach_default_consents == []
    monkeypatch.setenv("OUTREACH_DEFAULT_CONSENTS", '["appointment_remindr"]')
    with pytest.raises(ValidationError) as error:
        make_settings(tmp_path)
    assert "OUTREACH_DEFAULT_CONSENTS" in str(error.value).upper()


def test_env_example_lists_every_setting_with_a_comment() -> None:
    """.env.example is the operators' reference: every setting of the backend and of the
    action server, each in a block that says what it is for."""
    import re

    root = Path(__file__).resolve().parents[2]
    example = (root / ".env.example").read_text()
    listed: dict[str, bool] = {}
    for block in re.split(r"\n\s*\n", example):
        commented = any(line.startswith("# ") for line in block.splitlines())
        # "# NAME=example" lists a setting whose default is best left alone
        for match in re.finditer(r"^(?:# )?([A-Z][A-Z0-9_]*)=", block, re.MULTILINE):
            listed[match.group(1)] = commented
    actions = set(
        re.findall(
            r'os\.environ\.get\("([A-Z0-9_]+)"', (root / "bot/actions/settings.py").read_text()
        )
    )
    wanted = {name.upper() for name in Settings.model_fields} | actions

    assert sorted(wanted - set(listed)) == []
    assert sorted(name for name in wanted if not listed.get(name)) == []
