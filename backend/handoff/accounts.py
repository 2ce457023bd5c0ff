"""Console accounts from the command line.

    python -m backend.handoff.accounts create --email nurse@clinic.example --name "Ann Lee"
    python -m backend.handoff.accounts create ... --role triage_lead
    python -m backend.handoff.accounts set-role --email nurse@clinic.example --role clinician
    python -m backend.handoff.accounts reset-totp --email nurse@clinic.example
    python -m backend.handoff.accounts sign-out-everywhere --email nurse@clinic.example

The password is asked for twice on the terminal, or read from standard input with
`--password-stdin` (first line), so it never appears in the shell history or `ps`.
`reset-totp` removes a lost second factor (the clinician sets up a new one) and ends the
account's sessions; `sign-out-everywhere` ends them alone (a lost or shared device).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from sqlalchemy.orm import Session

from backend.core.config import get_settings
from backend.db.session import make_engine, make_session_factory
from backend.handoff import totp
from backend.handoff.auth import (
    EmailTaken,
    UnknownRole,
    WeakPassword,
    create_clinician,
    end_all_sessions,
    find_clinician,
)
from backend.handoff.console_access import ROLES


class NoSuchAccount(LookupError):
    def __init__(self, email: str) -> None:
        super().__init__(f"no account for {email}")


def _read_password(args: argparse.Namespace, stdin: TextIO) -> str:
    if args.password_stdin:
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise SystemExit("the two passwords differ; nothing was created")
    return first


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backend.handoff.accounts")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a clinician account")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--role", choices=ROLES, default="clinician")
    create.add_argument("--password-stdin", action="store_true")
    set_role = commands.add_parser("set-role", help="change what an account may read")
    set_role.add_argument("--email", required=True)
    set_role.add_argument("--role", choices=ROLES, required=True)
    commands.add_parser("reset-totp", help="remove a lost second factor").add_argument(
        "--email", required=True
    )
    commands.add_parser("sign-out-everywhere", help="end every session").add_argument(
        "--email", required=True
    )
    for command in commands.choices.values():
        command.add_argument("--database-url", help="default: DATABASE_URL from the settings")
    return parser


def _run(session: Session, args: argparse.Namespace, stdin: TextIO) -> str:
    """Do the command; returns what to print."""
    if args.command == "create":
        password = _read_password(args, stdin)
        made = create_clinician(
            session=session, email=args.email, name=args.name, password=password, role=args.role
        )
        return f"created clinician {made.id} <{made.email}> ({made.role})"
    clinician = find_clinician(session=session, email=args.email)
    if clinician is None:
        raise NoSuchAccount(args.email)
    if args.command == "set-role":
        clinician.role = args.role
        session.commit()
        return f"clinician {clinician.id} is now {clinician.role}"
    if args.command == "reset-totp":
        totp.reset(session=session, clinician=clinician)
    ended = end_all_sessions(session=session, clinician_id=clinician.id)
    done = "second factor removed; " if args.command == "reset-totp" else ""
    return f"clinician {clinician.id}: {done}{ended} session(s) ended"


def main(argv: list[str] | None = None, stdin: TextIO | None = None) -> int:
    """Run the command; returns the exit status."""
    args = _parser().parse_args(argv)
    url = args.database_url or get_settings().effective_database_url
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            print(_run(session, args, stdin or sys.stdin))
    except (WeakPassword, EmailTaken, UnknownRole, NoSuchAccount) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
