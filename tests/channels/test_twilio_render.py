"""Rendering for SMS and WhatsApp: numbered buttons, segment lengths, sentence splits."""

from __future__ import annotations

import pytest

from channels.base import Button, Reply
from channels.twilio.render import (
    is_gsm7,
    render_for_channel,
    render_text,
    segment_limit,
    sms_units,
    split_sms,
)

SENTENCE = "Your appointment is confirmed. "


def test_buttons_become_numbered_options() -> None:
    reply = Reply(
        text="Would you like a person?",
        buttons=[Button(title="Yes", payload="/affirm"), Button(title="No", payload="/deny")],
    )
    assert render_text(reply) == "Would you like a person?\n1. Yes\n2. No"


@pytest.mark.parametrize(
    ("text", "gsm7"),
    [
        ("Hello, see you at 10:30!", True),
        ("Café à Genève, mañana, Ñu, où", True),  # é à è ñ Ñ ù are GSM-7
        ("Price: 10€ [approx] {ok}", True),  # extension table
        ("São Paulo", False),  # ã is not GSM-7
        ("Thanks 😀", False),
        ("Çà va? naïve", False),  # ï is not GSM-7
        ("Ñandú", False),  # ú is not GSM-7 (ù is)
    ],
)
def test_gsm7_detection(text: str, gsm7: bool) -> None:
    assert is_gsm7(text) is gsm7
    assert segment_limit(text) == (160 if gsm7 else 70)


def test_extension_characters_count_twice_and_emoji_count_as_two_units() -> None:
    assert sms_units("a€{", gsm7=True) == 5
    assert sms_units("a😀", gsm7=False) == 3


def test_text_that_fits_one_segment_is_not_split_or_numbered() -> None:
    assert split_sms("a" * 160) == ["a" * 160]
    assert split_sms("é" * 160) == ["é" * 160]  # é is GSM-7
    assert split_sms("ã" * 70) == ["ã" * 70]


def test_one_character_over_the_gsm7_segment_splits() -> None:
    parts = split_sms("a" * 161)
    assert len(parts) == 2
    assert parts[0].startswith("(1/2) ") and parts[1].startswith("(2/2) ")


def test_long_gsm7_text_splits_at_sentence_boundaries() -> None:
    text = SENTENCE * 12
    parts = split_sms(text)
    assert len(parts) > 1
    for n, part in enumerate(parts, 1):
        assert part.startswith(f"({n}/{len(parts)}) ")
        assert sms_units(part, gsm7=True) <= 160
        assert part.endswith(".")  # whole sentences only
    assert " ".join(p.split(") ", 1)[1] for p in parts) == text.strip()


def test_one_emoji_drops_the_segment_to_70_units() -> None:
    text = "Your results are ready. " * 3 + "😀"
    assert len(text) < 160
    parts = split_sms(text)
    assert len(parts) > 1
    assert all(sms_units(part, gsm7=False) <= 70 for part in parts)
    assert parts[-1].endswith("😀")


def test_typographic_punctuation_goes_as_its_gsm7_lookalike_and_keeps_one_segment() -> None:
    reminder = (
        "Reminder: you have an appointment with Dr. Mei\u2011Ling Chen at Riverside Health "
        "\u2013 Elm Park on Thursday 3 December at 13:00. Reply \u201cC\u201d to confirm\u2026"
    )
    [sent] = split_sms(reminder)
    assert "Riverside Health - Elm Park" in sent and 'Reply "C" to confirm...' in sent
    assert is_gsm7(sent)
    assert render_for_channel(Reply(text=reminder), "whatsapp") == [reminder]  # WhatsApp as is


def test_a_name_spelled_outside_gsm7_is_left_as_the_record_spells_it() -> None:
    [sent] = split_sms("Hello Siobhán")
    assert sent == "Hello Siobhán"


def test_accented_non_gsm_text_is_split_by_70_and_never_halves_a_character() -> None:
    text = "Olá, São João está ótimo. " * 6 + "🙂" * 80
    parts = split_sms(text)
    assert all(sms_units(part, gsm7=False) <= 70 for part in parts)
    rejoined = "".join(p.split(") ", 1)[1] for p in parts)
    assert rejoined.count("🙂") == 80


def test_many_parts_are_numbered_with_wider_markers() -> None:
    parts = split_sms("word " * 600)
    assert len(parts) >= 10
    assert parts[9].startswith(f"(10/{len(parts)}) ")
    assert all(sms_units(part, gsm7=True) <= 160 for part in parts)


def test_buttons_stay_readable_when_split() -> None:
    reply = Reply(
        text=SENTENCE * 5,
        buttons=[Button(title="Keep it", payload="/keep"), Button(title="Move it", payload="/m")],
    )
    parts = render_for_channel(reply, "sms")
    assert len(parts) > 1
    assert parts[-1].endswith("1. Keep it\n2. Move it")


def test_whatsapp_is_not_split_by_sms_segments() -> None:
    text = SENTENCE * 20
    assert render_for_channel(Reply(text=text), "whatsapp") == [text.strip()]
