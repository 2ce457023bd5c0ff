"""The action server: rasa_sdk's app, answering Rasa only.

    python -m bot.action_server --port 5055      (scripts/stack.py starts it this way)

`rasa run actions` would listen on every interface (0.0.0.0) and run any action for anyone who
posts to /webhook, so a caller on the host could act as the assistant with the backend's
service token behind it. This module builds the same app (`rasa_sdk.endpoint.create_app`: the
same routes, the same action contract) and adds:

- a bind to 127.0.0.1 unless `--host` says otherwise;
- the secret: every request but `GET /health` must carry ACTIONS_TOKEN as
  `Authorization: Bearer <token>` (endpoints.yml makes Rasa send it), else 401;
- a cap on the request body, sent or inflated: rasa_sdk inflates a deflate body with no
  limit, so a few kilobytes could become gigabytes in memory.
"""

from __future__ import annotations

import argparse
import logging
import zlib

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME, DEFAULT_SERVER_PORT
from rasa_sdk.endpoint import create_app as create_sdk_app
from sanic import Sanic, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.shared_secret import carries_secret, secret_from_env

TOKEN_VARIABLE = "ACTIONS_TOKEN"
ACTIONS_PACKAGE = "bot.actions"
# An action call carries the domain (about 9 kB as JSON) and the tracker's events since the
# session started (the hub keeps sessions to about 20 patient messages, a few kB each): well
# under a megabyte. 4 MiB leaves room for a long session and still bounds the memory a call
# can take, before and after inflating.
MAX_BODY_BYTES = 4 * 1024 * 1024
OPEN_PATHS = frozenset({"/health"})  # the supervisor's and the hub's health checks

logger = logging.getLogger(__name__)


def create_app(secret: str, actions_package: str = ACTIONS_PACKAGE) -> Sanic:
    """rasa_sdk's app for `actions_package`, behind `secret`, with its body capped."""
    if not secret:  # an empty secret would match a request without the header
        raise ValueError("the action server needs a secret")
    # No CORS origins: only Rasa calls this server, never a browser.
    app = create_sdk_app(actions_package, cors_origins=None)
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES

    # Sanic raises this while reading a body past REQUEST_MAX_SIZE; rasa_sdk's catch-all
    # handler would answer 500 (and try to parse the body it could not read).
    @app.exception(PayloadTooLarge)
    async def too_large(request: Request, exception: PayloadTooLarge) -> HTTPResponse:
        return response.json({"error": "the body is too large"}, status=413)

    async def refuse_strangers(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS and request.method == "GET":
            return None
        if carries_secret(request.headers.get("authorization"), secret):
            return None
        return response.json({"error": "this server answers Rasa only"}, status=401)

    # Registered in this order, so a stranger's body is never inflated.
    app.register_middleware(refuse_strangers, "request")
    app.register_middleware(inflate_within_limit, "request")
    return app


async def inflate_within_limit(request: Request) -> HTTPResponse | None:
    """Inflate a deflate body here, at most MAX_BODY_BYTES, and hand rasa_sdk's webhook the
    plain body (Rasa deflates action calls when COMPRESS_ACTION_SERVER_REQUEST is set)."""
    if request.headers.get("content-encoding", "").lower() != "deflate":
        return None
    inflater = zlib.decompressobj()
    try:
        body = inflater.decompress(request.body, MAX_BODY_BYTES + 1)
    except zlib.error:
        return response.json({"error": "the body is not valid deflate data"}, status=400)
    if len(body) > MAX_BODY_BYTES or inflater.unconsumed_tail:
        return response.json({"error": "the inflated body is too large"}, status=413)
    request.body = body
    del request.headers["content-encoding"]  # rasa_sdk would inflate it again, unbounded
    return None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The action server, answering Rasa only.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("-p", "--port", type=int, default=DEFAULT_SERVER_PORT)
    parser.add_argument("--actions", default=ACTIONS_PACKAGE, help="package of the actions")
    utils.add_logging_level_option_arguments(parser)
    utils.add_logging_file_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # The same logging set-up as `rasa run actions` (rasa_sdk/__main__.py).
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
        args.log_file,
        args.loglevel,
        args.logging_config_file,
    )
    utils.update_sanic_log_level()
    app = create_app(secret_from_env(TOKEN_VARIABLE), args.actions)
    logger.info(f"Action server listening on http://{args.host}:{args.port}")
    app.run(args.host, args.port, workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    main()
