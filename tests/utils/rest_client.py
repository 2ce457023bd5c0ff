"""The REST channel client the tests use (REST_CLIENTS lists it; channels/rest.py)."""

from __future__ import annotations

from channels import rest

CLIENT = "tests"
KEY = "test-rest-key-0123456789abcdef"
HEADERS = {"Authorization": f"Bearer {KEY}"}


def rest_clients(client: str = CLIENT, key: str = KEY) -> dict[str, str]:
    """REST_CLIENTS listing one client with this key."""
    return {client: rest.key_hash(key)}


def address(sender: str, client: str = CLIENT) -> str:
    """The conversation address the REST channel gives `sender` of this client."""
    return rest.address(client, sender)
