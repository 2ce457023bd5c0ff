"""Only the clinic's own pages may open the web chat socket: the Origin is checked before the
handshake is accepted, and anything else gets 403 with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.testclient import WebSocketDenialResponse
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from backend.webchat.origins import allowed_origins
from channels.webchat import is_allowed_origin, normalize_origin
from tests.backend.conftest import make_settings
from tests.backend.test_webchat_socket import ORIGIN, hello


@pytest.mark.parametrize(
    "headers",
    [{}, {"Origin": "https://evil.example.org"}, {"Origin": "null"}, {"Origin": ORIGIN + ".x"}],
    ids=["none", "another-site", "opaque", "look-alike"],
)
def test_a_socket_from_another_origin_is_refused_with_403(
    client: TestClient, headers: dict[str, str]
) -> None:
    with (
        pytest.raises(WebSocketDenialResponse) as refused,
        client.websocket_connect("/ws/chat", headers=headers),
    ):
        pass
    assert refused.value.status_code == 403
    assert "Origin" in refused.value.json()["detail"]


def test_the_hubs_own_origin_is_let_in_however_it_is_spelled(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat", headers={"Origin": "HTTP://127.0.0.1:8000"}) as ws:
        session, history = hello(ws, None)
    assert session["token"] and history == []


def test_a_real_server_refuses_the_handshake(backend_url: str) -> None:
    socket_url = backend_url.replace("http://", "ws://") + "/ws/chat"
    with pytest.raises(InvalidStatus) as refused:
        connect(socket_url, origin=Origin("https://evil.example.org"), open_timeout=10)
    assert refused.value.response.status_code == 403
    assert b"WEBCHAT_ALLOWED_ORIGINS" in refused.value.response.body
    with connect(socket_url, origin=Origin(ORIGIN), open_timeout=10) as ws:
        ws.send('{"type": "hello"}')
        assert '"type": "session"' in str(ws.recv(timeout=10))


def test_by_default_the_hub_allows_its_own_origins(tmp_path: Path) -> None:
    public = "https://chat.clinic.example.org/patients"
    production = make_settings(tmp_path, env="test", public_base_url=public)
    development = make_settings(
        tmp_path, env="development", public_base_url=public, backend_url="http://127.0.0.1:8123"
    )
    assert allowed_origins(production) == {"https://chat.clinic.example.org"}
    assert allowed_origins(development) == {
        "https://chat.clinic.example.org",
        "http://127.0.0.1:8123",
        "http://localhost:8123",
    }


def test_configured_origins_replace_the_default(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        webchat_allowed_origins="https://www.clinic.example.org, https://Portal.example.org:443",
    )
    allowed = allowed_origins(settings)
    assert allowed == {"https://www.clinic.example.org", "https://portal.example.org"}
    assert is_allowed_origin("https://portal.example.org", allowed)
    assert not is_allowed_origin("http://www.clinic.example.org", allowed)  # another scheme
    assert not is_allowed_origin("http://127.0.0.1:8000", allowed)


@pytest.mark.parametrize(
    "entry", ["*", "https://*.example.org", "clinic.example.org", "ftp://x.org", "https://a.org/x"]
)
def test_a_setting_that_is_not_an_origin_is_refused_at_start(tmp_path: Path, entry: str) -> None:
    with pytest.raises(ValidationError, match="not an origin"):
        make_settings(tmp_path, webchat_allowed_origins=entry)


def test_origins_are_compared_as_browsers_send_them() -> None:
    assert normalize_origin("https://Clinic.Example.org:443") == "https://clinic.example.org"
    assert normalize_origin("http://[::1]:8000") == "http://[::1]:8000"
    assert normalize_origin("http://localhost:80/") == "http://localhost"
