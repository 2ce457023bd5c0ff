"""Errors shared by the backend's services; the API edge maps them to status codes."""

from __future__ import annotations


class UnknownConversation(LookupError):
    """The conversation id is not one the hub created; the caller must not make one up."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"no conversation {conversation_id!r}")
        self.conversation_id = conversation_id
