"""`python -m bot.rasa_server`: Rasa's HTTP API always behind the token, never on a command
line, and Rasa on loopback unless told otherwise."""

from __future__ import annotations

import pytest
from rasa.__main__ import create_argument_parser

from bot.rasa_server import rasa_argv

TOKEN = "rasa-secret-0123456789"


def test_rasa_gets_the_api_behind_the_token_and_loopback_by_default() -> None:
    argv = rasa_argv(["--model", "m.tar.gz", "--port", "5105"], TOKEN)
    args = create_argument_parser().parse_args(argv[1:])  # what Rasa itself will read
    assert (args.enable_api, args.auth_token, args.interface) == (True, TOKEN, "127.0.0.1")
    assert (args.model, args.port) == ("m.tar.gz", 5105)


def test_another_interface_can_be_named() -> None:
    argv = rasa_argv(["--interface", "10.0.0.5"], TOKEN)
    assert create_argument_parser().parse_args(argv[1:]).interface == "10.0.0.5"
    assert argv.count("--interface") == 1


@pytest.mark.parametrize("given", [["--auth-token", "x"], ["--auth-token=x"], ["--enable-api"]])
def test_the_caller_cannot_choose_how_the_api_opens(given: list[str]) -> None:
    with pytest.raises(ValueError, match="set by this module"):
        rasa_argv(given, TOKEN)


def test_no_token_no_rasa() -> None:
    with pytest.raises(ValueError):
        rasa_argv([], "")
