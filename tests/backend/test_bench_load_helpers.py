"""bench/load.py's helpers, without a stack: loopback check, percentiles, Retry-After, the
tallies, the conversation plans, and the resend-after-503 logic against a mock transport."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, date, datetime
from email.utils import format_datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def bench_module(name: str) -> ModuleType:
    """bench/ is not a package and its modules import each other by bare name (as when run
    as `python bench/load.py`), so each is loaded from its path under that name."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


stats = bench_module("load_stats")
scripts = bench_module("load_scripts")
run = bench_module("load_run")
load = bench_module("load")


# --- loopback only ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://localhost:5005/",
        "http://[::1]:8090/fhir",
        "https://localhost",
    ],
)
def test_loopback_urls_are_accepted(url: str) -> None:
    assert stats.is_loopback_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:8000",
        "http://example.org",
        "http://localhost.example.org:8000",
        "http://127.0.0.1@example.org/",
        "ftp://127.0.0.1/",
        "127.0.0.1:8000",
        "http://[::1",
    ],
)
def test_any_other_host_or_scheme_is_refused(url: str) -> None:
    assert not stats.is_loopback_url(url)


def test_the_command_line_refuses_a_remote_backend() -> None:
    with pytest.raises(SystemExit):
        load.parse_args(["--backend", "http://192.168.1.20:8000"])


def test_the_command_line_reads_levels_and_strips_trailing_slashes() -> None:
    args = load.parse_args(["--levels", "1,8", "--rasa", "http://localhost:5005/"])
    assert args.level_list == [1, 8]
    assert args.rasa == "http://localhost:5005"
    assert args.target_list == ["hub", "rasa"]


# --- percentiles and Retry-After --------------------------------------------------------


def test_percentiles_are_nearest_rank_of_the_sorted_values() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 100 .. 1, unsorted on purpose
    assert stats.percentile(values, 0.5) == 51.0  # rank round(0.5 * 99) = 50 (0-based)
    assert stats.percentile(values, 0.95) == 95.0
    assert stats.percentile([7.0], 0.95) == 7.0


def test_the_percentile_of_nothing_is_none() -> None:
    assert stats.percentile([], 0.5) is None


def test_retry_after_in_seconds_is_read_as_is() -> None:
    assert stats.parse_retry_after("2") == 2.0
    assert stats.parse_retry_after(" 0.5 ") == 0.5


def test_retry_after_as_an_http_date_is_the_time_until_then() -> None:
    now = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
    later = datetime(2026, 11, 24, 12, 0, 7, tzinfo=UTC)
    assert stats.parse_retry_after(format_datetime(later, usegmt=True), now=now) == 7.0


def test_a_missing_or_unreadable_retry_after_falls_back_to_the_default() -> None:
    assert stats.parse_retry_after(None, default=1.5) == 1.5
    assert stats.parse_retry_after("", default=1.5) == 1.5
    assert stats.parse_retry_after("soon", default=1.5) == 1.5
    assert stats.parse_retry_after("nan", default=1.5) == 1.5


def test_retry_after_is_clamped_between_zero_and_the_cap() -> None:
    assert stats.parse_retry_after("-3") == 0.0
    assert stats.parse_retry_after("3600", cap=30.0) == 30.0


# --- tallies ----------------------------------------------------------------------------


def test_lost_counts_errors_timeouts_and_cut_messages_but_not_final_deferrals() -> None:
    result = stats.MessageResult
    results = [
        result("answered", 10.0),
        result("answered", 30.0, deferrals=2),
        result("answered", 20.0, empty=True),
        result("error", 5.0),
        result("timeout"),
        result("cancelled", 100.0),
        result("deferred_out", deferrals=21),
    ]
    summary = stats.summarize("hub", 8, results, wall_s=2.0, conversations=8, unsent=3)
    assert (summary.sent, summary.answered, summary.unsent) == (7, 3, 3)
    assert summary.msg_per_s == 1.5
    assert (summary.errors, summary.timeouts, summary.lost) == (1, 1, 3)
    assert summary.deferrals == 23
    assert summary.deferred_out == 1
    assert summary.empty == 1
    assert (summary.p50_ms, summary.max_ms) == (20.0, 30.0)  # answered messages only


def test_a_level_with_no_answers_has_no_percentiles_and_prints_dashes() -> None:
    summary = stats.summarize(
        "rasa", 1, [stats.MessageResult("timeout")], wall_s=60.0, conversations=1
    )
    assert summary.p50_ms is None and summary.msg_per_s == 0.0
    row = stats.format_row(summary)
    assert row.startswith("rasa") and " - " in row


def test_event_loop_figures_are_found_wherever_the_health_body_puts_them() -> None:
    body = {
        "status": "ok",
        "dependencies": {"rasa": {"ok": True, "detail": "ok"}},
        "event_loop": {"lag_ms": 1.5, "max_lag_ms": 12, "healthy": True},
        "hub": {"turns_in_flight": 30, "name": "x"},
    }
    assert stats.event_loop_figures(body) == {
        "event_loop.lag_ms": 1.5,
        "event_loop.max_lag_ms": 12.0,
        "hub.turns_in_flight": 30.0,
    }


