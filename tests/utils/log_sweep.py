"""Looking for patients' names, phone numbers, birth dates and one-time codes in log output.

The values come from the EHR's own records and from the codes the hub sent; each becomes the
patterns of the forms it is likely to be written in (a name with or without its accents, a
phone in E.164 or a national form, a birth date in ISO or a common written form, a code as
is). A finding names the process, the line and the kind of value, with a hint that does not
give the value away: a report that printed it would be one more leak.

Guards against false hits: a name is only ever the full "Given Family" (a given name alone,
or one of 3 letters, is a common word), and a number must stand alone: not inside a longer
number, a hex id or the fraction of a timestamp.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_plus

Resource = dict[str, Any]
MIN_NAME_LETTERS = 4  # "Given Family" shorter than this (letters only) is not searched for
# A process's line as the supervisor writes it (scripts/stack.py): `backend | text`.
PREFIXED = re.compile(r"^(?P<process>[\w-]+)\s*\| ?(?P<line>.*)$")
# Codes are six digits (backend/identity); the outbox messages that carry one say "code".
CODE = re.compile(r"(?<![0-9A-Za-z])\d{6}(?![0-9A-Za-z])")
# English: Python keeps the C locale unless a program sets another.
MONTHS = list(calendar.month_name)[1:]


@dataclass(frozen=True)
class Secret:
    """A value that must not be logged, and the patterns of the forms it may take."""

    kind: str  # name, phone, birth date, code
    value: str
    patterns: tuple[re.Pattern[str], ...]

    @property
    def hint(self) -> str:
        """Enough to find the value again among the seeded ones, not enough to know it."""
        if self.kind == "code":
            return f"a one-time code ({len(self.value)} digits)"
        return f"{self.kind} {self.value[:1]}…{self.value[-1:]} ({len(self.value)} characters)"


@dataclass(frozen=True)
class Leak:
    """Where a secret turned up: a process's output or a log file, and the line."""

    source: str
    line: int
    secret: Secret

    def __str__(self) -> str:
        return f"{self.source}, line {self.line}: {self.secret.hint}"


