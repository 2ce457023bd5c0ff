"""The watch over one patient's phone on file (the *target* of a code).

Codes sent to it and wrong codes typed for them, from any source other than that phone itself,
are counted per hour. The `target_alert_after`-th raises one alert (the care team is told,
backend/api/routes/internal_identity.py) and pauses codes to that phone from other sources for
`target_pause`. Nothing here locks anyone: the phone's own conversation keeps verifying (a
code it asks for goes to the very phone asking, so it harasses nobody).
"""

from __future__ import annotations

from datetime import datetime

from . import attempts
from .attempts import AttemptLog, Limits


def paused(log: AttemptLog, target: str, limits: Limits, now: datetime) -> bool:
    """Codes to this phone from other sources are paused after an alert."""
    return log.latest(target, attempts.ALERT, now - limits.target_pause) is not None


def note(log: AttemptLog, target: str, kind: str, limits: Limits, now: datetime) -> int | None:
    """Count one code (`TARGET_CODE`) or wrong code (`TARGET_FAILURE`) against the phone;
    the attempts of the last hour when this one raised the alert, else None."""
    log.record([target], kind)
    since = now - attempts.HOUR
    seen = log.count(target, attempts.TARGET_CODE, since) + log.count(
        target, attempts.TARGET_FAILURE, since
    )
    if seen < limits.target_alert_after or paused(log, target, limits, now):
        return None  # below the threshold, or already alerted in this pause
    log.record([target], attempts.ALERT)
    return seen
