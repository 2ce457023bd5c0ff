"""Console accounts: the TOTP second factor (QR enrolment, required once set up, no replays,
mandatory by setting), Secure cookies outside development, idle and absolute session limits,
and sign-out everywhere."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from backend.api.console_auth import cookie_secure
from backend.core.config import Settings
from backend.core.crypto import Cipher
from backend.db.migrate import upgrade
from backend.db.models import Clinician, ClinicianSession, as_utc, utcnow
from backend.db.session import make_engine, make_session_factory
from backend.handoff import totp
from backend.main import create_app
from backend.services import Services, build_services
from tests.backend.conftest import make_settings
from tests.utils.console_accounts import LOGIN, make_account, signed_in
from tests.utils.fake_rasa import FakeRasa
from tests.utils.handoffs import PASSWORD, make_clinician

ANN = "ann@clinic.example"
QUEUE = "/console/api/queue"


@pytest.fixture
def ann_id(services: Services) -> int:
    return make_account(services, ANN)


def enrol(client: TestClient) -> pyotp.TOTP:
    """Set up the second factor through the console API; the authenticator app's TOTP."""
    setup = client.post("/console/api/totp/setup")
    assert setup.status_code == 200, setup.text
    body = setup.json()
    assert body["qr"].startswith("data:image/svg+xml") and "<svg" not in body["secret"]
    assert body["uri"].startswith("otpauth://totp/") and body["secret"] in body["uri"]
    app = pyotp.TOTP(body["secret"])
    confirmed = client.post("/console/api/totp/confirm", json={"code": app.now()})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["totp_enabled"] is True
    return app


def next_code(app: pyotp.TOTP) -> str:
    """The code of the next 30-second step: accepted (clock drift) and never used yet."""
    return app.at(time.time() + app.interval)


def login(client: TestClient, code: str | None = None) -> int:
    body = {"email": ANN, "password": PASSWORD, **({"code": code} if code else {})}
    return client.post(LOGIN, json=body).status_code


def test_once_enrolled_sign_in_needs_a_code_and_a_used_code_is_refused(
    client: TestClient, services: Services, ann_id: int
) -> None:
    app = enrol(signed_in(client, ANN))
    with services.session_factory() as session:
        stored = session.get(Clinician, ann_id)
        assert stored is not None and stored.totp_secret_ciphertext
        assert app.secret not in stored.totp_secret_ciphertext  # encrypted at rest
    fresh = TestClient(client.app)
    asked = fresh.post(LOGIN, json={"email": ANN, "password": PASSWORD})
    assert asked.status_code == 401 and asked.headers["X-Second-Factor"] == "totp"
    assert login(fresh, "000000" if app.now() != "000000" else "111111") == 401
    code = next_code(app)
    assert login(fresh, code) == 200
    assert fresh.get(QUEUE).status_code == 200
    assert login(TestClient(client.app), code) == 401  # replayed within its window
    assert login(TestClient(client.app), app.now()) == 401  # the enrolment's own step, used
    assert login(TestClient(client.app), "12ab56") == 422  # not a code at all


def test_a_wrong_password_with_a_right_code_is_refused(client: TestClient, ann_id: int) -> None:
    app = enrol(signed_in(client, ANN))
    body = {"email": ANN, "password": "not the password", "code": next_code(app)}
    assert TestClient(client.app).post(LOGIN, json=body).status_code == 401


