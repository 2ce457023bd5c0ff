"""`make run`: start the whole system, say where to chat, stop everything on Ctrl-C.

Settings come from `.env` (see .env.example); the ports are those of the URLs there.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from dotenv import dotenv_values

from scripts.model_cache import model_path
from scripts.stack import ROOT, StackConfig, Supervisor, start_stack


def _port(url: str | None, default: int) -> int:
    return (urlparse(url).port if url else None) or default


def config_from_env() -> StackConfig:
    """The stack as `.env` describes it (every value optional)."""
    values = {k: v for k, v in dotenv_values(ROOT / ".env").items() if v is not None}
    var_dir = Path(values.get("VAR_DIR") or ROOT / "var")
    return StackConfig(
        var_dir=var_dir.resolve(),
        model=model_path(),
        backend_port=_port(values.get("BACKEND_URL"), 8000),
        rasa_port=_port(values.get("RASA_URL"), 5005),
        actions_port=_port(values.get("ACTIONS_URL"), 5055),
        ehr_port=_port(values.get("EHR_BASE_URL"), 8090),
        env=values,
    )


def channel_status(values: dict[str, str]) -> list[str]:
    """Which channels are live with the credentials in `.env`, and where the others go."""
    twilio = bool(values.get("TWILIO_ACCOUNT_SID") and values.get("TWILIO_AUTH_TOKEN"))
    telegram = bool(values.get("TELEGRAM_BOT_TOKEN"))
    to_outbox = "inbound webhook only; replies go to the development outbox"

    def phone(sender: str) -> str:
        return "live (Twilio)" if twilio and values.get(sender) else to_outbox

    return [
        "web chat and REST: live",
        f"SMS: {phone('TWILIO_FROM_NUMBER')}",
        f"WhatsApp: {phone('TWILIO_WHATSAPP_FROM')}",
        f"Telegram: {'live (webhook registered at start-up)' if telegram else to_outbox}",
    ]


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the stack the same way Ctrl-C does


def main() -> int:
    config = config_from_env()
    if not config.model.exists():
        print(f"no trained model at {config.model}: run `make train` (make run does)")
        return 1
    supervisor = Supervisor(config)
    # Ctrl-C reaches only us (children have their own process groups), so we stop them in order.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    try:
        start_stack(supervisor)
    except KeyboardInterrupt:
        print("\nstopped before everything was ready")
        return 130
    except RuntimeError as exc:
        print(f"\nstart-up failed: {exc}")
        return 1
    print(
        f"\n  Ready in {time.monotonic() - started:.0f} s.\n"
        f"  Chat with the assistant:  {config.backend_url}/\n"
        f"  Clinician console:        {config.backend_url}/console"
        "  (accounts: .venv/bin/python -m backend.handoff.accounts create --email … --name …)\n"
        f"  Outbox (development):     {config.backend_url}/dev/outbox"
        "  (SMS/WhatsApp/Telegram messages while no provider is configured)\n"
        f"  Health of every process:  {config.backend_url}/healthz\n"
        f"  REST channel for scripts: POST {config.backend_url}/channels/rest/webhook\n"
        f"  EHR (FHIR R4):            {config.ehr_base_url}\n"
        f"  Channels:                 {'; '.join(channel_status({**os.environ, **config.env}))}\n"
        "  Press Ctrl-C to stop everything.\n",
        flush=True,
    )
    try:
        while (dead := supervisor.exited()) is None:
            time.sleep(0.5)
        print(f"\n{dead} stopped unexpectedly; stopping everything")
        code = 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        code = 0
    supervisor.stop()
    print("all processes stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
