"""A real HTTP proxy in front of a real FHIR server that misbehaves on demand.

The client under test talks to the proxy over a socket; the proxy forwards to the server and, for
the requests a rule picks, answers 500 without forwarding, forwards and then answers too late, or
forwards and then answers garbage. The server's own state is then checked directly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

# (method, path) -> a fault name or None; faults: "500", "slow", "garbage"
Rule = Callable[[str, str], str | None]
PASSED_HEADERS = ("content-type", "etag", "location", "last-modified")


@dataclass
class FaultProxy:
    """Forwards to `upstream` (a FHIR base URL) unless `rule` names a fault for a request."""

    upstream: str
    slow_s: float = 2.0
    rule: Rule = lambda method, path: None
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    base_url: str = ""

    def count(self, method: str) -> int:
        """How many requests with this method reached the proxy."""
        return sum(1 for m, _, _ in self.seen if m == method)


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    upstream = httpx.URL(proxy.upstream)
    prefix = upstream.path.rstrip("/")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path[len(prefix) :] if self.path.startswith(prefix) else self.path
            fault = proxy.rule(self.command, path.split("?")[0])
            proxy.seen.append((self.command, path, fault))
            if fault == "500":
                self._answer(500, b'{"resourceType":"OperationOutcome","issue":[]}', {})
                return
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
            }
            r = httpx.request(
                self.command,
                f"{upstream.scheme}://{upstream.host}:{upstream.port}{self.path}",
                content=body,
                headers=headers,
                timeout=30,
            )
            if fault == "slow":
                time.sleep(proxy.slow_s)
            if fault == "garbage":
                self._answer(200, b"<html><body>502 Bad Gateway</body></html>", {})
                return
            passed = {k: v for k, v in r.headers.items() if k.lower() in PASSED_HEADERS}
            self._answer(r.status_code, r.content, passed)

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout): exactly what a slow EHR looks like

        do_GET = do_POST = do_PUT = do_DELETE = _handle

    return Handler


@contextmanager
def fault_proxy(upstream: str, *, slow_s: float = 2.0) -> Iterator[FaultProxy]:
    """Run a FaultProxy on a free loopback port for the duration of the block."""
    proxy = FaultProxy(upstream, slow_s=slow_s)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    proxy.base_url = f"http://127.0.0.1:{server.server_address[1]}{httpx.URL(upstream).path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
