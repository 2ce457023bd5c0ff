"""Console sign-in: wrong passwords are throttled per account and per client before any
hashing, a right password clears its account, and the count is shared through Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from backend.api.routes import console_session
from backend.handoff.login_throttle import LoginThrottle
from backend.services import Services
from tests.utils.handoffs import PASSWORD, make_clinician

LOGIN = "/console/api/login"
ANN = "ann@clinic.example"


@pytest.fixture
def ann(services: Services) -> None:
    with services.session_factory() as session:
        make_clinician(session)


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The emails whose password was actually checked (hashed)."""
    checked: list[str] = []
    real = console_session.authenticate

    def counting(**kwargs: object) -> object:
        checked.append(str(kwargs["email"]))
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(console_session, "authenticate", counting)
    return checked


def _login(client: TestClient, password: str, email: str = ANN) -> int:
    return client.post(LOGIN, json={"email": email, "password": password}).status_code


def test_after_five_wrong_passwords_even_the_right_one_is_refused_without_hashing(
    client: TestClient, ann: None, hashes: list[str]
) -> None:
    assert [_login(client, f"wrong-{n}") for n in range(5)] == [401] * 5
    refused = client.post(LOGIN, json={"email": ANN, "password": PASSWORD})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert len(hashes) == 5  # the sixth try was turned away before argon2 ran
    assert _login(client, PASSWORD, email="ANN@clinic.example ") == 429  # same account


def test_a_right_password_clears_the_accounts_count(
    client: TestClient, ann: None, hashes: list[str]
) -> None:
    assert [_login(client, "wrong") for _ in range(4)] == [401] * 4
    assert _login(client, PASSWORD) == 200
    assert [_login(client, "wrong") for _ in range(4)] == [401] * 4  # a fresh window


def test_one_client_trying_many_accounts_is_throttled_too(
    client: TestClient, ann: None, hashes: list[str]
) -> None:
    tries = [_login(client, "guess", email=f"user{n}@clinic.example") for n in range(20)]
    assert tries == [401] * 20
    assert _login(client, PASSWORD) == 429  # from the same address, any account
    assert len(hashes) == 20


def test_a_sign_in_waits_for_a_hashing_turn_and_is_told_when_none_comes(
    client: TestClient, services: Services, ann: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services.login_throttle, "hashing_turn", lambda: False)
    response = client.post(LOGIN, json={"email": ANN, "password": PASSWORD})
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"test-login-{uuid.uuid4().hex[:8]}:"
    yield prefix
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


@pytest.mark.redis
def test_two_workers_share_the_count_through_redis(redis_prefix: str) -> None:
    """What worker A counted, worker B refuses (the scaled profile runs several)."""
    a = LoginThrottle(storage_uri="redis://127.0.0.1:6379/0", key_prefix=redis_prefix)
    b = LoginThrottle(storage_uri="redis://127.0.0.1:6379/0", key_prefix=redis_prefix)
    for _ in range(5):
        assert a.refused(email=ANN, client="198.51.100.7") is None
        a.failed(email=ANN, client="198.51.100.7")
    refused = b.refused(email=ANN, client="203.0.113.9")
    assert refused is not None and refused.retry_after_s > 0
    found = Redis.from_url("redis://127.0.0.1:6379/0").scan_iter(f"{redis_prefix}*")
    keys = [k.decode() for k in found]
    assert keys and not any("ann" in k or "clinic" in k for k in keys)  # no email in Redis
