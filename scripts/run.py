"""`make run`: start the whole system, say where to chat, stop everything on Ctrl-C.

`make run-scaled` (`--scaled`, or PROFILE=scaled) starts the scaled profile instead: several
hub workers and Rasa instances on PostgreSQL and Redis (scripts/stack_scaled.py).

Settings come from `.env` (see .env.example), or from the environment, which wins; the ports
are those of the URLs there.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

from dotenv import dotenv_values

from scripts.model_cache import model_path
from scripts.stack import ROOT, StackConfig, Supervisor, start_stack
from scripts.stack_scaled import consecutive_free_ports, topology


def _port(url: str | None, default: int) -> int:
    return (urlparse(url).port if url else None) or default


def config_from_env(profile: str = "embedded") -> StackConfig:
    """The stack as `.env` and the environment describe it (every value optional)."""
    values = {k: v for k, v in dotenv_values(ROOT / ".env").items() if v is not None}

    def setting(name: str, default: str = "") -> str:
        return os.environ.get(name) or values.get(name) or default

    config = StackConfig(
        var_dir=Path(setting("VAR_DIR") or ROOT / "var").resolve(),
        model=model_path(),
        backend_port=_port(setting("BACKEND_URL"), 8000),
        rasa_port=_port(setting("RASA_URL"), 5005),
        actions_port=_port(setting("ACTIONS_URL"), 5055),
        ehr_port=_port(setting("EHR_BASE_URL"), 8090),
        env=values,
    )
    if profile != "scaled":
        return config
    instances = int(setting("RASA_INSTANCES", "2"))
    return replace(
        config,
        profile="scaled",
        hub_workers=int(setting("HUB_WORKERS", "2")),
        rasa_instances=instances,
        # From RASA_URL's port up, the first `instances` consecutive ports that are free.
        rasa_port=consecutive_free_ports(instances, start=config.rasa_port),
        postgres_url=setting("SCALED_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432"),
        backend_db=setting("SCALED_DATABASE", "assistant"),
        rasa_db=setting("SCALED_RASA_DATABASE", "assistant_rasa"),
        redis_url=setting("REDIS_URL", "redis://127.0.0.1:6379/0"),
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


def profile_lines(config: StackConfig) -> str:
    """The scaled profile's topology, indented like the lines above it; nothing embedded."""
    if not config.scaled:
        return ""
    return "  Scaled profile:\n" + "".join(f"    {line}\n" for line in topology(config))


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the stack the same way Ctrl-C does


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scaled",
        action="store_true",
        help="several hub workers and Rasa instances on PostgreSQL and Redis (PROFILE=scaled)",
    )
    scaled = parser.parse_args().scaled or os.environ.get("PROFILE") == "scaled"
    try:
        config = config_from_env("scaled" if scaled else "embedded")
    except (RuntimeError, ValueError) as exc:  # no free Rasa ports, a setting not a number
        print(f"bad settings: {exc}")
        return 1
    if not config.model.exists():
        print(f"no trained model at {config.model}: run `make train` (make run does)")
        return 1
    supervisor = Supervisor(config)
    # Ctrl-C reaches only us (children have their own process groups), so we stop them in order.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    try:
        # Each Rasa instance loads TensorFlow and its model: on a busy 2-core machine two of
        # them together took 3 to 5.5 minutes (docs/concurrency.md, "Scaled profile").
        start_stack(supervisor, timeout_s=300 * (config.rasa_instances if scaled else 1))
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
        "  (messages while no provider is configured; codes masked: `make outbox` shows them)\n"
        f"  Health of every process:  {config.backend_url}/healthz\n"
        f"  REST channel for scripts: POST {config.backend_url}/channels/rest/webhook\n"
        f"  EHR (FHIR R4):            {config.ehr_base_url}\n"
        f"  Channels:                 {'; '.join(channel_status({**os.environ, **config.env}))}\n"
        f"{profile_lines(config)}"
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
