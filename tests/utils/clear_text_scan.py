"""Looking for a value, in clear or in a common encoding, in every database file of a stack.

Two passes over each SQLite file: every value of every table (to say where a leak is), and
the file's raw bytes together with its write-ahead log or journal (which also hold pages not
yet merged into the file, and rows deleted but not yet overwritten).
"""

from __future__ import annotations

import base64
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

SQLITE_MAGIC = b"SQLite format 3\x00"
MIN_FORM_BYTES = 6  # shorter base64 fragments turn up by chance inside ciphertext


@dataclass(frozen=True)
class Finding:
    """A value found: where (file, or file:table.column) and in which encoding."""

    where: str
    value: str
    form: str


def forms(value: str) -> dict[str, re.Pattern[bytes]]:
    """Byte patterns for `value` in clear (UTF-8, UTF-16), URL-encoded, hex and base64 (at
    each of the three alignments, standard and URL-safe alphabets)."""
    raw = value.encode()
    found: dict[str, bytes] = {
        "utf-8": raw,
        "utf-16-le": value.encode("utf-16-le"),
        "url": quote(value).encode(),
        "url+": quote_plus(value).encode(),
        "hex": raw.hex().encode(),
    }
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        start = -(-shift * 4 // 3)  # characters that also carry the padding bytes
        end = len(encoded) if (shift + len(raw)) % 3 == 0 else len(encoded) - 4
        stable = encoded[start:end]
        if len(stable) >= MIN_FORM_BYTES:
            found[f"base64@{shift}"] = stable
            found[f"base64url@{shift}"] = stable.replace(b"+", b"-").replace(b"/", b"_")
    patterns: dict[str, re.Pattern[bytes]] = {}
    seen: set[bytes] = set()
    for name, data in found.items():
        if data in seen:  # a date's URL form may equal its UTF-8 form
            continue
        seen.add(data)
        # a number in clear must stand alone: "481516" inside a timestamp is not a code
        edge = rb"(?<![0-9])" if data[:1].isdigit() else b""
        tail = rb"(?![0-9])" if data[-1:].isdigit() else b""
        patterns[name] = re.compile(edge + re.escape(data) + tail)
    return patterns


def sqlite_files(root: Path, *, skip: tuple[Path, ...] = ()) -> list[Path]:
    """Every SQLite database under `root` (outside `skip`), found by its header."""
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or any(path.is_relative_to(s) for s in skip):
            continue
        with path.open("rb") as handle:
            if handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC:
                found.append(path)
    return found


def scan_database(path: Path, values: list[str]) -> list[Finding]:
    """Findings in the rows of every table, then in the raw bytes of the file and its log."""
    patterns = {value: forms(value) for value in values}
    findings: list[Finding] = []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
        tables = [
            name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in tables:
            cursor = db.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, cell in zip(columns, row, strict=True):
                    data = cell if isinstance(cell, bytes) else str(cell).encode()
                    findings += _search(data, f"{path.name}:{table}.{column}", patterns)
    for file in (path, *(path.with_name(path.name + s) for s in ("-wal", "-journal"))):
        if file.exists():
            findings += _search(file.read_bytes(), f"{file.name} (raw bytes)", patterns)
    return findings


def _search(
    data: bytes, where: str, patterns: dict[str, dict[str, re.Pattern[bytes]]]
) -> list[Finding]:
    return [
        Finding(where, value, form)
        for value, by_form in patterns.items()
        for form, pattern in by_form.items()
        if pattern.search(data)
    ]
