"""Engine configuration: the numbers patients are told to call, and where the rules live."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class EngineConfig:
    """Settings of one triage engine.

    The phone numbers appear in patient-facing safety-net text; set them for the clinic's
    country (defaults are the US numbers: 911 emergency, 988 Suicide & Crisis Lifeline,
    Poison Help 1-800-222-1222). ``data_dir`` holds the vocabulary, context modifiers,
    red-flag rules and complaint protocols.
    """

    emergency_number: str = "911"
    crisis_line: str = "988"
    poison_line: str = "1-800-222-1222"
    data_dir: Path = field(default=DATA_DIR)
