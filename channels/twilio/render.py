"""Replies as SMS and WhatsApp can show them: buttons as numbered options, long text split.

An SMS segment holds 160 GSM-7 characters (characters of the GSM extension table count
twice) or 70 UCS-2 code units once any character outside GSM-7 appears (an emoji counts
twice: it is a surrogate pair). Longer replies are sent as several messages, split at
sentence boundaries where possible and numbered "(1/3)". Typographic punctuation (an en dash
in a clinic's name, curly quotes) is sent as its plain GSM-7 look-alike first, as Twilio's
"smart encoding" does: one such character would otherwise turn a one-segment reminder into
three UCS-2 segments.
"""

from __future__ import annotations

import re

from channels.base import Reply

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM7_SEGMENT = 160
UCS2_SEGMENT = 70
# Twilio refuses WhatsApp bodies over 1,600 characters; WhatsApp is not split by SMS segments.
WHATSAPP_LIMIT = 1600
# Sentence ends (kept with their sentence) and line breaks are the preferred split points.
_BOUNDARY = re.compile(r"(?<=[.!?…])\s+|\n+")
# Punctuation outside GSM-7 with a look-alike inside it (letters such as "á" are left alone:
# a patient's name is spelled as the record spells it).
_GSM7_LOOKALIKE = str.maketrans(
    {
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u2012": "-",  # figure dash
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2212": "-",  # minus sign
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u00a0": " ",  # no-break space
        "\u202f": " ",  # narrow no-break space
        "\u2026": "...",
    }
)


def is_gsm7(text: str) -> bool:
    """True when every character of `text` can be sent in the GSM-7 alphabet."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def sms_units(text: str, *, gsm7: bool) -> int:
    """Length in the units an SMS segment is measured in (septets, or UTF-16 code units)."""
    if gsm7:
        return sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
    return len(text.encode("utf-16-le")) // 2


def segment_limit(text: str) -> int:
    """160 for a GSM-7 text, 70 as soon as one character is outside GSM-7."""
    return GSM7_SEGMENT if is_gsm7(text) else UCS2_SEGMENT


def render_text(reply: Reply) -> str:
    """The reply's text, with its buttons appended as numbered options ("1. Yes")."""
    if not reply.buttons:
        return reply.text
    options = "\n".join(f"{n}. {button['title']}" for n, button in enumerate(reply.buttons, 1))
    return f"{reply.text}\n{options}"


def gsm7_lookalikes(text: str) -> str:
    """`text` with typographic punctuation replaced by its GSM-7 look-alike."""
    return text.translate(_GSM7_LOOKALIKE)


def split_sms(text: str) -> list[str]:
    """`text` as SMS messages of one segment each, numbered "(1/n) " when there are several."""
    text = gsm7_lookalikes(text).strip()
    gsm7 = is_gsm7(text)
    limit = segment_limit(text)
    if sms_units(text, gsm7=gsm7) <= limit:
        return [text] if text else []
    digits = 1
    while True:
        marker = sms_units(f"({'9' * digits}/{'9' * digits}) ", gsm7=gsm7)
        parts = _pack(text, budget=limit - marker, gsm7=gsm7)
        if len(str(len(parts))) <= digits:
            break
        digits += 1
    total = len(parts)
    return [f"({n}/{total}) {part}" for n, part in enumerate(parts, 1)]


def render_for_channel(reply: Reply, channel: str) -> list[str]:
    """The message bodies that carry `reply` on `channel` ("sms" or "whatsapp")."""
    text = render_text(reply)
    if channel == "sms":
        return split_sms(text)
    return _pack(text, budget=WHATSAPP_LIMIT, gsm7=False) if text.strip() else []


def _pack(text: str, *, budget: int, gsm7: bool) -> list[str]:
    """Greedily fill parts of at most `budget` units with whole sentences, then words."""
    pieces: list[str] = []
    for sentence in _units(text, _BOUNDARY):
        if sms_units(sentence.strip(), gsm7=gsm7) <= budget:
            pieces.append(sentence)
        else:
            pieces.extend(_split_long(sentence, budget=budget, gsm7=gsm7))
    parts: list[str] = []
    current = ""
    for piece in pieces:
        candidate = current + piece
        if current and sms_units(candidate.strip(), gsm7=gsm7) > budget:
            parts.append(current.strip())
            current = piece
        else:
            current = candidate
    if current.strip():
        parts.append(current.strip())
    return parts


def _units(text: str, pattern: re.Pattern[str]) -> list[str]:
    """`text` cut after each match of `pattern`, separators kept with the piece before."""
    pieces: list[str] = []
    start = 0
    for match in pattern.finditer(text):
        pieces.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _split_long(sentence: str, *, budget: int, gsm7: bool) -> list[str]:
    """A sentence too long for one part: cut between words, and inside over-long words."""
    pieces: list[str] = []
    for word in _units(sentence, re.compile(r"\s+")):
        while sms_units(word.strip(), gsm7=gsm7) > budget:
            head = _prefix_within(word, budget=budget, gsm7=gsm7)
            pieces.append(head + " ")
            word = word[len(head) :]
        pieces.append(word)
    return pieces


def _prefix_within(word: str, *, budget: int, gsm7: bool) -> str:
    """The longest prefix of `word` that fits `budget` units (never half a character)."""
    used = 0
    for index, ch in enumerate(word):
        used += sms_units(ch, gsm7=gsm7)
        if used > budget:
            return word[:index]
    return word
