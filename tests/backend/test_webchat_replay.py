"""What a reconnecting web chat tab is shown: nothing said during a verification that is not
the live one (logged out, gone idle, or an earlier one), each hidden stretch as one neutral
line; everything else as it was."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.core.config import Settings
from backend.db.models import AccessAudit, Conversation, IdentityVerification, Message, as_utc
from backend.webchat.replay import HIDDEN_TEXT, verified_periods
from tests.backend.identity_world import ZOE, World, world_for
from tests.backend.test_webchat_socket import open_chat, say

HIDDEN = ("system", HIDDEN_TEXT)


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    with world_for(settings) as made:
        yield made


def lines(history: list[Any]) -> list[tuple[str, str]]:
    return [(m["author"], m["text"]) for m in history]


def web_conversation(world: World) -> str:
    with world.services.session_factory() as session:
        return session.scalars(select(Conversation.id).where(Conversation.channel == "web")).one()


def verify_as_zoe(world: World, conversation_id: str) -> None:
    zoe = world.patient(ZOE)
    verified = world.verify(conversation_id, ZOE, family=zoe.family, given=zoe.given)
    assert verified["outcome"] == "verified"


def shift_back(world: World, conversation_id: str, by: timedelta) -> None:
    """Move everything the conversation has stored `by` into the past (instead of waiting)."""
    with world.services.session_factory() as session:
        for message in session.scalars(
            select(Message).where(Message.conversation_id == conversation_id)
        ):
            message.created_at = as_utc(message.created_at) - by
        for audit in session.scalars(
            select(AccessAudit).where(AccessAudit.conversation_id == conversation_id)
        ):
            audit.at = as_utc(audit.at) - by
        verification = session.get(IdentityVerification, conversation_id)
        assert verification is not None
        verification.verified_at = as_utc(verification.verified_at) - by
        session.commit()


def test_after_log_out_what_was_said_while_verified_is_not_replayed(world: World) -> None:
    with open_chat(world.client) as (ws, token, _):
        say(ws, {"type": "message", "text": "hello"})
        conversation = web_conversation(world)
        verify_as_zoe(world, conversation)
        say(ws, {"type": "message", "text": "what are my results"})
    with open_chat(world.client, token) as (_, _, while_verified):
        pass
    world.post("end", {"conversation_id": conversation})
    with open_chat(world.client, token) as (ws, _, after_log_out):
        say(ws, {"type": "message", "text": "when do you open"})
    with open_chat(world.client, token) as (_, _, later):
        pass

    assert ("patient", "what are my results") in lines(while_verified)  # live: all of it
    assert lines(after_log_out) == [
        ("patient", "hello"),
        ("bot", "echo: hello"),
        HIDDEN,
    ]
    assert lines(later)[-2:] == [("patient", "when do you open"), ("bot", "echo: when do you open")]
    assert "what are my results" not in str(later)


def test_a_verification_gone_idle_is_not_replayed(world: World, settings: Settings) -> None:
    with open_chat(world.client) as (ws, token, _):
        say(ws, {"type": "message", "text": "hello"})
        conversation_id = web_conversation(world)
        verify_as_zoe(world, conversation_id)
        say(ws, {"type": "message", "text": "what are my results"})
    shift_back(world, conversation_id, timedelta(minutes=settings.identity_idle_minutes + 5))
    with open_chat(world.client, token) as (_, _, history):
        pass
    assert lines(history) == [("patient", "hello"), ("bot", "echo: hello"), HIDDEN]


def test_a_new_verification_shows_its_own_messages_but_not_the_earlier_ones(
    world: World,
) -> None:
    with open_chat(world.client) as (ws, token, _):
        say(ws, {"type": "message", "text": "hello"})
        conversation = web_conversation(world)
        verify_as_zoe(world, conversation)
        say(ws, {"type": "message", "text": "what are my results"})
        world.post("end", {"conversation_id": conversation})
        verify_as_zoe(world, conversation)
        say(ws, {"type": "message", "text": "book me in"})
    with open_chat(world.client, token) as (_, _, history):
        pass
    assert lines(history) == [
        ("patient", "hello"),
        ("bot", "echo: hello"),
        HIDDEN,
        ("patient", "book me in"),
        ("bot", "echo: book me in"),
    ]


T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
IDLE = timedelta(minutes=30)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_verification_lasts_while_the_patient_keeps_writing() -> None:
    periods = verified_periods(
        starts=[at(0)], ends=[], inbound=[at(-5), at(20), at(45)], idle=IDLE, now=at(60)
    )
    assert periods == ((at(0), at(60)),)


def test_a_verification_ends_idle_after_the_last_message_before_a_long_silence() -> None:
    periods = verified_periods(
        starts=[at(0)], ends=[], inbound=[at(10), at(50), at(55)], idle=IDLE, now=at(90)
    )
    assert periods == ((at(0), at(40)),)


def test_a_verification_ends_at_log_out_or_at_the_next_one() -> None:
    periods = verified_periods(
        starts=[at(0), at(20), at(40)], ends=[at(10), at(-5)], inbound=[], idle=IDLE, now=at(45)
    )
    assert periods == ((at(0), at(10)), (at(20), at(40)), (at(40), at(45)))
