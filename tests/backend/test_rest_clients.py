"""The REST channel is for scripts: off unless clients are configured, then one API key per
client, and conversations that belong to one client (channels/rest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from backend.core.config import Settings
from backend.db.migrate import upgrade
from backend.db.models import Conversation
from backend.hub import transcript
from backend.hub.pipeline import WAITING_FOR_CLINICIAN
from backend.main import create_app
from backend.services import Services, build_services
from channels import rest
from scripts import rest_client
from tests.backend.conftest import chest_pain_screen, make_settings
from tests.utils.fake_rasa import FakeRasa
from tests.utils.rest_client import HEADERS, KEY
from tests.utils.twilio_channel import stored_messages

WEBHOOK = "/channels/rest/webhook"
OTHER_KEY = "other-client-key-0123456789abcdef"
OTHER = {"Authorization": f"Bearer {OTHER_KEY}"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    clients = {"tests": rest.key_hash(KEY), "other": rest.key_hash(OTHER_KEY)}
    built = make_settings(tmp_path, rest_clients=clients)
    upgrade(built.effective_database_url)
    return built


@pytest.fixture
def anonymous(settings: Settings, services: Services) -> Iterator[TestClient]:
    """A client that sends no API key of its own."""
    with TestClient(create_app(settings, services)) as test_client:
        yield test_client


def test_without_clients_the_channel_is_not_there(tmp_path: Path, fake_rasa: FakeRasa) -> None:
    settings = make_settings(tmp_path, rest_clients={})
    upgrade(settings.effective_database_url)
    services = build_services(settings, rasa=fake_rasa, safety_screen=chest_pain_screen)
    with TestClient(create_app(settings, services), headers=HEADERS) as client:
        sent = client.post(WEBHOOK, json={"sender": "alice", "message": "hello"})
        malformed = client.post(WEBHOOK, content=b"{oops", headers={"content-type": "text/json"})
    assert (sent.status_code, sent.json()) == (404, {"detail": "Not Found"})
    assert malformed.status_code == 404
    assert stored_messages(services) == 0 and fake_rasa.received == []


def test_the_default_settings_keep_the_channel_off() -> None:
    assert Settings(_env_file=None, env="development").rest_clients == {}  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", f"Bearer {KEY}x", f"Basic {KEY}", KEY, "Bearer é".encode()],
)
def test_a_missing_or_wrong_key_is_refused_with_401_and_nothing_is_stored(
    anonymous: TestClient,
    services: Services,
    fake_rasa: FakeRasa,
    authorization: str | bytes | None,
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = anonymous.post(
        WEBHOOK, json={"sender": "alice", "message": "hello"}, headers=headers
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["detail"]
    assert stored_messages(services) == 0 and fake_rasa.received == []


def test_without_a_key_a_malformed_body_is_a_401_not_a_422(anonymous: TestClient) -> None:
    response = anonymous.post(WEBHOOK, content=b"{oops", headers={"content-type": "text/json"})
    assert response.status_code == 401


def test_each_client_is_answered_with_its_own_key(
    anonymous: TestClient, fake_rasa: FakeRasa
) -> None:
    mine = anonymous.post(WEBHOOK, json={"sender": "a", "message": "hi"}, headers=HEADERS)
    theirs = anonymous.post(WEBHOOK, json={"sender": "a", "message": "hi"}, headers=OTHER)
    assert mine.json() == theirs.json() == [{"text": "echo: hi"}]
    lowercase = anonymous.post(
        WEBHOOK, json={"sender": "a", "message": "hi"}, headers={"authorization": f"bearer {KEY}"}
    )
    assert lowercase.status_code == 200


def test_two_clients_with_the_same_sender_have_two_conversations(
    anonymous: TestClient, fake_rasa: FakeRasa
) -> None:
    anonymous.post(WEBHOOK, json={"sender": "alice", "message": "one"}, headers=HEADERS)
    anonymous.post(WEBHOOK, json={"sender": "alice", "message": "two"}, headers=OTHER)
    anonymous.post(WEBHOOK, json={"sender": "alice", "message": "three"}, headers=HEADERS)
    mine, theirs, mine_again = (conversation for conversation, _ in fake_rasa.received)
    assert mine == mine_again != theirs


def test_one_client_cannot_reach_anothers_conversation(
    anonymous: TestClient, services: Services, fake_rasa: FakeRasa
) -> None:
    """Client A's "alice" waits for a clinician after an emergency; client B's "alice" is
    another conversation, answered by the assistant, and nothing of A's reaches it."""
    anonymous.post(
        WEBHOOK, json={"sender": "alice", "message": "crushing chest pain"}, headers=HEADERS
    )
    theirs = anonymous.post(WEBHOOK, json={"sender": "alice", "message": "hi"}, headers=OTHER)
    assert theirs.json() == [{"text": "echo: hi"}]
    mine = anonymous.post(WEBHOOK, json={"sender": "alice", "message": "hi"}, headers=HEADERS)
    assert mine.json() == [{"text": WAITING_FOR_CLINICIAN}]
    with services.session_factory() as session:
        texts = {
            conversation: [
                line.text
                for line in transcript.transcript(
                    session=session, cipher=services.cipher, conversation_id=conversation
                )
            ]
            for conversation in session.scalars(select(Conversation.id))
        }
    assert sorted(len(lines) for lines in texts.values()) == [2, 6]
    theirs_only = next(lines for lines in texts.values() if len(lines) == 2)
    assert theirs_only == ["hi", "echo: hi"]


def test_a_key_is_found_among_many_clients_and_nothing_else_is() -> None:
    clients = {f"c{i}": rest.key_hash(f"key-{i}") for i in range(5)}
    assert rest.authenticate("key-3", clients) == "c3"
    assert rest.authenticate("key-33", clients) is None
    assert rest.authenticate(None, clients) is None


@pytest.mark.parametrize(
    "clients",
    [{"Bench": "0" * 64}, {"bench": "not-a-digest"}, {"a:b": "0" * 64}, {"bench": "A" * 64}],
)
def test_a_malformed_rest_clients_setting_is_refused_at_start(
    tmp_path: Path, clients: dict[str, str]
) -> None:
    with pytest.raises(ValidationError, match="REST_CLIENTS"):
        make_settings(tmp_path, rest_clients=clients)


def test_the_key_script_prints_a_key_whose_digest_is_the_entry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert rest_client.main(["bench"]) == 0
    lines = capsys.readouterr().out.splitlines()
    key = lines[0].rsplit(" ", 1)[-1]
    entry = lines[-1].removeprefix("REST_CLIENTS=")
    assert entry == f'{{"bench": "{rest.key_hash(key)}"}}'
    assert len(key) >= 40
