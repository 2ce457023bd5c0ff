"""`make outbox`: the development outbox with its one-time codes, for the developer at this machine.

The outbox page masks codes for anyone without the service token; this command has it (from
.env, like every process of `make run`), so verifying as a seeded patient on a laptop stack
still works: say your name and birth date in the chat, then read the code here.
"""

from __future__ import annotations

import sys

import httpx

from scripts.run import config_from_env


def main(argv: list[str]) -> int:
    config = config_from_env()
    limit = int(argv[0]) if argv and argv[0].isdigit() else 10
    token = config.process_env()["SERVICE_TOKEN"]
    try:
        response = httpx.get(
            f"{config.backend_url}/dev/outbox.json",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        print(f"the backend at {config.backend_url} did not answer ({exc}): is `make run` up?")
        return 1
    if response.status_code == 404:
        print("no development outbox: it exists only with ENV=development")
        return 1
    response.raise_for_status()
    for entry in response.json()[:limit]:
        print(f"{entry['at']}  {entry['channel']:<9} {entry['to']}\n    {entry['text']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
