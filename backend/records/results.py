"""Which released results a patient is told, and how (wording in `wording.py`).

Preliminary reports never reach here (the EHR port returns released reports only, and this
module drops any other status again). A report holding a critical value is withheld whole:
a clinician tells the patient, the caller opens a hand-off. On text channels that are not
allowed values, the patient only learns that results are ready and where to read them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from backend.ehr.codes import RELEASED_REPORT_STATUSES
from backend.ehr.domain import LabReport
from backend.ehr.port import Ehr

from . import wording
from .wording import Flag

# Channels where the patient reads inside the clinic's own verified web chat (or the scripted
# REST channel that stands for it): details are always allowed there.
DETAIL_CHANNELS = frozenset({"web", "rest"})
MAX_REPORTS = 5


@dataclass(frozen=True)
class ReportView:
    """One released report as the patient sees it."""

    id: str
    name: str
    on: date | None
    lines: tuple[str, ...]
    flags: tuple[Flag, ...]

    @property
    def outside_usual(self) -> bool:
        return any(f not in (Flag.NORMAL, Flag.UNKNOWN) for f in self.flags)

    def text(self) -> str:
        when = f" ({format_day(self.on)})" if self.on else ""
        advice = wording.SOME_OUTSIDE if self.outside_usual else wording.ALL_USUAL
        return "\n".join([f"{self.name}{when}:", *self.lines, advice])


@dataclass(frozen=True)
class ResultsAnswer:
    """What the patient is told; `critical` names the withheld reports (for the hand-off)."""

    messages: tuple[str, ...]
    reports: tuple[ReportView, ...]
    critical: tuple[LabReport, ...]
    details_shown: bool
    available: int  # releasable reports (critical ones excluded)


def format_day(day: date) -> str:
    """`3 Nov 2026`: unambiguous in every locale the clinic serves."""
    return f"{day.day} {day:%b %Y}"


def report_day(report: LabReport) -> date | None:
    moment: datetime | None = report.effective or report.issued
    return moment.date() if moment else None


def details_allowed(channel: str, values_channels: Collection[str]) -> bool:
    """Values go to the web chat always, to a text channel only if the clinic allows it."""
    return channel in DETAIL_CHANNELS or channel in values_channels


def is_critical(report: LabReport) -> bool:
    """True when any value is critical by the lab's flag or by the critical-limits table."""
    return any(wording.flag(r) is Flag.CRITICAL for r in report.results)


def report_view(report: LabReport) -> ReportView:
    return ReportView(
        id=report.id,
        name=wording.short_name(report.name),
        on=report_day(report),
        lines=tuple(wording.result_line(r) for r in report.results),
        flags=tuple(wording.flag(r) for r in report.results),
    )


def compose(
    reports: list[LabReport], *, channel: str, values_channels: Collection[str], web_chat_url: str
) -> ResultsAnswer:
    """The answer for these released reports (newest first) on this channel."""
    released = [r for r in reports if r.status in RELEASED_REPORT_STATUSES]
    critical = tuple(r for r in released if is_critical(r))
    shareable = [r for r in released if not is_critical(r)][:MAX_REPORTS]
    detailed = details_allowed(channel, values_channels)
    messages: list[str] = []
    if critical:
        messages.append(CRITICAL_NOTICE)
    if not shareable:
        if not critical:
            messages.append(NO_RESULTS)
        views: tuple[ReportView, ...] = ()
    elif detailed:
        views = tuple(report_view(r) for r in shareable)
        messages.append(
            f"Here {'is your latest result' if len(views) == 1 else 'are your latest results'}"
            ", newest first."
        )
        messages.extend(v.text() for v in views)
        messages.append(CLINICIAN_QUESTIONS)
    else:
        views = ()
        newest = report_day(shareable[0])
        messages.append(summary_notice(len(shareable), newest, web_chat_url=web_chat_url))
    return ResultsAnswer(
        messages=tuple(messages),
        reports=views,
        critical=critical,
        details_shown=detailed and bool(views),
        available=len(shareable),
    )


def summary_notice(count: int, newest: date | None, *, web_chat_url: str) -> str:
    """Minimum necessary on text channels: that results exist and where to read them."""
    what = "a result" if count == 1 else f"{count} results"
    when = f", the latest from {format_day(newest)}" if newest else ""
    return (
        f"You have {what} available{when}. For your privacy I don't send result values by "
        f"text message: please view them securely in the clinic's web chat at {web_chat_url} "
        "after confirming who you are there."
    )


async def released_results(
    *,
    ehr: Ehr,
    patient_id: str,
    channel: str,
    values_channels: Collection[str],
    web_chat_url: str,
) -> ResultsAnswer:
    """Read the patient's released reports from the EHR and compose the answer."""
    reports = await ehr.released_lab_reports(patient_id=patient_id)
    return compose(
        reports, channel=channel, values_channels=values_channels, web_chat_url=web_chat_url
    )


CRITICAL_NOTICE = (
    "One of your results needs a clinician to go through it with you, so I can't share it "
    "here. I have let the care team know and they will contact you soon. If you feel unwell "
    "in the meantime, call the clinic, or your local emergency number if it is an emergency."
)
NO_RESULTS = "You have no released test results on record yet."
CLINICIAN_QUESTIONS = (
    "I can't diagnose or interpret results. For questions about what they mean for you, "
    "ask to talk to the care team or book an appointment with your clinician."
)
