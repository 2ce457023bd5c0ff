"""Outbound messages through the real twilio `Client`, at a configurable API base URL.

Production talks to https://api.twilio.com; tests point the same client, through a custom
`http_client`, at a local double of the Messages API, so no test reaches the internet.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from channels.twilio.webhook import WHATSAPP_PREFIX

TWILIO_API_BASE = "https://api.twilio.com"


class BaseUrlHttpClient(TwilioHttpClient):
    """twilio's own HTTP client, with the API's base URL swapped for `api_base_url`."""

    def __init__(self, api_base_url: str, *, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.api_base_url = api_base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        """Send the request, to `api_base_url` instead of Twilio's own host."""
        if url.startswith(TWILIO_API_BASE):
            url = self.api_base_url + url[len(TWILIO_API_BASE) :]
        return super().request(method, url, *args, **kwargs)


def provider_address(e164: str, *, channel: str) -> str:
    """How Twilio addresses a number on `channel` ("whatsapp:+1555..." on WhatsApp)."""
    bare = e164.removeprefix(WHATSAPP_PREFIX)
    return f"{WHATSAPP_PREFIX}{bare}" if channel == "whatsapp" else bare


class ChannelNotConfigured(LookupError):
    """No sending number is configured for `channel` (TWILIO_FROM_NUMBER / _WHATSAPP_FROM)."""

    def __init__(self, channel: str) -> None:
        super().__init__(f"no Twilio sending number is configured for {channel}")
        self.channel = channel


class TwilioMessenger:
    """Sends message bodies with the Messages API; returns Twilio's MessageSid.

    Blocking (twilio's client uses requests): callers in async code run it in a thread.
    Raises twilio.base.exceptions.TwilioRestException when Twilio refuses a message.
    """

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        senders: dict[str, str],
        status_callback: str | None,
        api_base_url: str = TWILIO_API_BASE,
    ) -> None:
        self._client = Client(account_sid, auth_token, http_client=BaseUrlHttpClient(api_base_url))
        self._senders = {
            channel: provider_address(number, channel=channel)
            for channel, number in senders.items()
            if number
        }
        self._status_callback = status_callback

    @property
    def channels(self) -> frozenset[str]:
        """The channels this account has a sending number for."""
        return frozenset(self._senders)

    def send(self, *, channel: str, to: str, body: str) -> str:
        """Send `body` to the E.164 number `to` on `channel`; the new message's sid."""
        return self._create(channel=channel, to=to, body=body)

    def send_template(
        self, *, channel: str, to: str, content_sid: str, variables: dict[str, str]
    ) -> str:
        """Send an approved template (Content API sid + variables); the new message's sid."""
        return self._create(
            channel=channel,
            to=to,
            content_sid=content_sid,
            content_variables=json.dumps(variables),
        )

    def sent_since(self, *, channel: str, to: str, since: datetime, limit: int = 50) -> set[str]:
        """The sids of messages from this account's number to `to` on `channel` that Twilio
        created at or after `since` (its newest `limit` to that number, newest first).

        Filtered on DateCreated here, not with the API's DateSent filter: a message Twilio has
        accepted but not yet sent has no DateSent.
        """
        if channel not in self._senders:
            raise ChannelNotConfigured(channel)
        listed = self._client.messages.list(
            to=provider_address(to, channel=channel), from_=self._senders[channel], limit=limit
        )
        return {
            str(message.sid)
            for message in listed
            if message.date_created is not None and message.date_created >= since
        }

    def _create(self, *, channel: str, to: str, **content: str) -> str:
        if channel not in self._senders:
            raise ChannelNotConfigured(channel)
        kwargs: dict[str, Any] = {
            "to": provider_address(to, channel=channel),
            "from_": self._senders[channel],
            **content,
        }
        if self._status_callback:
            kwargs["status_callback"] = self._status_callback
        message = self._client.messages.create(**kwargs)
        return str(message.sid)
