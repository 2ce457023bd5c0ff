"""The plain REST channel (`POST /channels/rest/webhook`) for scripts and tests.

It goes through the same hub path as every other channel: the body's `sender` is the
channel address, replies come back as JSON instead of being sent.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

from channels.base import Button, Reply

CHANNEL = "rest"


class RestReply(TypedDict):
    """One reply as the REST channel answers it."""

    text: str
    buttons: NotRequired[list[Button]]


def render(replies: list[Reply]) -> list[RestReply]:
    rendered: list[RestReply] = []
    for reply in replies:
        item = RestReply(text=reply.text)
        if reply.buttons:
            item["buttons"] = list(reply.buttons)
        rendered.append(item)
    return rendered
