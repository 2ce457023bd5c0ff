"""A local double of Twilio's Messages API (http.server on 127.0.0.1) and webhook signing.

The real twilio `Client` talks to it through the hub's `BaseUrlHttpClient`; it records every
request so tests can assert on what would have been sent, and never reaches the internet.
"""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
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
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class TwilioDouble:
    """Answers `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` like Twilio does, and
    `GET` of it (the message list, newest first, filtered by To and From)."""

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
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if _MESSAGES_PATH.match(path) is None:
                    return self._answer(404, {"code": 20404, "message": "not found"})
                wanted = dict(parse_qsl(query))
                listed = [
                    _resource(message)
                    for message in reversed(double.sent)
                    if message.form.get("To") == wanted.get("To", message.form.get("To"))
                    and message.form.get("From") == wanted.get("From", message.form.get("From"))
                ][: int(wanted.get("PageSize", "50"))]
                self._answer(200, {"messages": listed, "next_page_uri": None, "page": 0})

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
                message = SentMessage(match["sid"], (user, password), form, sid)
                double.sent.append(message)
                self._answer(201, _resource(message))

        self._server = serve_in_thread(Handler)
        return self

    def stop(self) -> None:
        stop_server(self._server)

    @property
    def bodies(self) -> list[str]:
        return [message.form["Body"] for message in self.sent]


def _resource(message: SentMessage) -> dict[str, object]:
    """A Message resource as Twilio's API shows it (dates in RFC 2822)."""
    return {
        "sid": message.sid,
        "account_sid": message.account_sid,
        "to": message.form.get("To"),
        "from": message.form.get("From"),
        "body": message.form.get("Body"),
        "status": "queued",
        "date_created": format_datetime(message.created),
    }


def sign(token: str, url: str, params: dict[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for a form post of `params` to `url`."""
    return str(RequestValidator(token).compute_signature(url, params))


def form_body(params: dict[str, str]) -> str:
    return urlencode(params)
