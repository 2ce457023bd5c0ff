"""The one way into Rasa's dialogue: the hub's channel, behind the hub's secret.

Rasa's built-in `rest` channel answers anyone who can reach its port, which would let a caller
on the host skip everything the hub does before Rasa (the red-flag screen, the message log,
the hand-off hold). This channel speaks the same wire format (`{"sender", "message"}` in, the
list of bot messages with their buttons and custom payloads out) at
`POST /webhooks/hub/webhook`, and answers only requests that carry RASA_TOKEN as
`Authorization: Bearer <token>`; any other request gets 401 before Rasa sees its body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.shared_secret import carries_secret, secret_from_env

TOKEN_VARIABLE = "RASA_TOKEN"


class HubInput(RestInput):
    """Rasa's REST channel, answering only the hub (credentials.yml:
    `bot.channels.hub_channel.HubInput:`; the secret comes from RASA_TOKEN)."""

    def __init__(self, token: str) -> None:
        if not token:  # an empty secret would match a request without the header
            raise ValueError("the hub channel needs a secret")
        self._token = token

    @classmethod
    def name(cls) -> str:
        return "hub"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> HubInput:
        # The secret is read from the environment, not from credentials.yml, so that the file
        # holds no secret and `rasa shell` (which parses it but uses another channel) still
        # starts without RASA_TOKEN set.
        return cls(secret_from_env(TOKEN_VARIABLE))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The REST channel's routes, each behind the secret (a blueprint's middleware runs
        for its own routes only, so Rasa's health page and HTTP API are not affected)."""
        routes: Blueprint = super().blueprint(on_new_message)

        @routes.middleware("request")
        async def refuse_strangers(request: Request) -> HTTPResponse | None:
            if carries_secret(request.headers.get("authorization"), self._token):
                return None
            return response.json({"error": "this channel answers the hub only"}, status=401)

        return routes
