"""LeanHttp, the hub's client for its message call to Rasa, against real local servers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from backend.hub.lean_http import LeanHttp, LeanHttpError
from tests.utils.local_http import serve


@dataclass
class EchoServer:
    """Echoes the JSON body back; notes which client port each request came from."""

    peers: list[int] = field(default_factory=list)
    delay_s: float = 0.0

    async def echo(self, request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.peers.append(peer[1] if peer else -1)
        body = await request.json()
        await asyncio.sleep(self.delay_s)
        return web.json_response({"path": request.path, "body": body})

    async def chunked(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        response.content_type = "application/json"
        await response.prepare(request)
        for part in (b'[{"text": "first', b' part"}, ', b'{"text": "second"}]'):
            await response.write(part)
        await response.write_eof()
        return response

    async def closing(self, request: web.Request) -> web.StreamResponse:
        self.peers.append(-2)
        return web.json_response({"bye": True}, headers={"Connection": "close"})


async def start(server: EchoServer, **runner_options: float) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/echo", server.echo)
    app.router.add_post("/chunked", server.chunked)
    app.router.add_post("/closing", server.closing)
    if not runner_options:
        return await serve(app)
    runner = web.AppRunner(app, **runner_options)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def echo() -> AsyncIterator[tuple[EchoServer, str]]:
    server = EchoServer()
    runner, url = await start(server)
    yield server, url
    await runner.cleanup()


def body(payload: object) -> bytes:
    return json.dumps(payload).encode()


async def test_answers_are_read_and_one_connection_is_reused(echo: tuple[EchoServer, str]) -> None:
    server, url = echo
    client = LeanHttp(url, timeout_s=5)
    try:
        for text in ("hello", "héllo ✓ 🙂", "x" * 20_000):
            status, answer = await client.post_json("/echo", body({"message": text}))
            assert status == 200
            assert json.loads(answer) == {"path": "/echo", "body": {"message": text}}
    finally:
        client.close()
    assert len(set(server.peers)) == 1


async def test_a_chunked_answer_is_read_whole(echo: tuple[EchoServer, str]) -> None:
    _, url = echo
    client = LeanHttp(url, timeout_s=5)
    try:
        status, answer = await client.post_json("/chunked", body({}))
    finally:
        client.close()
    assert status == 200
    assert json.loads(answer) == [{"text": "first part"}, {"text": "second"}]


async def test_after_connection_close_the_next_request_opens_a_new_one(
    echo: tuple[EchoServer, str],
) -> None:
    server, url = echo
    client = LeanHttp(url, timeout_s=5)
    try:
        assert (await client.post_json("/closing", body({})))[0] == 200
        assert (await client.post_json("/echo", body({"n": 1})))[0] == 200
        assert (await client.post_json("/echo", body({"n": 2})))[0] == 200
    finally:
        client.close()
    first, second = server.peers[1:]
    assert first == second  # the new connection is kept for the request after


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    server = EchoServer()
    runner, url = await start(server, keepalive_timeout=0.1)
    client = LeanHttp(url, timeout_s=5)
    try:
        assert (await client.post_json("/echo", body({"n": 1})))[0] == 200
        await asyncio.sleep(0.5)  # the server has closed the kept-alive connection
        assert (await client.post_json("/echo", body({"n": 2})))[0] == 200
    finally:
        client.close()
        await runner.cleanup()
    assert len(set(server.peers)) == 2


async def test_concurrent_requests_each_get_their_own_answer(
    echo: tuple[EchoServer, str],
) -> None:
    server, url = echo
    server.delay_s = 0.05
    client = LeanHttp(url, timeout_s=5)
    try:
        answers = await asyncio.gather(
            *(client.post_json("/echo", body({"n": n})) for n in range(6))
        )
    finally:
        client.close()
    assert [json.loads(answer)["body"]["n"] for _, answer in answers] == list(range(6))


async def test_a_slow_answer_times_out_and_its_connection_is_dropped(
    echo: tuple[EchoServer, str],
) -> None:
    server, url = echo
    client = LeanHttp(url, timeout_s=0.2)
    try:
        server.delay_s = 1.0
        with pytest.raises(LeanHttpError, match="in time"):
            await client.post_json("/echo", body({"n": 1}))
        server.delay_s = 0.0
        status, answer = await client.post_json("/echo", body({"n": 2}))
    finally:
        client.close()
    assert (status, json.loads(answer)["body"]) == (200, {"n": 2})
    assert len(set(server.peers)) == 2


async def test_nobody_listening_is_an_error() -> None:
    client = LeanHttp("http://127.0.0.1:9", timeout_s=2)
    with pytest.raises(LeanHttpError, match="cannot connect"):
        await client.post_json("/echo", body({}))


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def raw_exchange(handler: Handler) -> None:
    """Post to a raw TCP server running `handler` and let its misbehaviour surface."""
    listener = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    client = LeanHttp(f"http://127.0.0.1:{port}", timeout_s=5)
    try:
        await client.post_json("/echo", body({}))
    finally:
        client.close()
        listener.close()


async def test_an_answer_that_is_not_http_is_an_error() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"SMTP ready, not HTTP at all\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1)
        writer.close()

    with pytest.raises(LeanHttpError, match="not an HTTP answer"):
        await raw_exchange(garbage)


async def test_a_server_that_hangs_up_mid_answer_is_an_error() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[{"text"')
        await writer.drain()
        writer.close()

    with pytest.raises(LeanHttpError, match="closed before the answer"):
        await raw_exchange(hang_up)


def test_only_plain_http_is_spoken() -> None:
    assert LeanHttp.supports("http://127.0.0.1:5005")
    assert not LeanHttp.supports("https://rasa.clinic.example")
    with pytest.raises(ValueError, match="plain http"):
        LeanHttp("https://rasa.clinic.example", timeout_s=5)
