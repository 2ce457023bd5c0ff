"""Hub overhead and long-conversation cost, against a running `make run`.

    .venv/bin/python bench/latency.py [--backend URL] [--rasa URL] [--rasa-token T] [--rounds N]
        [--long N]

1. The same scripted conversations go through the hub (`POST /channels/rest/webhook`) and
   straight to Rasa's hub channel (with the hub's secret, --rasa-token, by default RASA_TOKEN
   from the environment), interleaved so both see the same machine load; p50/p95 of
   each and the ratio (target: hub p50 <= 1.10 x Rasa's).
2. One conversation of --long messages through the hub: the cost of its last messages against
   its first (target <= 1.2 x), because the hub starts a new Rasa session every
   SESSION_MAX_TURNS messages at an idle point. For contrast, the same number of messages
   straight to Rasa in one session (which replays the whole session on every prediction).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid

import httpx

SCRIPT = ["hello", "what can you do?", "are you a bot?", "thanks", "bye"]
LONG_TURNS = ["hello", "what can you help with", "thanks", "are you a person?", "ok bye"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# Rasa's hub channel (bot/channels/hub_channel.py): Rasa answers messages from the hub only.
RASA_MESSAGE_PATH = "/webhooks/hub/webhook"


def timed_post(
    client: httpx.Client, url: str, sender: str, text: str, headers: dict[str, str] | None = None
) -> float:
    started = time.perf_counter()
    response = client.post(url, json={"sender": sender, "message": text}, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed


def hub_versus_rasa(
    client: httpx.Client, hub: str, rasa: str, rasa_auth: dict[str, str], rounds: int
) -> None:
    times: dict[str, list[float]] = {"hub": [], "rasa": []}
    for _ in range(rounds):
        ids = {"hub": f"bench-{uuid.uuid4().hex}", "rasa": f"bench-{uuid.uuid4().hex}"}
        for text in SCRIPT:
            for name, url, headers in (("hub", hub, None), ("rasa", rasa, rasa_auth)):
                times[name].append(timed_post(client, url, ids[name], text, headers))
    for name, values in times.items():
        print(
            f"{name:>5}: n={len(values)} p50={percentile(values, 0.5):.1f} ms "
            f"p95={percentile(values, 0.95):.1f} ms"
        )
    ratio = statistics.median(times["hub"]) / statistics.median(times["rasa"])
    print(f"hub/rasa p50 ratio: {ratio:.2f} (target <= 1.10)")


def long_conversation(
    client: httpx.Client,
    url: str,
    label: str,
    turns: int,
    headers: dict[str, str] | None = None,
) -> None:
    sender = f"bench-long-{uuid.uuid4().hex}"
    values = [
        timed_post(client, url, sender, LONG_TURNS[i % len(LONG_TURNS)], headers)
        for i in range(turns)
    ]
    window = 20
    first = statistics.median(values[:window])
    last = statistics.median(values[-window:])
    print(
        f"{label}: {turns} messages; p50 of messages 1-{window}: {first:.1f} ms, "
        f"of the last {window}: {last:.1f} ms, ratio {last / first:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="http://127.0.0.1:8000")
    parser.add_argument("--rasa", default="http://127.0.0.1:5005")
    parser.add_argument(
        "--rasa-token", default=os.environ.get("RASA_TOKEN", "dev-rasa-token"), help="hub's secret"
    )
    parser.add_argument(
        "--rest-key",
        default=os.environ.get("REST_KEY", ""),
        help="API key of a REST_CLIENTS client (python -m scripts.rest_client bench)",
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--long", type=int, default=500)
    args = parser.parse_args()
    hub = f"{args.backend}/channels/rest/webhook"
    rasa = f"{args.rasa}{RASA_MESSAGE_PATH}"
    rasa_auth = {"Authorization": f"Bearer {args.rasa_token}"}
    # The hub's REST channel: this client's key on every request (rasa_auth overrides it).
    with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {args.rest_key}"}) as client:
        # warm both paths up before measuring
        timed_post(client, hub, f"bench-warm-{uuid.uuid4().hex}", "hello")
        timed_post(client, rasa, f"bench-warm-{uuid.uuid4().hex}", "hello", rasa_auth)
        hub_versus_rasa(client, hub, rasa, rasa_auth, args.rounds)
        long_conversation(client, hub, "hub, sessions managed", args.long)
        long_conversation(client, rasa, "rasa direct, one session", min(args.long, 200), rasa_auth)


if __name__ == "__main__":
    main()
