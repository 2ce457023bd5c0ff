"""Delivery statuses only move forward: a late, repeated or replayed callback is not news."""

from __future__ import annotations

import pytest

from channels.twilio.status import STEP, moves_forward, not_replaced_by


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("queued", "sending"),
        ("queued", "sent"),
        ("sending", "sent"),
        ("sent", "delivered"),
        ("sent", "undelivered"),
        ("sent", "failed"),
        ("queued", "failed"),
        ("delivered", "read"),
        ("sent", "read"),  # the "delivered" callback was lost
        ("accepted", "queued"),
        ("recovered", "delivered"),  # the hub's own status: any Twilio status is news
    ],
)
def test_a_later_status_replaces_an_earlier_one(current: str, new: str) -> None:
    assert moves_forward(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("delivered", "sent"),
        ("delivered", "queued"),
        ("sent", "sending"),
        ("read", "delivered"),
        ("delivered", "delivered"),
        ("delivered", "failed"),
        ("failed", "delivered"),
        ("undelivered", "read"),
        ("failed", "sent"),
        ("canceled", "queued"),
    ],
)
def test_an_earlier_repeated_or_conflicting_status_is_not_news(current: str, new: str) -> None:
    assert not moves_forward(current, new)


@pytest.mark.parametrize("current", [*STEP, "recovered"])
def test_a_status_twilio_does_not_document_never_replaces_anything(current: str) -> None:
    assert not moves_forward(current, "partially_delivered")


def test_the_statuses_a_callback_leaves_alone_are_those_at_or_past_its_step() -> None:
    assert not_replaced_by("sent") == {
        "sent",
        "delivered",
        "undelivered",
        "failed",
        "canceled",
        "read",
    }
    assert not_replaced_by("read") == {"read", "undelivered", "failed", "canceled"}
