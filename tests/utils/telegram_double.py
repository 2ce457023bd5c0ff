"""A local double of the Telegram Bot API (http.server on 127.0.0.1) that records calls."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from tests.utils.local_http import JsonAnsweringHandler, serve_in_thread, stop_server

_METHOD = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>\w+)$")


@dataclass
class BotApiCall:
    token: str
    method: str
    params: dict[str, Any]


@dataclass
class TelegramDouble:
    """Answers sendMessage and answerCallbackQuery like the Bot API does."""

    calls: list[BotApiCall] = field(default_factory=list)
    # setWebhook happens once at start-up; kept apart so `calls` is what patients would see.
    webhook_registrations: list[BotApiCall] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> TelegramDouble:
        double = self

        class Handler(JsonAnsweringHandler):
            def do_POST(self) -> None:
                match = _METHOD.match(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                if "json" in self.headers.get("Content-Type", ""):
                    params: dict[str, Any] = json.loads(raw or "{}")
                else:
                    params = dict(parse_qsl(raw))
                if match is None:
                    return self._answer(404, {"ok": False, "description": "Not Found"})
                call = BotApiCall(match["token"], match["method"], params)
                if call.method == "setWebhook":
                    double.webhook_registrations.append(call)
                else:
                    double.calls.append(call)
                if call.method == "sendMessage":
                    result: Any = {
                        "message_id": len(double.calls),
                        "date": 0,
                        "chat": {"id": int(params["chat_id"]), "type": "private"},
                        "text": params.get("text", ""),
                    }
                else:
                    result = True
                self._answer(200, {"ok": True, "result": result})

        self._server = serve_in_thread(Handler)
        return self

    def stop(self) -> None:
        stop_server(self._server)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [call.params for call in self.calls if call.method == "sendMessage"]

    @property
    def texts(self) -> list[str]:
        return [str(message["text"]) for message in self.messages]