def test_wrong_codes_count_towards_the_sign_in_throttle(client: TestClient, ann_id: int) -> None:
    enrol(signed_in(client, ANN))
    fresh = TestClient(client.app)
    statuses = [login(fresh, "000001") for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429


def test_a_second_enrolment_is_refused_until_an_administrator_resets_it(
    client: TestClient, ann_id: int
) -> None:
    enrol(signed_in(client, ANN))
    assert client.post("/console/api/totp/setup").status_code == 409
    assert client.post("/console/api/totp/confirm", json={"code": "123456"}).status_code == 409


def test_a_wrong_confirmation_code_leaves_the_account_without_a_factor(
    client: TestClient, ann_id: int
) -> None:
    signed_in(client, ANN)
    assert client.post("/console/api/totp/confirm", json={"code": "123456"}).status_code == 409
    secret = client.post("/console/api/totp/setup").json()["secret"]
    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    assert client.post("/console/api/totp/confirm", json={"code": wrong}).status_code == 400
    assert client.get("/console/api/me").json()["totp_enabled"] is False
    assert login(TestClient(client.app)) == 200  # no code asked for


def test_when_the_setting_requires_it_an_account_must_enrol_before_anything_else(
    tmp_path: Path, fake_rasa: FakeRasa
) -> None:
    settings = make_settings(tmp_path, console_require_totp=True)
    upgrade(settings.effective_database_url)
    services = build_services(settings, rasa=fake_rasa)
    make_account(services, ANN)
    with TestClient(create_app(settings, services)) as client:
        signed = client.post(LOGIN, json={"email": ANN, "password": PASSWORD})
        assert signed.status_code == 200 and signed.json()["totp_setup_needed"] is True
        assert client.get(QUEUE).status_code == 403
        assert client.get("/console/api/handoffs/1/transcript").status_code == 403
        assert client.get("/console/api/me").status_code == 200
        enrol(client)
        assert client.get(QUEUE).status_code == 200  # the new session, after enrolment


def test_enrolling_ends_the_accounts_other_sessions(client: TestClient, ann_id: int) -> None:
    other = signed_in(TestClient(client.app), ANN)
    enrol(signed_in(client, ANN))
    assert other.get(QUEUE).status_code == 401
    assert client.get(QUEUE).status_code == 200


@pytest.mark.parametrize(("env", "secure"), [("test", True), ("development", False)])
def test_the_cookie_is_secure_everywhere_but_development(
    tmp_path: Path, fake_rasa: FakeRasa, env: str, secure: bool
) -> None:
    settings = make_settings(tmp_path, env=env, console_cookie_secure=None)  # the default
    upgrade(settings.effective_database_url)
    services = build_services(settings, rasa=fake_rasa)
    make_account(services, ANN)
    with TestClient(create_app(settings, services), base_url="https://testserver") as client:
        response = client.post(LOGIN, json={"email": ANN, "password": PASSWORD})
        assert response.status_code == 200
        assert ("secure" in response.headers["set-cookie"].lower()) is secure
        assert client.get(QUEUE).status_code == 200  # and it works over HTTPS


def test_production_cookies_are_secure_unless_an_operator_says_otherwise() -> None:
    production = Settings.model_construct(env="production", console_cookie_secure=None)
    assert cookie_secure(production) is True
    assert cookie_secure(production.model_copy(update={"console_cookie_secure": False})) is False


def test_a_session_left_idle_ends_and_timed_refreshes_do_not_keep_it_alive(
    client: TestClient, services: Services, ann_id: int
) -> None:
    signed_in(client, ANN)
    idle = timedelta(minutes=services.settings.clinician_session_idle_minutes)

    def last_seen(ago: timedelta) -> None:
        with services.session_factory() as session:
            session.execute(update(ClinicianSession).values(last_seen_at=utcnow() - ago))
            session.commit()

    last_seen(idle - timedelta(minutes=2))
    refreshed = client.get(QUEUE, headers={"X-Console-Refresh": "1"})
    assert refreshed.status_code == 200
    with services.session_factory() as session:
        seen = session.scalars(select(ClinicianSession.last_seen_at)).one()
    assert seen is not None and utcnow() - as_utc(seen) > idle / 2  # not moved
    assert client.get(QUEUE).status_code == 200  # a clinician's action moves it
    last_seen(idle + timedelta(seconds=1))
    assert client.get(QUEUE).status_code == 401
    with services.session_factory() as session:
        assert session.scalars(select(ClinicianSession)).all() == []


def test_sign_out_everywhere_ends_every_session_of_the_account_only(
    client: TestClient, services: Services, ann_id: int
) -> None:
    make_account(services, "bob@clinic.example")
    laptop = signed_in(client, ANN)
    phone = signed_in(TestClient(client.app), ANN)
    bob = signed_in(TestClient(client.app), "bob@clinic.example")
    assert phone.post("/console/api/logout-everywhere").status_code == 204
    assert laptop.get(QUEUE).status_code == 401
    assert phone.get(QUEUE).status_code == 401
    assert bob.get(QUEUE).status_code == 200


def test_two_sign_ins_racing_with_one_code_on_postgresql_let_one_through(
    postgres_url: str,
) -> None:
    """Two hub workers given the same code at once: the conditional UPDATE lets one win."""
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    factory = make_session_factory(engine)
    cipher = Cipher("test-encryption-key-0123456789")
    secret = pyotp.random_base32()
    with factory() as session:
        clinician = make_clinician(session)
        clinician.totp_secret_ciphertext = cipher.encrypt(secret)
        session.commit()
        clinician_id = clinician.id
    code = pyotp.TOTP(secret).now()
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def attempt() -> None:
        with factory() as session:
            account = session.get(Clinician, clinician_id)
            assert account is not None
            barrier.wait()
            results.append(
                totp.accept_code(session=session, cipher=cipher, clinician=account, code=code)
            )

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    engine.dispose()
    assert sorted(results) == [False, True]
