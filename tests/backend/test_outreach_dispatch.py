"""A week of outreach for one patient, driven by an explicit clock: what goes out, when (in
local time), and what stops it (cancellation, STOP, consent, pauses, caps)."""

from __future__ import annotations

import asyncio
import heapq
import inspect
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backend.db.models import Message, OutreachOutbox
from backend.hub.keywords import record_consent
from backend.outreach.contacts import set_paused
from backend.outreach.dispatch import Outcome
from backend.outreach.kinds import CHECKIN, REMINDER, RESULTS
from backend.outreach.plan import plan_for_patient
from tests.utils.outreach_clinic import (
    PATIENT,
    PHONE,
    Clinic,
    appointment,
    lab_report,
    medication_request,
    open_clinic,
)

NEW_YORK = ZoneInfo("America/New_York")
MONDAY = datetime(2026, 6, 8, 12, 0, tzinfo=UTC)  # 08:00 in New York
VISIT = datetime(2026, 6, 10, 14, 0, tzinfo=UTC)  # Wednesday 10:00 in New York


def local(moment: datetime) -> str:
    return moment.astimezone(NEW_YORK).strftime("%a %H:%M")


async def run_week(
    clinic: Clinic, start: datetime, days: int = 7, on_tick: dict[datetime, object] | None = None
) -> list[tuple[str, str, str]]:
    """Play the scheduler: plan, run each job at its time, put deferred jobs back.

    Returns (job id, local time, outcome) for every attempt, in order.
    """
    end = start + timedelta(days=days)
    config = clinic.dispatcher.config
    plan = await plan_for_patient(
        ehr=clinic.ehr,
        patient_id=PATIENT,
        patient_hash=_hash(clinic),
        zone=config.zone,
        config=config,
        now=start,
    )
    queue = [(max(item.due, start), item.job_id) for item in plan]
    heapq.heapify(queue)
    log: list[tuple[str, str, str]] = []
    hooks = dict(on_tick or {})
    while queue and queue[0][0] < end:
        now, job_id = heapq.heappop(queue)
        for moment in sorted(m for m in hooks if m <= now):
            done = hooks.pop(moment)(clinic)  # type: ignore[operator]
            if inspect.isawaitable(done):  # a reply that goes to the EHR
                await done
        outcome: Outcome = await clinic.dispatcher.dispatch(
            job_id=job_id, patient_hash=_hash(clinic), now=now
        )
        log.append((job_id, local(now), outcome.status))
        if outcome.retry_at is not None:
            heapq.heappush(queue, (outcome.retry_at, job_id))
    return log


def _hash(clinic: Clinic) -> str:
    from backend.outreach.contacts import patient_hash

    return patient_hash(clinic.cipher, PATIENT)