def test_a_health_body_without_loop_figures_gives_none() -> None:
    assert stats.event_loop_figures({"status": "ok", "dependencies": {}}) == {}
    assert stats.event_loop_figures(["not", "a", "mapping"]) == {}


def test_probes_that_failed_or_took_over_a_second_are_counted_as_bad_and_told_apart() -> None:
    probe = stats.Probe
    probes = [
        probe(5.0, 200, {"event_loop.lag_ms": 2.0}),
        probe(1200.0, 200, {"event_loop.lag_ms": 9.0}),
        probe(40.0, 503, down=("rasa",)),
        probe(1000.5, None),
        probe(8.0, 200, {"event_loop.lag_ms": 4.0}),
    ]
    summary = stats.summarize_probes(probes)
    assert summary["probes"] == 5 and summary["max_ms"] == 1200.0
    assert (summary["bad"], summary["no_answer"], summary["not_200"], summary["slow_200"]) == (
        3,
        1,
        1,
        1,
    )
    assert summary["down"] == {"rasa": 1}
    assert summary["loop_max"] == {"event_loop.lag_ms": 9.0}
    line = stats.format_probes("during hub", summary)
    assert "3 failed or over 1 s (1 no answer in 1 s, 1 not 200, 1 slow 200)" in line
    assert "reported down: rasa x1" in line
    assert "event loop max: lag_ms 9" in line


def test_the_dependencies_a_degraded_healthz_reports_down_are_named() -> None:
    body = {
        "status": "degraded",
        "dependencies": {"rasa": {"ok": False}, "ehr": {"ok": True}, "actions": {"ok": False}},
    }
    assert stats.down_dependencies(body) == ("actions", "rasa")
    assert stats.down_dependencies({"status": "ok"}) == ()
    assert stats.down_dependencies(None) == ()


# --- patients and plans -----------------------------------------------------------------


def fhir_patient(pid: str, family: str, given: str, born: str, phone: str | None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"use": "official", "family": family, "given": given.split()}],
        "birthDate": born,
    }
    if phone:
        resource["telecom"] = [{"system": "phone", "value": phone, "use": "mobile"}]
    return resource


def test_only_patients_with_their_own_phone_and_an_unambiguous_name_can_verify() -> None:
    resources = [
        fhir_patient("pat-001", "Okafor", "Ada", "1980-03-14", "+12125550101"),
        fhir_patient("pat-002", "García-Pérez", "Mateo", "1975-01-02", "+12125550102"),
        fhir_patient("pat-003", "García-Pérez", "Diego", "2015-05-05", "+1 212-555-0102"),
        fhir_patient("pat-004", "Lee", "Sam", "1990-07-07", "+12125550104"),
        fhir_patient("pat-005", "Leeds", "Samuel", "1990-07-07", "+12125550105"),
        fhir_patient("pat-006", "Nophone", "Nia", "1970-01-01", None),
    ]
    eligible = scripts.eligible_patients(resources)
    # 002/003 share a phone; "Lee, Sam" also matches Leeds, Samuel (prefix search); 006 has none
    assert [p.id for p in eligible] == ["pat-001", "pat-005"]
    assert eligible[0].birth_date_text == "14 March 1980"


def patients(count: int) -> list[Any]:
    return [
        scripts.Patient(
            f"pat-{n:03d}", f"Family{n}", f"Given{n}", date(1980, 1, n), f"+1212555{n:04d}"
        )
        for n in range(1, count + 1)
    ]


def test_a_level_mixes_triage_small_talk_and_verified_patients_under_distinct_senders() -> None:
    pool = scripts.PatientPool(patients(10), max_uses=2)
    plan = scripts.plan_level("load-run1-l8-r0", 8, 8, pool)
    assert len({c.sender for c in plan}) == 8
    assert all(c.sender.startswith("load-run1-l8-r0-") for c in plan)
    assert all(len(c.texts) == 8 for c in plan)
    verified = [c for c in plan if c.patient is not None]
    assert len(verified) == 4 and len({c.patient.id for c in verified}) == 4
    assert all(scripts.wants_code(c) for c in verified)
    first = verified[0]
    assert first.texts[1:4] == (
        first.patient.family,
        first.patient.given,
        first.patient.birth_date_text,
    )
    assert plan[0].texts[1] == "I have had a headache since yesterday"


def test_without_a_free_patient_a_verified_mix_falls_back_to_an_unverified_one() -> None:
    pool = scripts.PatientPool(patients(1), max_uses=1)
    first = scripts.plan_level("a", 4, 8, pool)
    second = scripts.plan_level("b", 4, 8, pool)
    assert sum(c.patient is not None for c in first) == 1  # one patient, never twice a level
    assert all(c.patient is None and not scripts.wants_code(c) for c in second)  # used up


