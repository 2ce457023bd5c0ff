"""Telegram updates: the secret comparison, parsing, inline keyboards."""

from __future__ import annotations

import pytest

from channels.base import Button, Reply
from channels.telegram import MalformedUpdate, inline_keyboard, is_authentic, parse_update

CHAT = {"id": 7, "type": "private"}


def test_the_secret_must_be_configured_and_match_exactly() -> None:
    assert is_authentic(expected="s3cret", received="s3cret")
    assert not is_authentic(expected="s3cret", received="s3cre")
    assert not is_authentic(expected="s3cret", received=None)
    assert not is_authentic(expected="", received="")


def test_a_text_message_parses() -> None:
    update = parse_update({"update_id": 5, "message": {"chat": CHAT, "text": "hi"}})
    assert (update.update_id, update.chat_id, update.text, update.supported) == (5, 7, "hi", True)


def test_a_button_press_carries_its_position_only() -> None:
    press = {"id": "q", "data": "choice:1", "message": {"chat": CHAT}}
    update = parse_update({"update_id": 6, "callback_query": press})
    assert (update.choice_index, update.callback_query_id, update.supported) == (1, "q", True)


@pytest.mark.parametrize("data", ["/affirm", "choice:", "choice:-1", "choice:99999", None])
def test_button_data_that_is_not_ours_is_not_a_choice(data: object) -> None:
    press = {"id": "q", "data": data, "message": {"chat": CHAT}}
    update = parse_update({"update_id": 6, "callback_query": press})
    assert update.choice_index is None and not update.supported


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 1, "message": {"chat": CHAT, "sticker": {}}},
        {"update_id": 1, "edited_message": {"chat": CHAT, "text": "x"}},
        {"update_id": 1, "my_chat_member": {"chat": CHAT}},
        {"update_id": 1, "poll": {}},
    ],
)
def test_other_updates_are_not_supported(update: dict) -> None:
    assert not parse_update(update).supported


@pytest.mark.parametrize("data", [None, [], "x", {}, {"update_id": "1"}, {"update_id": 1.5}])
def test_malformed_updates_raise(data: object) -> None:
    with pytest.raises(MalformedUpdate):
        parse_update(data)


def test_buttons_become_one_inline_button_per_row() -> None:
    reply = Reply("Pick", [Button(title="A", payload="/a"), Button(title="B", payload="/b")])
    assert inline_keyboard(reply) == [
        [{"text": "A", "callback_data": "choice:0"}],
        [{"text": "B", "callback_data": "choice:1"}],
    ]


def test_only_a_private_chat_counts_as_private() -> None:
    group = {"id": -5, "type": "group"}
    assert parse_update({"update_id": 1, "message": {"chat": CHAT, "text": "hi"}}).private
    assert not parse_update({"update_id": 2, "message": {"chat": group, "text": "hi"}}).private
    assert not parse_update({"update_id": 3, "message": {"chat": {"id": 9}, "text": "x"}}).private
    press = {"id": "q", "data": "choice:0", "message": {"chat": group}}
    assert not parse_update({"update_id": 4, "callback_query": press}).private
