"""A local double of Twilio's Messages API (http.server on 127.0.0.1) and webhook signing.

The real twilio `Client` talks to it through the hub's `BaseUrlHttpClient`; it records every
request so tests can assert on what would have been sent, and never reaches the internet.
"""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode

from twilio.request_validator import RequestValidator

from tests.utils.local_http import JsonAnsweringHandler, serve_in_thread, stop_server

_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages\.json$")


@dataclass
class SentMessage:
    """One Messages API request as the double received it."""

    account_sid: str
    auth: tuple[str, str]
    form: dict[str, str]
    sid: str


@dataclass
class TwilioDouble:
    """Answers `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` like Twilio does."""

    sent: list[SentMessage] = field(default_factory=list)
    refuse_with: int | None = None  # a Twilio error code to answer every request with
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> TwilioDouble:
        double = self

        class Handler(JsonAnsweringHandler):
            def do_POST(self) -> None:
                match = _MESSAGES_PATH.match(self.path)
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                if match is None:
                    return self._answer(404, {"code": 20404, "message": "not found"})
                if double.refuse_with is not None:
                    error = {"code": double.refuse_with, "message": "refused", "status": 400}
                    return self._answer(400, error)
                user, _, password = (
                    base64.b64decode(
                        self.headers.get("Authorization", "Basic ").split(" ", 1)[1] or b""
                    )
                    .decode()
                    .partition(":")
                )
                sid = "SM" + uuid.uuid4().hex
                double.sent.append(SentMessage(match["sid"], (user, password), form, sid))
                self._answer(
                    201,
                    {
                        "sid": sid,
                        "account_sid": match["sid"],
                        "to": form.get("To"),
                        "from": form.get("From"),
                        "body": form.get("Body"),
                        "status": "queued",
                    },
                )

        self._server = serve_in_thread(Handler)
        return self

    def stop(self) -> None:
        stop_server(self._server)

    @property
    def bodies(self) -> list[str]:
        return [message.form["Body"] for message in self.sent]


def sign(token: str, url: str, params: dict[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for a form post of `params` to `url`."""
    return str(RequestValidator(token).compute_signature(url, params))


def form_body(params: dict[str, str]) -> str:
    return urlencode(params)
