"""No clear-text patient data at rest, end to end (issue 21): a patient verifies through the
running stack, typing their name, birth date and one-time code, and afterwards neither the
code nor the birth date is in any database file or table of the stack (the backend's database
with the outreach job store in it, Rasa's tracker store), in clear or in a common encoding.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from backend.outreach.scheduler import JOB_TABLE
from scripts.stack import StackConfig
from tests.utils.clear_text_scan import scan_database, sqlite_files
from tests.utils.e2e_chat import Outbox, RestChat, fresh_patients, verification_code

pytestmark = pytest.mark.e2e


def birth_date_forms(born: date, typed: str) -> list[str]:
    """The birth date as typed, as a slot or FHIR holds it, and as people write it."""
    return [
        typed,
        born.isoformat(),
        f"{born:%Y%m%d}",
        f"{born:%m/%d/%Y}",
        f"{born.month}/{born.day}/{born.year}",
        f"{born:%d/%m/%Y}",
        f"{born:%B} {born.day}, {born.year}",
    ]


def test_a_verification_leaves_no_code_or_birth_date_in_clear_in_any_store(
    stack: StackConfig,
) -> None:
    [patient] = asyncio.run(fresh_patients(stack, 1))
    born = patient.summary.birth_date
    assert born is not None
    chat, outbox = RestChat(stack, "at-rest-scan"), Outbox(stack)

    chat.say("I need to book a checkup with a family doctor", expect="last name")
    chat.say(patient.summary.family, expect="first name")
    chat.say(patient.summary.given, expect="date of birth")
    chat.say(patient.birth_date_text, expect="6-digit code here")
    code = verification_code(outbox, patient)
    chat.say(code, expect="you're confirmed")
    assert re.fullmatch(r"\d{6}", code)

    ehr_dir = stack.var_dir / "ehr"
    databases = sqlite_files(stack.var_dir, skip=(ehr_dir,))
    names = {path.relative_to(stack.var_dir).as_posix() for path in databases}
    assert {"backend.db", "rasa/tracker.db"} <= names, names
    assert _has_table(databases, JOB_TABLE)  # the outreach job store is scanned too
    secrets = [code, *birth_date_forms(born, patient.birth_date_text)]

    findings = [finding for path in databases for finding in scan_database(path, secrets)]

    assert findings == [], "\n".join(f"{f.where}: {f.value!r} as {f.form}" for f in findings)
    # The scan sees what is there: the EHR, the record system itself, holds the birth date.
    in_the_ehr = [f for path in sqlite_files(ehr_dir) for f in scan_database(path, secrets)]
    assert any(f.value == born.isoformat() for f in in_the_ehr)


def _has_table(databases: list[Path], table: str) -> bool:
    for path in databases:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
            if db.execute(query, (table,)).fetchone():
                return True
    return False
