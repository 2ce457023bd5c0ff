"""`python -m backend.handoff.accounts create`: console accounts with argon2-hashed passwords."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.core.config import ROOT, Settings
from backend.db.models import Clinician, ClinicianSession
from backend.handoff.accounts import main
from backend.handoff.auth import authenticate, start_session
from backend.services import Services

PASSWORD = "a long enough passphrase"


def test_the_cli_creates_an_account_that_can_sign_in(
    settings: Settings, services: Services
) -> None:
    url = settings.effective_database_url
    env = {**os.environ, "DATABASE_URL": url, "ENV": "development"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.handoff.accounts",
            "create",
            "--email",
            "Nurse@Clinic.example",
            "--name",
            "Ann Lee",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "nurse@clinic.example" in result.stdout and PASSWORD not in result.stdout
    with services.session_factory() as session:
        clinician = session.scalars(select(Clinician)).one()
        assert (clinician.email, clinician.name, clinician.active) == (
            "nurse@clinic.example",
            "Ann Lee",
            True,
        )
        assert clinician.password_hash.startswith("$argon2id$")
        assert PASSWORD not in clinician.password_hash
        assert authenticate(session=session, email="nurse@clinic.example", password=PASSWORD)


def test_the_cli_refuses_short_passwords_and_duplicate_emails(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    url = settings.effective_database_url
    args = ["create", "--email", "a@clinic.example", "--name", "A", "--password-stdin"]
    args += ["--database-url", url]
    assert main(args, stdin=io.StringIO("short\n")) == 1
    assert "at least 12" in capsys.readouterr().err
    assert main(args, stdin=io.StringIO(PASSWORD + "\n")) == 0
    assert main(args, stdin=io.StringIO(PASSWORD + "\n")) == 1
    assert "exists already" in capsys.readouterr().err


def test_the_cli_asks_twice_and_stops_when_the_passwords_differ(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    args = ["create", "--email", "b@clinic.example", "--name", "B"]
    with pytest.raises(SystemExit, match="differ"):
        main([*args, "--database-url", settings.effective_database_url])


def test_the_cli_gives_roles_resets_a_lost_factor_and_signs_out_everywhere(
    settings: Settings, services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--database-url", settings.effective_database_url]
    lead = ["create", "--email", "lead@clinic.example", "--name", "Lee", "--password-stdin"]
    assert main([*lead, "--role", "triage_lead", *db], stdin=io.StringIO(PASSWORD + "\n")) == 0
    with pytest.raises(SystemExit):  # argparse refuses an unknown role
        main([*lead, "--role", "admin", *db], stdin=io.StringIO(PASSWORD + "\n"))
    email = ["--email", "lead@clinic.example"]
    assert main(["set-role", *email, "--role", "clinician", *db]) == 0
    with services.session_factory() as session:
        clinician = session.scalars(select(Clinician)).one()
        assert clinician.role == "clinician"
        clinician.totp_secret_ciphertext = services.cipher.encrypt("JBSWY3DPEHPK3PXP")
        clinician.totp_last_step = 1
        session.commit()
        for _ in range(2):
            start_session(session=session, clinician=clinician, lifetime=timedelta(hours=1))
    assert main(["reset-totp", *email, *db]) == 0
    assert "second factor removed; 2 session(s) ended" in capsys.readouterr().out
    with services.session_factory() as session:
        clinician = session.scalars(select(Clinician)).one()
        assert (clinician.totp_secret_ciphertext, clinician.totp_last_step) == (None, None)
        start_session(session=session, clinician=clinician, lifetime=timedelta(hours=1))
    assert main(["sign-out-everywhere", *email, *db]) == 0
    with services.session_factory() as session:
        assert session.scalars(select(ClinicianSession)).all() == []
    assert main(["reset-totp", "--email", "nobody@clinic.example", *db]) == 1
    assert "no account for nobody@clinic.example" in capsys.readouterr().err
