"""Load: N patients at once through the hub, and the same through bare Rasa, at each level.

Against a running stack (`make run`, or any stack whose URLs you pass; loopback only):

    .venv/bin/python bench/load.py [--levels 1,8,32,128,256] [--messages 8] [--rounds 1]
        [--backend URL] [--rasa URL] [--ehr URL] [--service-token T] [--rasa-token T]
        [--rest-key K]
        [--timeout 60] [--max-retries 20] [--level-seconds 600] [--settle 2] [--targets hub,rasa]
        [--verify-uses 2] [--profile NAME] [--json FILE]

At each level N conversations run at once; each is one patient sending ~8 messages one after
another, each once the previous one is answered: small talk, symptom triage, and patients who
verify who they are (last name, first name, birth date, then the code the hub texts them, read
from `GET /dev/outbox.json` with --service-token, so ENV=development) and then search slots
("can I book an appointment" ... "never mind": nothing is booked) or list medications and
results. The hub gets `POST {backend}/channels/rest/webhook` as REST client --rest-key (by
default REST_KEY from the environment), bare Rasa `POST
{rasa}/webhooks/hub/webhook` with --rasa-token (the hub's secret), with the same texts (Rasa gets
a dummy code); one after the
other at each level, the order alternating. Verified patients come from the seeded EHR, each
used at most --verify-uses times a run: the backend sends at most 5 codes per phone an hour, so
a third run within the hour verifies fewer (the `verified` column says how many).

Columns, per level and target (rounds together):
  msg/s      answered messages / wall time of the level
  p50, p95   ms from a message's first send to its answer (waits after 503s included)
  errors     connection failures, statuses other than 200 and 503, unreadable answers
  timeouts   no answer within --timeout seconds
  503s       explicit deferrals; each waits Retry-After and resends the same message
             (up to --max-retries times; a message still refused then is not "lost")
  lost       messages sent that got neither an answer nor a final 503: errors, timeouts and
             messages in flight when --level-seconds ran out (targets: 0 timeouts, 0 lost)
  answered   answered / planned messages (planned minus skipped code steps)
  verified   conversations confirmed as their patient / conversations that tried (hub only)
Then `GET {backend}/healthz`, probed every 0.5 s (1 s timeout) during each target's run and
for --settle seconds after it: probes, max time, probes that failed or took over 1 s (no
answer within 1 s / not 200 / a slow 200), dependencies the body reported down, and the
maximum of any event-loop figures the body carries (e.g. event_loop.lag_ms, turns_in_flight).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from load_run import CodeBox, Tally, Target, converse, probe_health, seeded_patients
from load_scripts import Conversation, PatientPool, plan_level, wants_code
from load_stats import (
    HEADER,
    Probe,
    format_probes,
    format_row,
    is_loopback_url,
    summarize,
    summarize_probes,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", default="http://127.0.0.1:8000")
    parser.add_argument("--rasa", default="http://127.0.0.1:5005")
    parser.add_argument("--ehr", default="http://127.0.0.1:8090/fhir")
    parser.add_argument(
        "--service-token",
        default=os.environ.get("SERVICE_TOKEN", "dev-service-token"),
        help="reads one-time codes from the dev outbox (masked without it)",
    )
    parser.add_argument(
        "--rasa-token",
        default=os.environ.get("RASA_TOKEN", "dev-rasa-token"),
        help="the hub's secret, without which bare Rasa answers nothing",
    )
    parser.add_argument(
        "--rest-key",
        default=os.environ.get("REST_KEY", ""),
        help="API key of a REST_CLIENTS client (python -m scripts.rest_client bench)",
    )
    parser.add_argument("--levels", default="1,8,32,128,256", help="comma-separated")
    parser.add_argument("--messages", type=int, default=8, help="per conversation")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each level and target")
    parser.add_argument("--targets", default="hub,rasa", help="hub, rasa or both")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--max-retries", type=int, default=20, help="resends after 503s")
    parser.add_argument("--level-seconds", type=float, default=600.0, help="cap per run")
    parser.add_argument("--settle", type=float, default=2.0, help="healthz probing after")
    parser.add_argument("--verify-uses", type=int, default=2, help="per seeded patient")
    parser.add_argument("--profile", default="unlabelled", help="label, e.g. embedded")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args(argv)
    try:
        args.level_list = [int(n) for n in args.levels.split(",") if n.strip()]
    except ValueError:
        parser.error("--levels takes whole numbers, e.g. 1,8,32")
    if not args.level_list or not all(0 < n <= 2000 for n in args.level_list):
        parser.error("--levels must be between 1 and 2000")
    if not (1 <= args.messages <= 100 and 1 <= args.rounds <= 20 and args.max_retries >= 0):
        parser.error("--messages 1..100, --rounds 1..20, --max-retries >= 0")
    if not 0 < args.level_seconds <= 3600 or not 0 <= args.settle <= 60:
        parser.error("--level-seconds 0..3600, --settle 0..60")
    args.target_list = [t.strip() for t in args.targets.split(",") if t.strip()]
    if not args.target_list or not set(args.target_list) <= {"hub", "rasa"}:
        parser.error("--targets: hub, rasa or hub,rasa")
    for name in ("backend", "rasa", "ehr"):
        url = getattr(args, name).rstrip("/")
        if not is_loopback_url(url):
            parser.error(f"--{name} {url}: only 127.0.0.1, localhost or ::1 are allowed")
        setattr(args, name, url)
    return args


def targets(args: argparse.Namespace) -> list[Target]:
    known = {
        "hub": Target(
            "hub",
            f"{args.backend}/channels/rest/webhook",
            verifies=True,
            headers={"Authorization": f"Bearer {args.rest_key}"},
        ),
        "rasa": Target(
            "rasa",
            f"{args.rasa}/webhooks/hub/webhook",  # Rasa's hub channel (bot/channels/)
            verifies=False,
            headers={"Authorization": f"Bearer {args.rasa_token}"},
        ),
    }
    return [known[name] for name in args.target_list]


async def run_target(
    args: argparse.Namespace, target: Target, plan: list[Conversation], tally: Tally
) -> tuple[float, list[Probe], list[Probe]]:
    """Every conversation of the plan at once; healthz probed meanwhile and just after."""
    size = len(plan) + 2
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    healthz = f"{args.backend}/healthz"
    async with (
        httpx.AsyncClient(timeout=args.timeout, limits=limits, headers=target.headers) as client,
        httpx.AsyncClient(timeout=15, limits=httpx.Limits(max_connections=4)) as side,
    ):
        codes = None
        if target.verifies and any(wants_code(c) for c in plan):
            codes = CodeBox(side, args.backend, args.service_token)
            await codes.baseline()
        stop = asyncio.Event()
        probes = int(args.level_seconds / 0.5) + 10
        prober = asyncio.create_task(probe_health(side, healthz, stop, max_probes=probes))
        started = time.perf_counter()
        tasks = [
            asyncio.create_task(
                converse(client, target, c, tally, codes, max_retries=args.max_retries)
            )
            for c in plan
        ]
        _, pending = await asyncio.wait(tasks, timeout=args.level_seconds)
        for task in pending:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        wall = time.perf_counter() - started
        stop.set()
        during = await prober
        after = await probe_health(
            side, healthz, asyncio.Event(), max_probes=max(1, round(args.settle / 0.5))
        )
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            print(f"  ! {target.name}: a conversation failed: {outcome!r}", file=sys.stderr)
    if pending:
        print(f"  ! {target.name}: {len(pending)} conversations cut at --level-seconds")
    return wall, during, after


async def warm_up(args: argparse.Namespace, run_id: str) -> None:
    """One message to each target, so a stack that is not there stops the run at once."""
    async with httpx.AsyncClient(timeout=args.timeout) as client:
        for target in targets(args):
            body = {"sender": f"load-{run_id}-warm-{target.name}", "message": "hello"}
            try:
                response = await client.post(target.url, json=body, headers=target.headers)
            except httpx.HTTPError as exc:
                message = f"{target.name} at {target.url}: {exc!r}; is the stack up?"
                raise SystemExit(message) from exc
            if response.status_code != 200:
                raise SystemExit(f"{target.name} at {target.url}: HTTP {response.status_code}")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    run_id = f"{datetime.now(UTC):%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    await warm_up(args, run_id)
    patients = await seeded_patients(args.ehr) if "hub" in args.target_list else []
    pool = PatientPool(patients, args.verify_uses)
    print(
        f"profile {args.profile}, run {run_id}: levels {args.levels}, {args.messages} messages "
        f"a conversation, {args.rounds} round(s); {len(patients)} seeded patients can verify"
    )
    report: dict[str, Any] = {
        "profile": args.profile,
        "run_id": run_id,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {k: str(v) for k, v in vars(args).items() if k != "json"},
        "verifiable_patients": len(patients),
        "levels": [],
    }
    for index, level in enumerate(args.level_list):
        tallies = {t.name: Tally() for t in targets(args)}
        walls = dict.fromkeys(tallies, 0.0)
        during: dict[str, list[Probe]] = {name: [] for name in tallies}
        after: dict[str, list[Probe]] = {name: [] for name in tallies}
        for round_no in range(args.rounds):
            plan = plan_level(f"load-{run_id}-l{level}-r{round_no}", level, args.messages, pool)
            order = targets(args)
            if (index + round_no) % 2:
                order.reverse()
            for target in order:
                wall, probed, settled = await run_target(args, target, plan, tallies[target.name])
                walls[target.name] += wall
                during[target.name] += probed
                after[target.name] += settled
        print(f"\nlevel {level}: {level} conversations x {args.messages} messages\n{HEADER}")
        entry: dict[str, Any] = {"level": level, "targets": {}, "healthz": {}}
        for name, tally in tallies.items():
            summary = summarize(
                name,
                level,
                tally.results,
                wall_s=walls[name],
                conversations=level * args.rounds,
                unsent=tally.unsent,
                verified=tally.verified,
                verify_wanted=tally.verify_wanted,
            )
            print(format_row(summary))
            entry["targets"][name] = summary.as_dict()
        for name in tallies:
            health = {
                "during": summarize_probes(during[name]),
                "after": summarize_probes(after[name]),
            }
            print(format_probes(f"during {name}", health["during"]))
            print(format_probes(f"after {name}", health["after"]))
            entry["healthz"][name] = health
        report["levels"].append(entry)
    return report


def verdict(report: dict[str, Any]) -> str:
    """The issue's targets for the hub: 0 timeouts and 0 lost at every level."""
    rows = [e["targets"]["hub"] for e in report["levels"] if "hub" in e["targets"]]
    if not rows:
        return ""
    bad = [r["level"] for r in rows if r["timeouts"] or r["lost"]]
    return "hub: 0 timeouts and 0 lost at every level" if not bad else f"hub MISSED at {bad}"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    report = asyncio.run(run(args))
    if line := verdict(report):
        print(f"\n{line}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
