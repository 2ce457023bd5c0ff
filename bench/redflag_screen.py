"""Benchmark the red-flag screen: p50/p95/p99 of ``screen()`` over the evaluation texts.

Run from the repository root: ``.venv/bin/python bench/redflag_screen.py [--rounds N]``.
The engine is built first (not timed), then every evaluation text is screened ``rounds``
times, and again as long messages (four texts joined). Target: p95 at or under 20 ms per
message in both series.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from symptom_rules import default_engine, screen  # noqa: E402

EVALUATION = ROOT / "symptom_rules" / "cases" / "evaluation.jsonl"
TARGET_P95_MS = 20.0


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values``."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[index]


def main() -> int:
    """Print the timing figures; exit 1 when p95 misses the target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    texts = [json.loads(line)["text"] for line in EVALUATION.read_text().splitlines() if line]
    started = time.perf_counter()
    engine = default_engine()
    build = time.perf_counter() - started
    screen(texts[0], engine=engine)  # warm-up
    print(f"engine build: {build:.2f} s (once per process)")
    # Long messages: four evaluation texts joined into one (about 300 characters).
    long_texts = [". ".join(texts[i : i + 4]) for i in range(0, len(texts) - 3, 4)]
    worst = 0.0
    for name, series in (("one-line messages", texts), ("long messages", long_texts)):
        timings = time_screen(series, args.rounds, engine)
        p95 = percentile(timings, 0.95)
        worst = max(worst, p95)
        mean_chars = statistics.fmean(len(t) for t in series)
        print(
            f"{name}: {len(series)} texts (mean {mean_chars:.0f} chars) x {args.rounds} rounds"
            f" = {len(timings)} calls"
        )
        print(
            f"  p50 {percentile(timings, 0.50):.2f} ms  p95 {p95:.2f} ms  "
            f"p99 {percentile(timings, 0.99):.2f} ms  max {max(timings):.2f} ms  "
            f"mean {statistics.fmean(timings):.2f} ms"
        )
    met = worst <= TARGET_P95_MS
    print(f"target p95 <= {TARGET_P95_MS:.0f} ms: {'met' if met else 'MISSED'}")
    return 0 if met else 1


def time_screen(texts: list[str], rounds: int, engine: object) -> list[float]:
    """Milliseconds per ``screen()`` call, every text ``rounds`` times."""
    timings: list[float] = []
    for _ in range(rounds):
        for text in texts:
            begin = time.perf_counter()
            screen(text, engine=engine)  # type: ignore[arg-type]
            timings.append((time.perf_counter() - begin) * 1000)
    return timings


if __name__ == "__main__":
    sys.exit(main())
