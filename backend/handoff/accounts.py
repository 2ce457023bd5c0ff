"""Console accounts from the command line.

    python -m backend.handoff.accounts create --email nurse@clinic.example --name "Ann Lee"

The password is asked for twice on the terminal, or read from standard input with
`--password-stdin` (first line), so it never appears in the shell history or `ps`.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from backend.core.config import get_settings
from backend.db.session import make_engine, make_session_factory
from backend.handoff.auth import EmailTaken, WeakPassword, create_clinician


def _read_password(args: argparse.Namespace, stdin: TextIO) -> str:
    if args.password_stdin:
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise SystemExit("the two passwords differ; nothing was created")
    return first


def main(argv: list[str] | None = None, stdin: TextIO | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m backend.handoff.accounts")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a clinician account")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--password-stdin", action="store_true")
    create.add_argument("--database-url", help="default: DATABASE_URL from the settings")
    args = parser.parse_args(argv)

    url = args.database_url or get_settings().effective_database_url
    password = _read_password(args, stdin or sys.stdin)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            clinician = create_clinician(
                session=session, email=args.email, name=args.name, password=password
            )
    except (WeakPassword, EmailTaken) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"created clinician {clinician.id} <{clinician.email}>")
    return 0


if __name__ == "__main__":
    sys.exit(main())
