"""`rasa run` with its HTTP API behind RASA_TOKEN, the token kept off the command line.

    python -m bot.rasa_server --model M --endpoints endpoints.yml --port 5005

(scripts/stack.py starts Rasa this way). `rasa run --auth-token T` would put the token in the
process's command line, which every user of the host can read (`ps`, /proc/<pid>/cmdline),
and with it the whole HTTP API: tracker events, external intents, new sessions. Here the
token comes from the environment (readable by the process's own user only) and is handed to
Rasa's own command-line parser in memory. The arguments are those of `rasa run`; the HTTP API
is always on, always with the token, and the interface is 127.0.0.1 unless `--interface` (or
`-i`) names another.
"""

from __future__ import annotations

import sys

from bot.shared_secret import secret_from_env

TOKEN_VARIABLE = "RASA_TOKEN"
REFUSED = ("--auth-token", "--jwt-secret", "--enable-api")  # this module sets how the API opens


def rasa_argv(args: list[str], token: str) -> list[str]:
    """The `rasa run` command line for `args`, with the API on behind `token`."""
    if not token:
        raise ValueError("Rasa's HTTP API needs a token")
    names = {arg.split("=")[0] for arg in args}
    if refused := sorted(names & set(REFUSED)):
        raise ValueError(f"{', '.join(refused)}: set by this module, not by its caller")
    listen = [] if names & {"-i", "--interface"} else ["--interface", "127.0.0.1"]
    return ["rasa", "run", "--enable-api", "--auth-token", token, *listen, *args]


def main() -> None:
    sys.argv = rasa_argv(sys.argv[1:], secret_from_env(TOKEN_VARIABLE))
    from rasa.__main__ import main as rasa_main  # after sys.argv: Rasa reads it as it starts

    rasa_main()


if __name__ == "__main__":
    main()
