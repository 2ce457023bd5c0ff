"""Symptom triage with explicit, reviewed rules: a red-flag screen and complaint protocols.

Pure Python and YAML (no Rasa, no web framework). The public API::

    screen(text, *, age_years=None) -> Screening          # red flags, every message
    triage(text, *, answers=None, age_years=None, sex=None, pregnant=None) -> TriageResult

Both use a lazily built, cached ``default_engine()``; build an ``Engine(EngineConfig(...))``
for other emergency or crisis numbers.
"""

from __future__ import annotations

from collections.abc import Mapping

from .config import EngineConfig
from .engine import Engine, NextQuestion, Screening, TriageResult, default_engine
from .errors import CaseFileError, RuleFileError
from .extraction.types import Finding
from .levels import COARSE_LEVELS, LEVELS, Level

__all__ = [
    "COARSE_LEVELS",
    "LEVELS",
    "CaseFileError",
    "Engine",
    "EngineConfig",
    "Finding",
    "Level",
    "NextQuestion",
    "RuleFileError",
    "Screening",
    "TriageResult",
    "default_engine",
    "screen",
    "triage",
]


def screen(text: str, *, age_years: float | None = None, engine: Engine | None = None) -> Screening:
    """Run the red-flag screen on one patient message.

    ``Screening.is_emergency`` tells the caller to start the emergency path at once;
    ``explanation`` and ``safety_net`` are patient-facing text.
    """
    return (engine or default_engine()).screen(text, age_years=age_years)


def triage(
    text: str,
    *,
    answers: Mapping[str, str] | None = None,
    age_years: float | None = None,
    sex: str | None = None,
    pregnant: bool | None = None,
    ask: bool = True,
    engine: Engine | None = None,
) -> TriageResult:
    """Triage a description of symptoms, given the answers to earlier questions.

    Returns either ``next_question`` (ask it, then call again with the answer added to
    ``answers`` under the question id) or a ``disposition`` with the rules that decided.
    ``ask=False`` never asks and errs towards the safer level.
    """
    return (engine or default_engine()).triage(
        text, answers=answers, age_years=age_years, sex=sex, pregnant=pregnant, ask=ask
    )