def test_conversations_too_short_to_reach_the_code_do_not_verify_or_use_a_patient() -> None:
    pool = scripts.PatientPool(patients(4), max_uses=1)
    plan = scripts.plan_level("short", 8, 4, pool)
    assert all(c.patient is None and len(c.texts) == 4 for c in plan)
    assert pool.uses == [0, 0, 0, 0]


def test_conversations_are_cut_or_padded_to_the_requested_length() -> None:
    assert scripts.fill(scripts.TRIAGE, None, 3) == scripts.TRIAGE[:3]
    padded = scripts.fill(scripts.TRIAGE, None, 10)
    assert padded[:8] == scripts.TRIAGE and padded[8:] == scripts.PADDING[:2]


def test_the_code_is_read_from_the_outbox_text() -> None:
    assert scripts.code_in("Riverside: your verification code is 482913. It expires") == "482913"
    assert scripts.code_in("Your appointment is tomorrow") is None


# --- sending, with a mock transport instead of a stack -----------------------------------


def client_for(handler: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_a_503_is_counted_waited_out_and_the_same_message_sent_again() -> None:
    bodies: list[dict[str, Any]] = []

    def hub(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if len(bodies) < 3:
            return httpx.Response(503, headers={"Retry-After": "0"})
        return httpx.Response(200, json=[{"text": "Hello!"}])

    async with client_for(hub) as client:
        result, said = await run.send(client, "http://127.0.0.1/w", "s1", "hello", max_retries=20)
    assert (result.outcome, result.deferrals, said) == ("answered", 2, "Hello!")
    assert bodies == [{"sender": "s1", "message": "hello"}] * 3


async def test_a_message_still_deferred_after_the_last_retry_is_given_up_not_lost() -> None:
    calls: list[int] = []

    def hub(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503, headers={"Retry-After": "0"})

    async with client_for(hub) as client:
        result, _ = await run.send(client, "http://127.0.0.1/w", "s1", "hi", max_retries=3)
    assert (result.outcome, result.deferrals, len(calls)) == ("deferred_out", 4, 4)
    assert result.outcome not in stats.LOST_OUTCOMES


@pytest.mark.parametrize(
    ("failure", "outcome"),
    [(httpx.ReadTimeout("slow"), "timeout"), (httpx.ConnectError("refused"), "error")],
)
async def test_timeouts_and_connection_failures_are_told_apart(
    failure: Exception, outcome: str
) -> None:
    def hub(request: httpx.Request) -> httpx.Response:
        raise failure

    async with client_for(hub) as client:
        result, _ = await run.send(client, "http://127.0.0.1/w", "s1", "hi", max_retries=3)
    assert result.outcome == outcome


async def test_a_verified_conversation_types_the_code_the_outbox_received() -> None:
    patient = patients(1)[0]
    sent: list[str] = []
    outbox: list[dict[str, str]] = []

    def hub(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/dev/outbox.json":
            return httpx.Response(200, json=list(reversed(outbox)))
        text = json.loads(request.content)["message"]
        sent.append(text)
        if text == patient.birth_date_text:
            outbox.append(
                {
                    "at": "t1",
                    "channel": "sms",
                    "to": patient.phone,
                    "text": "Your verification code is 654321.",
                }
            )
            return httpx.Response(200, json=[{"text": "Please type the 6-digit code here."}])
        if text == "654321":
            return httpx.Response(200, json=[{"text": "Thank you, you're confirmed."}])
        return httpx.Response(200, json=[{"text": "ok"}])

    plan = scripts.plan_level("v", 2, 8, scripts.PatientPool([patient], max_uses=1))[1]
    target = run.Target("hub", "http://127.0.0.1/channels/rest/webhook", verifies=True)
    tally = run.Tally()
    async with client_for(hub) as client:
        codes = run.CodeBox(client, "http://127.0.0.1")
        await codes.baseline()
        await run.converse(client, target, plan, tally, codes, max_retries=2)
    assert sent[4] == "654321" and len(sent) == 8
    assert (tally.verified, tally.verify_wanted, tally.unsent) == (1, 1, 0)
    assert all(r.outcome == "answered" for r in tally.results)


async def test_bare_rasa_gets_the_same_texts_with_a_dummy_code() -> None:
    sent: list[str] = []

    def rasa(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content)["message"])
        return httpx.Response(200, json=[])

    plan = scripts.plan_level("v", 2, 8, scripts.PatientPool(patients(1), max_uses=1))[1]
    target = run.Target("rasa", "http://127.0.0.1/webhooks/hub/webhook", verifies=False)
    tally = run.Tally()
    async with client_for(rasa) as client:
        await run.converse(client, target, plan, tally, None, max_retries=2)
    assert sent == [scripts.DUMMY_CODE if t == scripts.CODE else t for t in plan.texts]
    assert all(r.empty for r in tally.results)
    assert (tally.verified, tally.verify_wanted) == (0, 0)  # only the hub can verify
