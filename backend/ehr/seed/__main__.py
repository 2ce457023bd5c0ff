"""Seed a FHIR server with the synthetic clinic, or import Synthea bundles.

python -m backend.ehr.seed --base-url http://127.0.0.1:8090/fhir [--if-empty] [--seed 42]
python -m backend.ehr.seed --base-url URL --import DIR [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import httpx

from .generate import generate_clinic, summary
from .slots import WEEKS
from .synthea import import_synthea
from .upload import SEED_MARKER, Uploader, UploadError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m backend.ehr.seed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--base-url", required=True, help="FHIR base, e.g. http://127.0.0.1:8090/fhir")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--if-empty", action="store_true", help="do nothing when the clinic is seeded")
    p.add_argument(
        "--import",
        dest="import_dir",
        metavar="DIR",
        help="load Synthea transaction bundles from DIR instead (dates shifted to now)",
    )
    p.add_argument("--limit", type=int, default=None, help="with --import: at most N bundles")
    p.add_argument("--chunk", type=int, default=500, help="entries per transaction (default 500)")
    p.add_argument("--now", help="ISO datetime to use as now (default: the current time)")
    p.add_argument("--token", help="bearer token for a protected server")
    return p


STALE_AFTER_DAYS = 14


def _warn_if_stale(marker: dict, now: datetime, log: Callable[[str], None]) -> None:
    """Say so when the clinic was generated long ago (slots run out, results age)."""
    try:
        seeded = date.fromisoformat(str(marker.get("created", ""))[:10])
    except ValueError:
        return
    age = (now.date() - seeded).days
    if age > STALE_AFTER_DAYS:
        log(
            f"seed: note: the clinic was generated {age} days ago ({seeded}): its slots end on "
            f"{seeded + timedelta(weeks=WEEKS)} and its results are {age}+ days old. "
            "Rebuild it with `make seed`."
        )


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    now = datetime.fromisoformat(args.now) if args.now else datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else None
    up = Uploader(args.base_url, headers=headers)

    def log(msg: str) -> None:
        print(msg, flush=True)

    try:
        if args.import_dir:
            n = import_synthea(up, args.import_dir, now=now, limit=args.limit, log=log)
            log(f"seed: imported {n} Synthea bundles")
            return 0
        marker = up.read(*SEED_MARKER) if args.if_empty else None
        if marker is not None:
            log(f"seed: {args.base_url} is already seeded; nothing to do (--if-empty)")
            _warn_if_stale(marker, now, log)
            return 0
        t0 = time.perf_counter()
        log(
            f"seed: generating the clinic (seed {args.seed}, now {now:%Y-%m-%d %H:%M} UTC)",
        )
        resources = generate_clinic(seed=args.seed, now=now)
        log(f"seed: {len(resources)} resources: {summary(resources)}")
        log(f"seed: uploading to {args.base_url} in transactions of {args.chunk}")
        up.upload(resources, chunk=args.chunk, log=log)
        up.transaction(
            [
                {
                    "resource": {
                        "resourceType": SEED_MARKER[0],
                        "id": SEED_MARKER[1],
                        "code": {"text": f"patient-assistant synthetic clinic, seed {args.seed}"},
                        "created": now.date().isoformat(),
                    },
                    "request": {"method": "PUT", "url": "/".join(SEED_MARKER)},
                }
            ]
        )
        log(f"seed: done in {time.perf_counter() - t0:.1f} s")
        return 0
    except UploadError as e:
        log(f"seed: FAILED: {e}")
        return 1
    except httpx.HTTPError as e:
        log(f"seed: FAILED: cannot reach {args.base_url}: {e}")
        return 2
    finally:
        up.close()


if __name__ == "__main__":
    sys.exit(main())
