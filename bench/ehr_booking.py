"""Slot search and booking latency (p50/p95) against a FHIR server with the full seed loaded.

    .venv/bin/python bench/ehr_booking.py                # starts a private sekmet, seeds it
    .venv/bin/python bench/ehr_booking.py --base-url http://127.0.0.1:8090/fhir  # a running one

Target: booking p95 <= 150 ms. Booking = read Slot + (cached) Schedule + one transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.ehr import FhirHttpEhr  # noqa: E402
from backend.ehr.seed.__main__ import main as seed_main  # noqa: E402

NY = ZoneInfo("America/New_York")
SPECIALTIES = ("419772000", "394537008", "394579002", "394801008", "394586005", "394583002")


def _start_sekmet(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = yaml.safe_load((ROOT / "ehr" / "settings.yaml").read_text())
    base = f"http://127.0.0.1:{port}/fhir"
    cfg.update(
        base_url=base,
        port=port,
        data_dir=str(tmp),
        db_path=str(tmp / "sekmet.db"),
        own_private_key_path=str(tmp / "keys" / "k.pem"),
    )
    (tmp / "settings.yaml").write_text(yaml.safe_dump(cfg))
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv-ehr" / "bin" / "sekmet"),
            "serve",
            "--config",
            str(tmp / "settings.yaml"),
        ],
        cwd=tmp,
        stdout=(tmp / "log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        try:
            if httpx.get(f"{base}/metadata", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("sekmet did not start")


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def _run(base: str, n: int) -> dict[str, list[float]]:
    ehr = FhirHttpEhr(base, timeout_s=10)
    now = datetime.now(NY)
    search_ms: list[float] = []
    for i in range(n):
        start = now + timedelta(days=i % 40)
        t = time.perf_counter()
        await ehr.search_free_slots(
            start=start,
            end=start + timedelta(days=7),
            specialty=SPECIALTIES[i % len(SPECIALTIES)],
            limit=10,
        )
        search_ms.append((time.perf_counter() - t) * 1000)
    slots = []
    for spec in SPECIALTIES:
        slots += await ehr.search_free_slots(
            start=now, end=now + timedelta(days=56), specialty=spec, limit=200
        )
    book_ms: list[float] = []
    for i, slot in enumerate(slots[:n]):
        t = time.perf_counter()
        await ehr.book(slot_id=slot.id, patient_id=f"pat-{i % 50 + 1:03d}")
        book_ms.append((time.perf_counter() - t) * 1000)
    await ehr.aclose()
    return {"slot search": search_ms, "booking": book_ms}


def main() -> int:
    """Run the benchmark and print p50/p95 per operation."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--base-url", help="an already seeded FHIR server (default: start sekmet)")
    ap.add_argument("-n", type=int, default=200, help="operations of each kind (default 200)")
    args = ap.parse_args()
    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        base = args.base_url
        if base is None:
            proc, base = _start_sekmet(Path(tmp))
            t = time.perf_counter()
            seed_main(["--base-url", base])
            print(f"seeded in {time.perf_counter() - t:.1f} s")
        try:
            results = asyncio.run(_run(base, args.n))
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)
    for name, ms in results.items():
        print(
            f"{name:12s} n={len(ms):4d}  p50 {statistics.median(ms):6.1f} ms  "
            f"p95 {_pct(ms, 95):6.1f} ms  max {max(ms):6.1f} ms"
        )
    ok = _pct(results["booking"], 95) <= 150
    print(f"booking p95 target <= 150 ms: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
