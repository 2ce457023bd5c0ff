"""SMART Backend Services (client_credentials + private_key_jwt) against sekmet with auth on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from backend.ehr import EhrAuthError, FhirHttpEhr, SmartBackendAuth, connect_ehr

from .servers import RunningServer, start_sekmet


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, path: Path) -> str:
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return str(path)


@pytest.fixture(scope="module")
def keys() -> dict[str, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey]:
    return {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec": ec.generate_private_key(ec.SECP384R1()),
        "other": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }


@pytest.fixture(scope="module")
def smart_server(tmp_path_factory: pytest.TempPathFactory, keys: dict) -> Iterator[RunningServer]:
    d = tmp_path_factory.mktemp("sekmet-smart")
    auth = {
        "types": ["smart"],
        "enforce_scopes": True,
        "smart_clients": [
            {
                "client_id": "assistant-rsa",
                "public_key_path": _public(keys["rsa"], d / "rsa.pem"),
                "scopes": "system/*.read system/*.write",
            },
            {
                "client_id": "assistant-ec",
                "public_key_path": _public(keys["ec"], d / "ec.pem"),
                "scopes": "system/*.read",
            },
        ],
    }
    server = start_sekmet(d, server_auth=auth)
    yield server
    server.stop()


async def test_rs384_client_assertion_gets_a_token_and_reads_and_writes(
    smart_server: RunningServer, keys: dict
) -> None:
    auth = SmartBackendAuth(client_id="assistant-rsa", private_key_pem=_pem(keys["rsa"]))
    async with FhirHttpEhr(smart_server.base_url, auth=auth) as ehr:
        assert await ehr.list_clinics() == []
        created = await ehr.create_flag(patient_id="pat-001", text="token works")
        assert created.id
    assert auth.token_url and auth.token_url.endswith("/auth/token")


async def test_es384_client_with_read_scope_cannot_write(
    smart_server: RunningServer, keys: dict
) -> None:
    auth = SmartBackendAuth(
        client_id="assistant-ec",
        private_key_pem=_pem(keys["ec"]),
        alg="ES384",
        scope="system/*.read",
    )
    async with FhirHttpEhr(smart_server.base_url, auth=auth) as ehr:
        assert await ehr.list_clinics() == []
        with pytest.raises(EhrAuthError, match="403"):
            await ehr.create_flag(patient_id="pat-001", text="not allowed")


async def test_no_credentials_is_an_auth_error(smart_server: RunningServer) -> None:
    async with FhirHttpEhr(smart_server.base_url) as ehr:
        with pytest.raises(EhrAuthError, match="401"):
            await ehr.list_clinics()


async def test_a_key_the_server_does_not_know_is_refused(
    smart_server: RunningServer, keys: dict
) -> None:
    auth = SmartBackendAuth(client_id="assistant-rsa", private_key_pem=_pem(keys["other"]))
    async with FhirHttpEhr(smart_server.base_url, auth=auth) as ehr:
        with pytest.raises(EhrAuthError, match=r"invalid_client|verification failed"):
            await ehr.list_clinics()


async def test_smart_auth_by_configuration_reads_from_the_protected_server(
    smart_server: RunningServer, keys: dict, tmp_path: Path
) -> None:
    key_file = tmp_path / "assistant.pem"
    key_file.write_text(_pem(keys["ec"]))
    ehr = connect_ehr(
        base_url=smart_server.base_url,
        auth="smart",
        smart_client_id="assistant-ec",
        smart_key_file=key_file,
        smart_alg="ES384",
        smart_scope="system/*.read",
    )
    async with ehr:
        assert await ehr.list_clinics() == []


def test_a_smart_configuration_without_a_key_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="client id and a private key"):
        connect_ehr(base_url="http://127.0.0.1:8090/fhir", auth="smart", smart_client_id="x")
    with pytest.raises(ValueError, match="does not exist"):
        connect_ehr(
            base_url="http://127.0.0.1:8090/fhir",
            auth="smart",
            smart_client_id="x",
            smart_key_file=tmp_path / "missing.pem",
        )
    with pytest.raises(ValueError, match="'none' or 'smart'"):
        connect_ehr(base_url="http://127.0.0.1:8090/fhir", auth="basic")  # type: ignore[arg-type]
