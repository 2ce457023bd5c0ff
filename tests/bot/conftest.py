"""Rasa-side servers (the hub channel, the action server) on free loopback ports.

These tests run in Rasa's environment (.venv-rasa: `make test-actions`), because they build
the real Sanic apps Rasa and rasa_sdk serve.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sanic import Sanic

Serve = Callable[[Sanic], Awaitable[str]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def serve(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Serve]:
    """Serves a Sanic app on 127.0.0.1 until the test ends; gives its base URL."""
    # Sanic refuses a second app of the same name ("rasa_sdk") outside test mode.
    monkeypatch.setattr(Sanic, "test_mode", True)
    servers = []

    async def start(app: Sanic) -> str:
        port = free_port()
        server = await app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
        )
        await server.startup()  # finalizes the routes and the middleware
        servers.append(server)
        return f"http://127.0.0.1:{port}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()
