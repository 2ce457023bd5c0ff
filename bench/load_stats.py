"""Pure helpers of bench/load.py: loopback check, percentiles, Retry-After, aggregation.

Nothing here does I/O, so tests/backend/test_bench_load_helpers.py checks it without a stack.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlsplit

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
LOOP_KEYS = frozenset({"lag_ms", "max_lag_ms", "turns_in_flight", "turns_waiting"})
SLOW_PROBE_MS = 1000.0

# answered: HTTP 200. deferred_out: still 503 after the last allowed retry (an explicit
# deferral, so not lost). error: connection failure, unexpected status or body. timeout: no
# answer within --timeout. cancelled: still in flight when the level's time ran out.
Outcome = Literal["answered", "deferred_out", "error", "timeout", "cancelled"]
LOST_OUTCOMES = frozenset({"error", "timeout", "cancelled"})


def is_loopback_url(url: str) -> bool:
    """True for an http(s) URL whose host is 127.0.0.1, localhost or ::1."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and host is not None and host in LOOPBACK_HOSTS


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-quantile (0..1) by nearest rank, as bench/latency.py does; None when empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def parse_retry_after(
    value: str | None, *, default: float = 1.0, cap: float = 30.0, now: datetime | None = None
) -> float:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date, clamped to
    0..cap; `default` when absent or unreadable."""
    if value is None or not value.strip():
        return default
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return default
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds):
        return default
    return min(max(seconds, 0.0), cap)


@dataclass(frozen=True)
class MessageResult:
    """One patient message: how it ended, its time from first send to answer (deferral
    waits included), and how many 503s it met on the way."""

    outcome: Outcome
    latency_ms: float | None = None
    deferrals: int = 0
    empty: bool = False  # answered with no reply at all


@dataclass(frozen=True)
class Summary:
    """One target at one level (all rounds together)."""

    target: str
    level: int
    conversations: int
    sent: int
    answered: int
    msg_per_s: float
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None
    errors: int
    timeouts: int
    deferrals: int
    lost: int
    deferred_out: int
    unsent: int
    empty: int
    wall_s: float
    verified: int = 0
    verify_wanted: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(
    target: str,
    level: int,
    results: Sequence[MessageResult],
    *,
    wall_s: float,
    conversations: int,
    unsent: int = 0,
    verified: int = 0,
    verify_wanted: int = 0,
) -> Summary:
    """msg/s counts answered messages over the wall time; percentiles are of answered ones."""
    times = [r.latency_ms for r in results if r.outcome == "answered" and r.latency_ms is not None]
    answered = sum(1 for r in results if r.outcome == "answered")

    def count(outcome: Outcome) -> int:
        return sum(1 for r in results if r.outcome == outcome)

    return Summary(
        target=target,
        level=level,
        conversations=conversations,
        sent=len(results),
        answered=answered,
        msg_per_s=answered / wall_s if wall_s > 0 else 0.0,
        p50_ms=percentile(times, 0.50),
        p95_ms=percentile(times, 0.95),
        max_ms=max(times) if times else None,
        errors=count("error"),
        timeouts=count("timeout"),
        deferrals=sum(r.deferrals for r in results),
        lost=sum(1 for r in results if r.outcome in LOST_OUTCOMES),
        deferred_out=count("deferred_out"),
        unsent=unsent,
        empty=sum(1 for r in results if r.outcome == "answered" and r.empty),
        wall_s=wall_s,
        verified=verified,
        verify_wanted=verify_wanted,
    )


def event_loop_figures(payload: Any, *, _path: str = "", _depth: int = 0) -> dict[str, float]:
    """Numbers under any `event_loop` key of a healthz body, and any lag/in-flight counter
    (LOOP_KEYS), flattened to dotted paths; {} when the body has none."""
    found: dict[str, float] = {}
    if _depth > 4 or not isinstance(payload, Mapping):
        return found
    inside_loop = "event_loop" in _path.split(".")
    for key, value in payload.items():
        path = f"{_path}.{key}" if _path else str(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            if inside_loop or key in LOOP_KEYS:
                found[path] = float(value)
        elif isinstance(value, Mapping):
            found.update(event_loop_figures(value, _path=path, _depth=_depth + 1))
    return found


def down_dependencies(payload: Any) -> tuple[str, ...]:
    """The dependencies a healthz body reports not ok (`{"dependencies": {"rasa": {"ok":
    false}}}`), sorted; () when none or the body has no such part."""
    dependencies = payload.get("dependencies") if isinstance(payload, Mapping) else None
    if not isinstance(dependencies, Mapping):
        return ()
    return tuple(
        sorted(
            str(name)
            for name, state in dependencies.items()
            if isinstance(state, Mapping) and state.get("ok") is False
        )
    )


@dataclass(frozen=True)
class Probe:
    """One GET /healthz: its time (also when it failed), its status (None: no answer within
    the probe's timeout, or no connection), the loop figures and the dependencies down."""

    elapsed_ms: float
    status: int | None
    loop: dict[str, float] = field(default_factory=dict)
    down: tuple[str, ...] = ()

    @property
    def bad(self) -> bool:
        return self.status != 200 or self.elapsed_ms > SLOW_PROBE_MS


def summarize_probes(probes: Sequence[Probe]) -> dict[str, Any]:
    """Count, max time, bad probes (failed or over a second) split by why, how often each
    dependency was reported down, and each loop figure's max."""
    loop: dict[str, float] = {}
    down: dict[str, int] = {}
    for probe in probes:
        for key, value in probe.loop.items():
            loop[key] = max(value, loop.get(key, value))
        for name in probe.down:
            down[name] = down.get(name, 0) + 1
    return {
        "probes": len(probes),
        "max_ms": max((p.elapsed_ms for p in probes), default=None),
        "bad": sum(1 for p in probes if p.bad),
        "no_answer": sum(1 for p in probes if p.status is None),
        "not_200": sum(1 for p in probes if p.status is not None and p.status != 200),
        "slow_200": sum(1 for p in probes if p.status == 200 and p.elapsed_ms > SLOW_PROBE_MS),
        "down": down,
        "loop_max": loop,
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


HEADER = (
    f"{'target':<6} {'msg/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6} {'timeouts':>8} "
    f"{'503s':>5} {'lost':>5} {'answered':>13} {'verified':>9}"
)


def format_row(s: Summary) -> str:
    """One line of the table under HEADER."""
    answered = f"{s.answered}/{s.sent + s.unsent}"
    verified = f"{s.verified}/{s.verify_wanted}" if s.verify_wanted else "-"
    return (
        f"{s.target:<6} {s.msg_per_s:>7.1f} {_ms(s.p50_ms):>8} {_ms(s.p95_ms):>8} "
        f"{s.errors:>6} {s.timeouts:>8} {s.deferrals:>5} {s.lost:>5} {answered:>13} "
        f"{verified:>9}"
    )


def format_probes(label: str, summary: Mapping[str, Any]) -> str:
    """`healthz during hub: 12 probes, max 8.1 ms, 0 failed or over 1 s[ (why)][; reported
    down: rasa x3][; event loop max: lag_ms 3.2, turns_in_flight 8]` (figures under
    `event_loop` lose that prefix)."""
    line = (
        f"healthz {label}: {summary['probes']} probes, max {_ms(summary['max_ms'])} ms, "
        f"{summary['bad']} failed or over 1 s"
    )
    if summary["bad"]:
        line += (
            f" ({summary['no_answer']} no answer in 1 s, {summary['not_200']} not 200, "
            f"{summary['slow_200']} slow 200)"
        )
    down: Mapping[str, int] = summary["down"]
    if down:
        line += "; reported down: " + ", ".join(f"{k} x{v}" for k, v in sorted(down.items()))
    loop: Mapping[str, float] = summary["loop_max"]
    if loop:
        figures = (f"{k.removeprefix('event_loop.')} {v:g}" for k, v in sorted(loop.items()))
        line += "; event loop max: " + ", ".join(figures)
    return line
