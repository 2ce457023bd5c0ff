"""Adapts the symptom_rules red-flag screen to the hub's SafetyScreen interface."""

from __future__ import annotations

from backend.hub.safety import SafetyAlert, SafetyScreen
from symptom_rules import Engine, EngineConfig, screen


def symptom_rules_screen(
    *, emergency_number: str, crisis_line: str, poison_line: str
) -> SafetyScreen:
    """The red-flag screen with the clinic's own phone numbers in its safety-net text.

    Builds the engine once (a few seconds: vocabulary, rules, spaCy pipeline), at start-up,
    so no patient waits for it. An import or rule-file error stops the backend from starting:
    it must never run without its safety screen.
    """
    engine = Engine(
        EngineConfig(
            emergency_number=emergency_number, crisis_line=crisis_line, poison_line=poison_line
        )
    )

    def red_flag_screen(text: str) -> SafetyAlert | None:
        result = screen(text, engine=engine)
        if not result.is_emergency or result.level is None:
            return None
        return SafetyAlert(
            level=result.level.value,
            rule_ids=tuple(result.rule_ids),
            explanation=result.explanation,
            safety_net=result.safety_net,
        )

    return red_flag_screen
