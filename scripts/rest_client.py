"""Make an API key for a REST channel client: `python -m scripts.rest_client NAME`.

Prints the key (give it to the script that will call POST /channels/rest/webhook, as
`Authorization: Bearer <key>`; it is shown once and stored nowhere) and the REST_CLIENTS
entry to add to `.env`, which holds only the key's SHA-256 (channels/rest.py).
"""

from __future__ import annotations

import argparse
import json

from channels import rest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the client's id: 1-32 of a-z, 0-9, _ and -")
    args = parser.parse_args(argv)
    if not rest.REST_CLIENT_ID.fullmatch(args.name):
        parser.error("the name must be 1-32 of a-z, 0-9, _ and -")
    key, digest = rest.new_client()
    print(f"API key for {args.name} (shown once): {key}")
    print("Add to REST_CLIENTS in .env (merge with any clients already listed):")
    print(f"REST_CLIENTS={json.dumps({args.name: digest})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
