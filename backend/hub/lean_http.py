"""A small HTTP/1.1 client for the one request every patient message makes: hub to Rasa.

aiohttp spent about 0.5 ms of the hub's time on each message before the request had even
left (its session, connector, tracing and request objects), on a machine where Rasa's whole
answer takes 25-40 ms. Here a request is one write on a kept-alive connection and the answer
is read by httptools, the parser uvicorn uses. It speaks only plain http to one host and
port, which is how the hub reaches Rasa (127.0.0.1, see docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import httptools

# Rasa keeps an idle connection open for 120 s; one idle for longer than this is not reused,
# so a request is never written on a connection the server is closing at that moment.
IDLE_REUSE_S = 50.0
KEEP_IDLE = 16  # connections kept open for reuse; more are opened as needed, then closed


class LeanHttpError(Exception):
    """The exchange failed: refused, cut off, timed out or not HTTP."""


class _Exchange(asyncio.Protocol):
    """One connection, one request at a time; httptools calls the `on_*` methods."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None
        self._body: list[bytes] = []

    def send(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self._answer

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(LeanHttpError(f"not an HTTP answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(LeanHttpError("connection closed before the answer"))

    def _fail(self, error: LeanHttpError) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)

    def on_message_begin(self) -> None:
        self._body = []

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if not self._parser.should_keep_alive():
            self.close()
        if self._answer is not None and not self._answer.done():
            self._answer.set_result((self._parser.get_status_code(), b"".join(self._body)))


class LeanHttp:
    """POSTs JSON bodies to one `http://host:port`, reusing idle connections."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"LeanHttp speaks plain http only, not {base_url!r}")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._prefix = parts.path.rstrip("/")
        self._timeout_s = timeout_s
        self._idle: list[_Exchange] = []

    @staticmethod
    def supports(base_url: str) -> bool:
        return urlsplit(base_url).scheme == "http"

    async def post_json(
        self, path: str, body: bytes, *, sent: asyncio.Event | None = None
    ) -> tuple[int, bytes]:
        """(status, body) of the answer; `sent` is set once the request is written."""
        request = (
            f"POST {self._prefix}{path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1") + body
        try:
            async with asyncio.timeout(self._timeout_s):
                exchange = await self._connection()
                answer = exchange.send(request)
                if sent is not None:
                    sent.set()
                try:
                    status, answered = await answer
                except BaseException:
                    exchange.close()  # half an answer may still come: never reuse it
                    raise
        except TimeoutError as exc:
            raise LeanHttpError("no answer in time") from exc
        except OSError as exc:
            raise LeanHttpError(f"cannot connect: {exc}") from exc
        self._release(exchange)
        return status, answered

    async def _connection(self) -> _Exchange:
        now = time.monotonic()
        while self._idle:
            exchange = self._idle.pop()
            if not exchange.closed and now - exchange.idle_since < IDLE_REUSE_S:
                return exchange
            exchange.close()
        loop = asyncio.get_running_loop()
        _, exchange = await loop.create_connection(_Exchange, self._host, self._port)
        return exchange

    def _release(self, exchange: _Exchange) -> None:
        if exchange.closed or len(self._idle) >= KEEP_IDLE:
            exchange.close()
            return
        exchange.idle_since = time.monotonic()
        self._idle.append(exchange)

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