def sent(log: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    return [(job, at) for job, at, status in log if status == "sent"]


@pytest.fixture
def clinic(tmp_path: Path) -> Clinic:
    return open_clinic(
        tmp_path,
        [
            appointment("appt-1", VISIT),
            lab_report("rep-1", datetime(2026, 6, 9, 3, 0, tzinfo=UTC)),  # Mon 23:00 local
        ],
    )


async def test_a_week_sends_each_message_once_at_allowed_local_times(clinic: Clinic) -> None:
    log = await run_week(clinic, MONDAY)

    assert sent(log) == [
        ("reminder:appt-1:48h", "Mon 10:00"),
        ("results:rep-1", "Tue 09:00"),  # released at 23:00, held through quiet hours
        ("reminder:appt-1:2h", "Wed 09:00"),  # due 08:00, waits for 09:00, still before 10:00
        ("checkin:appt-1", "Thu 10:00"),
    ]
    assert len(clinic.provider.sent) == 4
    assert all(to == PHONE for to, _ in clinic.provider.sent)
    intents = [intent for _, intent, _ in clinic.rasa.triggered]
    assert intents == [
        "EXTERNAL_appointment_reminder",
        "EXTERNAL_results_ready",
        "EXTERNAL_appointment_reminder",
        "EXTERNAL_visit_checkin",
    ]


async def test_the_reminder_tells_rasa_when_with_whom_and_where(clinic: Clinic) -> None:
    await run_week(clinic, MONDAY, days=1)

    _, _, entities = clinic.rasa.triggered[0]
    assert entities == {
        "appointment_id": "appt-1",
        "appointment_time": "Wednesday 10 June at 10:00",
        "clinician_name": "Dr Ana Rivera",
        "clinic_name": "Riverside Main",
    }


async def test_a_results_notice_carries_no_result_at_all(clinic: Clinic) -> None:
    await run_week(clinic, MONDAY, days=2)

    notices = [e for _, intent, e in clinic.rasa.triggered if intent == "EXTERNAL_results_ready"]
    assert notices == [{}]


async def test_every_message_is_in_the_transcript_as_outreach(clinic: Clinic) -> None:
    await run_week(clinic, MONDAY, days=1)

    with clinic.session_factory() as session:
        rows = session.query(Message).filter_by(conversation_id=clinic.conversation_id).all()
        texts = [(row.author, clinic.cipher.decrypt(row.text_ciphertext)) for row in rows]
    assert texts == [("outreach", "[EXTERNAL_appointment_reminder]")]


async def test_running_the_same_job_twice_sends_once(clinic: Clinic) -> None:
    now = MONDAY + timedelta(hours=3)
    first = await clinic.dispatcher.dispatch(
        job_id="reminder:appt-1:48h", patient_hash=_hash(clinic), now=now
    )
    second = await clinic.dispatcher.dispatch(
        job_id="reminder:appt-1:48h", patient_hash=_hash(clinic), now=now + timedelta(minutes=1)
    )

    assert (first.status, second.status) == ("sent", "skipped_already_sent")
    assert len(clinic.provider.sent) == 1


async def test_a_cancelled_appointment_is_not_reminded_of(clinic: Clinic) -> None:
    await clinic.ehr.cancel(appointment_id="appt-1")

    log = await run_week(clinic, MONDAY)

    assert [job for job, _ in sent(log)] == ["results:rep-1"]


async def test_a_moved_appointment_is_reminded_of_at_its_new_time(clinic: Clinic) -> None:
    def move(c: Clinic) -> None:
        resource = c.ehr._get("Appointment", "appt-1")
        resource["start"] = "2026-06-12T18:00:00+00:00"  # Friday 14:00 local
        c.ehr._put(resource)

    log = await run_week(clinic, MONDAY, on_tick={datetime(2026, 6, 9, 0, 0, tzinfo=UTC): move})

    reminders = [entry for entry in sent(log) if entry[0].startswith("reminder")]
    # The first 48 h reminder went on Monday; after the move the old 2 h reminder is stale.
    assert reminders[0] == ("reminder:appt-1:48h", "Mon 10:00")
    assert ("reminder:appt-1:2h", "Wed 09:00") not in reminders


AFTER_FIRST_REMINDER = datetime(2026, 6, 8, 15, 0, tzinfo=UTC)  # Mon 11:00 local


async def test_a_cancel_reply_after_the_first_reminder_stops_the_rest(clinic: Clinic) -> None:
    async def cancel(c: Clinic) -> None:  # what the cancel flow does for "X" / "cancel appt"
        await c.ehr.cancel(appointment_id="appt-1", reason="patient replied to a reminder")

    log = await run_week(clinic, MONDAY, on_tick={AFTER_FIRST_REMINDER: cancel})

    assert sent(log) == [("reminder:appt-1:48h", "Mon 10:00"), ("results:rep-1", "Tue 09:00")]
    assert clinic.ehr._get("Appointment", "appt-1")["status"] == "cancelled"
    stale = {job: status for job, _, status in log if job != "results:rep-1"}
    assert stale == {
        "reminder:appt-1:48h": "sent",
        "reminder:appt-1:2h": "skipped_stale",
        "checkin:appt-1": "skipped_stale",
    }


async def test_a_confirm_reply_is_recorded_and_the_later_messages_still_go(
    clinic: Clinic,
) -> None:
    async def confirm(c: Clinic) -> None:  # what POST /internal/outreach/confirm does for "C"
        await c.ehr.confirm_attendance(appointment_id="appt-1", patient_id=PATIENT)

    log = await run_week(clinic, MONDAY, on_tick={AFTER_FIRST_REMINDER: confirm})

    assert [job for job, _ in sent(log)] == [
        "reminder:appt-1:48h",
        "results:rep-1",
        "reminder:appt-1:2h",
        "checkin:appt-1",
    ]
    responses = clinic.ehr._all("AppointmentResponse")
    assert [(r["appointment"]["reference"], r["participantStatus"]) for r in responses] == [
        ("Appointment/appt-1", "accepted")
    ]


async def test_after_stop_nothing_more_is_sent(clinic: Clinic) -> None:
    def stop(c: Clinic) -> None:
        with c.session_factory() as session:
            record_consent(
                session=session,
                cipher=c.cipher,
                phone=PHONE,
                opted_out=True,
                keyword="STOP",
                channel="sms",
            )

    log = await run_week(clinic, MONDAY, on_tick={datetime(2026, 6, 9, 12, tzinfo=UTC): stop})

    assert sent(log) == [("reminder:appt-1:48h", "Mon 10:00")]
    assert len(clinic.provider.sent) == 1
    after_stop = {job: status for job, _, status in log[1:]}  # each job's last attempt
    assert set(after_stop.values()) == {"skipped_opted_out"}


async def test_a_kind_the_patient_did_not_consent_to_is_never_sent(clinic: Clinic) -> None:
    clinic.consent_to([REMINDER])

    log = await run_week(clinic, MONDAY)

    assert {job.split(":")[0] for job, _ in sent(log)} == {"reminder"}
    not_consented = [status for job, _, status in log if not job.startswith("reminder")]
    assert not_consented and set(not_consented) == {"skipped_no_consent"}


async def test_a_paused_kind_waits_until_staff_resume_it(clinic: Clinic) -> None:
    with clinic.session_factory() as session:
        set_paused(session=session, kind=RESULTS, paused=True)

    def resume(c: Clinic) -> None:
        with c.session_factory() as session:
            set_paused(session=session, kind=RESULTS, paused=False)

    log = await run_week(clinic, MONDAY, on_tick={datetime(2026, 6, 11, 16, tzinfo=UTC): resume})

    results = [(job, at) for job, at in sent(log) if job.startswith("results")]
    # Resumed Thursday noon, but the check-in went Thursday 10:00: the daily cap holds the
    # notice until 24 hours after it.
    assert results == [("results:rep-1", "Fri 10:00")]


async def test_the_daily_cap_moves_a_second_non_urgent_message_to_the_next_day(
    tmp_path: Path,
) -> None:
    clinic = open_clinic(
        tmp_path,
        [
            lab_report("rep-1", datetime(2026, 6, 8, 14, 0, tzinfo=UTC)),
            lab_report("rep-2", datetime(2026, 6, 8, 15, 0, tzinfo=UTC)),
        ],
    )

    log = await run_week(clinic, MONDAY)

    assert sent(log) == [("results:rep-1", "Mon 10:00"), ("results:rep-2", "Tue 10:00")]


async def test_a_reminder_whose_next_allowed_hour_is_after_the_visit_is_dropped(
    tmp_path: Path,
) -> None:
    early = datetime(2026, 6, 10, 12, 30, tzinfo=UTC)  # 08:30 local: 2 h before is 06:30
    clinic = open_clinic(tmp_path, [appointment("appt-2", early)])

    log = await run_week(clinic, MONDAY, days=3)

    assert ("reminder:appt-2:2h", "Wed 06:30", "skipped_expired") in log
    assert [job for job, _ in sent(log)] == ["reminder:appt-2:48h"]


async def test_a_refill_nudge_comes_three_days_before_the_supply_ends(tmp_path: Path) -> None:
    authored = datetime(2026, 5, 14, 14, 0, tzinfo=UTC)  # 30 days: runs out Sat 13 June
    clinic = open_clinic(tmp_path, [medication_request("med-1", authored)])

    log = await run_week(clinic, MONDAY)

    assert sent(log) == [("refill:med-1", "Wed 10:00")]
    assert clinic.rasa.triggered[0][2] == {"medication_request_id": "med-1"}  # no name


async def test_a_refill_already_requested_is_not_nudged(tmp_path: Path) -> None:
    authored = datetime(2026, 5, 14, 14, 0, tzinfo=UTC)
    clinic = open_clinic(tmp_path, [medication_request("med-1", authored)])
    await clinic.ehr.request_refill(medication_request_id="med-1", patient_id=PATIENT)

    log = await run_week(clinic, MONDAY)

    assert sent(log) == []


async def test_rasa_down_defers_without_using_up_the_message(clinic: Clinic) -> None:
    clinic.rasa.down = True
    now = MONDAY + timedelta(hours=3)
    first = await clinic.dispatcher.dispatch(
        job_id="reminder:appt-1:48h", patient_hash=_hash(clinic), now=now
    )
    clinic.rasa.down = False
    second = await clinic.dispatcher.dispatch(
        job_id="reminder:appt-1:48h", patient_hash=_hash(clinic), now=first.retry_at or now
    )

    assert first.status == "deferred" and second.status == "sent"
    assert len(clinic.provider.sent) == 1
    with clinic.session_factory() as session:
        assert [row.status for row in session.query(OutreachOutbox)] == ["sent"]


async def test_the_check_in_is_not_sent_for_a_cancelled_visit(tmp_path: Path) -> None:
    clinic = open_clinic(tmp_path, [appointment("appt-3", VISIT, status="cancelled")])

    log = await run_week(clinic, MONDAY)

    assert not [job for job, _ in sent(log) if job.startswith(CHECKIN.split("_")[0])]
    assert log == []


async def test_concurrent_dispatches_for_one_patient_still_honour_the_daily_cap(
    tmp_path: Path,
) -> None:
    released = datetime(2026, 6, 8, 14, 0, tzinfo=UTC)
    clinic = open_clinic(tmp_path, [lab_report("rep-1", released), lab_report("rep-2", released)])
    now = released + timedelta(minutes=5)

    outcomes = await asyncio.gather(
        *(
            clinic.dispatcher.dispatch(job_id=job, patient_hash=_hash(clinic), now=now)
            for job in ("results:rep-1", "results:rep-2", "results:rep-1")
        )
    )

    assert sorted(o.status for o in outcomes) == ["deferred", "sent", "skipped_already_sent"]
    assert len(clinic.provider.sent) == 1


async def test_a_send_that_fails_unexpectedly_stays_claimed_until_the_restart_settles_it(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = MONDAY + timedelta(hours=3)  # Mon 11:00 local: the 48 h reminder is due
    assert clinic.dispatcher.phone is not None

    async def breaks(**_: object) -> int:
        raise RuntimeError("the sender broke")

    with monkeypatch.context() as patch:
        patch.setattr(clinic.dispatcher.phone, "deliver", breaks)
        failed = await clinic.dispatcher.dispatch(
            job_id="reminder:appt-1:48h", patient_hash=_hash(clinic), now=now
        )
    with clinic.session_factory() as session:
        status_after_failure = [row.status for row in session.query(OutreachOutbox)]
    recovered = await clinic.dispatcher.recover(now=now)

    assert failed.status == "failed_unexpected"
    assert status_after_failure == ["sending"]  # unknown whether it left: not given up
    assert recovered == ["sent"]
    assert len(clinic.provider.sent) == 1
