"""Settings refuse placeholder secrets outside development; text is encrypted and keyed;
encryption keys rotate without breaking old text or address lookups."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from backend.core.config import Settings
from backend.core.crypto import Cipher, DecryptionError, UnknownKeyError
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


def test_new_text_is_written_under_the_current_key_and_old_text_stays_readable() -> None:
    old = Cipher("first-secret-xxxxxxxx")
    written_before = old.encrypt("fièvre")
    rotated = Cipher("second-secret-xxxxxxx", old_secrets=["first-secret-xxxxxxxx"])

    assert rotated.decrypt(written_before) == "fièvre"
    written_now = rotated.encrypt("toux")
    assert written_now.startswith(f"{rotated.current_key_id}:")
    assert rotated.current_key_id != old.current_key_id
    assert Cipher("second-secret-xxxxxxx").decrypt(written_now) == "toux"  # the new key alone
    with pytest.raises(DecryptionError):
        old.decrypt(written_now)


def test_text_under_a_key_no_longer_configured_names_its_key_id() -> None:
    token = Cipher("first-secret-xxxxxxxx").encrypt("hello")
    with pytest.raises(UnknownKeyError, match="ENCRYPTION_KEYS_OLD") as error:
        Cipher("second-secret-xxxxxxx").decrypt(token)
    assert error.value.key_id == token.split(":")[0]


def test_rotate_moves_text_to_the_current_key_and_keeps_current_text_as_it_is() -> None:
    rotated = Cipher("second-secret-xxxxxxx", old_secrets=["first-secret-xxxxxxxx"])
    old_token = Cipher("first-secret-xxxxxxxx").encrypt("hello")

    new_token = rotated.rotate(old_token)

    assert rotated.is_current(new_token) and not rotated.is_current(old_token)
    assert Cipher("second-secret-xxxxxxx").decrypt(new_token) == "hello"
    assert rotated.rotate(new_token) == new_token


def test_text_written_before_key_ids_is_still_readable_and_rotatable() -> None:
    """Ciphertext from before key rotation is a bare Fernet token under the same derivation."""
    master = hashlib.sha256(b"first-secret-xxxxxxxx").digest()
    key = hmac.new(master, b"message-text", "sha256").digest()
    legacy = Fernet(base64.urlsafe_b64encode(key)).encrypt(b"hello").decode()
    rotated = Cipher("second-secret-xxxxxxx", old_secrets=["first-secret-xxxxxxxx"])

    assert rotated.decrypt(legacy) == "hello"
    assert Cipher("second-secret-xxxxxxx").decrypt(rotated.rotate(legacy)) == "hello"


def test_address_hashes_do_not_change_when_the_encryption_key_rotates() -> None:
    before = Cipher("first-secret-xxxxxxxx", address_secret="address-secret-xxxxxx")
    after = Cipher(
        "second-secret-xxxxxxx",
        old_secrets=["first-secret-xxxxxxxx"],
        address_secret="address-secret-xxxxxx",
    )
    assert before.address_hash("sms", "+15551234567") == after.address_hash("sms", "+15551234567")
    assert after.address_hash("sms", "+15551234567") != Cipher(
        "second-secret-xxxxxxx", address_secret="another-address-secret"
    ).address_hash("sms", "+15551234567")


def test_without_an_address_key_hashes_match_those_written_before_rotation_existed() -> None:
    """Development keeps deriving the address key from ENCRYPTION_KEY, exactly as before, and
    a production upgrade sets ADDRESS_HASH_KEY to that ENCRYPTION_KEY: stored hashes match."""
    master = hashlib.sha256(b"first-secret-xxxxxxxx").digest()
    key = hmac.new(master, b"address-hash", "sha256").digest()
    legacy = hmac.new(key, b"sms\0+15551234567", "sha256").hexdigest()

    assert Cipher("first-secret-xxxxxxxx").address_hash("sms", "+15551234567") == legacy
    upgraded = Cipher("second-secret-xxxxxxx", address_secret="first-secret-xxxxxxxx")
    assert upgraded.address_hash("sms", "+15551234567") == legacy


def test_the_cipher_is_built_from_the_settings(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        encryption_key="second-secret-xxxxxxx",
        encryption_keys_old=" first-secret-xxxxxxxx , ,third-secret-xxxxxxxx",
        address_hash_key="address-secret-xxxxxx",
    )
    cipher = Cipher.from_settings(settings)

    assert cipher.current_key_id == Cipher("second-secret-xxxxxxx").current_key_id
    for old in ("first-secret-xxxxxxxx", "third-secret-xxxxxxxx"):
        assert cipher.decrypt(Cipher(old).encrypt("hello")) == "hello"
    expected = Cipher("x" * 20, address_secret="address-secret-xxxxxx")
    assert cipher.address_hash("sms", "+1555") == expected.address_hash("sms", "+1555")


def production(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "production",
        "address_hash_key": "address-secret-0123456789",
        "ehr_auth": "smart",
    }
    return make_settings(tmp_path, **(values | overrides))


def test_production_starts_with_its_own_address_key_and_smart_ehr_auth(tmp_path: Path) -> None:
    assert production(tmp_path).address_hash_key == "address-secret-0123456789"


@pytest.mark.parametrize("value", ["", "short", "change-me"])
def test_production_refuses_a_missing_or_weak_address_hash_key(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValidationError, match="ADDRESS_HASH_KEY"):
        production(tmp_path, address_hash_key=value)


def test_production_refuses_ehr_auth_none(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="EHR_AUTH=none") as error:
        production(tmp_path, ehr_auth="none")
    assert "EHR_AUTH=smart" in str(error.value)


def test_a_rotation_without_an_address_key_is_refused_in_every_environment(
    tmp_path: Path,
) -> None:
    """Derived from ENCRYPTION_KEY, the address key would change with it: no conversation
    would be found again."""
    with pytest.raises(ValidationError, match="ADDRESS_HASH_KEY"):
        make_settings(tmp_path, env="test", encryption_keys_old="first-secret-xxxxxxxx")


def test_development_and_test_accept_ehr_auth_none_and_no_address_key(tmp_path: Path) -> None:
    assert make_settings(tmp_path, env="test").ehr_auth == "none"
    dev = Settings(_env_file=None, env="development")  # type: ignore[call-arg]
    assert dev.ehr_auth == "none" and dev.address_hash_key == ""


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