def _unaccented(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _words(*parts: str) -> re.Pattern[str]:
    """The parts in order, any spacing between, case-insensitive, not inside a longer word."""
    body = r"\s+".join(re.escape(part) for part in parts)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def name_secret(given: list[str], family: str) -> Secret | None:
    """A full name as "Given Family" (all given names, or the first one only), also
    unaccented and as "Family, Given"; None when too short to tell from ordinary words."""
    full = " ".join([*given, family])
    if not given or not family or sum(c.isalpha() for c in full) < MIN_NAME_LETTERS:
        return None
    forms = {(*given, family), (given[0], family)}
    forms |= {tuple(_unaccented(part) for part in form) for form in forms}
    patterns = [_words(*form) for form in sorted(forms)]
    patterns.append(_words(f"{family},", *given))
    return Secret("name", full, tuple(patterns))


def phone_secret(e164: str) -> Secret | None:
    """A North American number in E.164 and its national forms: 2125550150, (212) 555-0150,
    212-555-0150, 212.555.0150, 1 212 555 0150 (other numbers: E.164 only)."""
    digits = re.sub(r"\D", "", e164)
    if len(digits) == 11 and digits.startswith("1"):
        area, exchange, line = digits[1:4], digits[4:7], digits[7:]
        sep = r"[\s.-]?"
        national = rf"(?:\+?1{sep})?\(?{area}\)?{sep}{exchange}{sep}{line}"
        return Secret("phone", e164, (re.compile(rf"(?<![\w+]){national}(?!\d)"),))
    if len(digits) < 7:
        return None
    return Secret("phone", e164, (re.compile(rf"(?<![\w+])\+?{digits}(?!\d)"),))


def birth_date_secret(iso: str) -> Secret | None:
    """A birth date in ISO (not as the start of a timestamp, which a time of day follows),
    month first and day first with slashes, dots or dashes, and written out."""
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return None
    y, m, d = day.year, day.month, day.day
    month, short = MONTHS[m - 1], MONTHS[m - 1][:3]
    numeric = [
        rf"{y}-{m:02d}-{d:02d}(?![\dT])",
        rf"{y}/0?{m}/0?{d}",
        rf"0?{m}/0?{d}/{y}",
        rf"0?{d}[/.-]0?{m}[/.-]{y}",
        rf"0?{m}-0?{d}-{y}",
    ]
    written = [
        rf"(?:{month}|{short}\.?)\s+{d}(?:st|nd|rd|th)?,?\s+{y}",
        rf"{d}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{month}|{short}\.?),?\s+{y}",
    ]
    patterns = [re.compile(rf"(?<![\w.:/-]){p}(?!\d)") for p in numeric]
    patterns += [re.compile(rf"(?<!\w){p}(?!\d)", re.IGNORECASE) for p in written]
    return Secret("birth date", iso, tuple(patterns))


def code_secret(code: str) -> Secret:
    """A one-time code: the digits standing alone (not in a hex id or a timestamp's
    fraction of a second)."""
    return Secret("code", code, (re.compile(rf"(?<![0-9A-Za-z.,:]){code}(?![0-9A-Za-z])"),))


def _humans(resource: Resource) -> Iterator[Resource]:
    """The HumanNames of a Patient or RelatedPerson, and those of a Patient's contacts."""
    yield from resource.get("name") or []
    for contact in resource.get("contact") or []:
        if contact.get("name"):
            yield contact["name"]


def _phones(resource: Resource) -> Iterator[str]:
    for holder in [resource, *(resource.get("contact") or [])]:
        for telecom in holder.get("telecom") or []:
            if telecom.get("system") == "phone" and telecom.get("value"):
                yield str(telecom["value"])


def record_secrets(resources: Iterable[Resource]) -> list[Secret]:
    """The names, phone numbers and birth dates of Patients and RelatedPersons (and of the
    contacts on a Patient), each value once."""
    found: dict[tuple[str, str], Secret] = {}
    for resource in resources:
        candidates = [
            *(
                name_secret(list(h.get("given") or []), h.get("family") or "")
                for h in _humans(resource)
            ),
            *(phone_secret(phone) for phone in _phones(resource)),
            birth_date_secret(resource.get("birthDate") or ""),
        ]
        for secret in candidates:
            if secret is not None:
                found.setdefault((secret.kind, secret.value), secret)
    return list(found.values())


def sent_codes(texts: Iterable[str]) -> list[Secret]:
    """The one-time codes in messages that were sent (those that speak of a code)."""
    codes = {code for text in texts if "code" in text.lower() for code in CODE.findall(text)}
    return [code_secret(code) for code in sorted(codes)]


def by_process(log: str) -> dict[str, list[str]]:
    """The supervisor's interleaved output, split into each process's own lines."""
    lines: dict[str, list[str]] = {}
    for raw in log.splitlines():
        match = PREFIXED.match(raw)
        process, line = (match["process"], match["line"]) if match else ("supervisor", raw)
        lines.setdefault(process, []).append(line)
    return lines


def log_files(root: Path) -> list[Path]:
    """Every log file under `root` (Rasa's `--log-file`s and any other `*.log`)."""
    return sorted(path for path in root.rglob("*.log") if path.is_file())


def sweep(sources: dict[str, list[str]], secrets: list[Secret]) -> list[Leak]:
    """Every line of every source in which a secret appears, in any of its forms."""
    leaks = []
    for source, lines in sources.items():
        for number, line in enumerate(lines, start=1):
            # URLs in access logs: "%2B1212..." and "Ma%C3%ABlle+Girard" are values too.
            readings = {line, unquote(line), unquote_plus(line)}
            for secret in secrets:
                if any(p.search(text) for p in secret.patterns for text in readings):
                    leaks.append(Leak(source, number, secret))
    return leaks


def report(leaks: list[Leak], *, limit: int = 40) -> str:
    """The leaks, one a line (the values themselves never shown)."""
    shown = [str(leak) for leak in leaks[:limit]]
    more = f"\n… and {len(leaks) - limit} more" if len(leaks) > limit else ""
    return "\n".join(shown) + more
