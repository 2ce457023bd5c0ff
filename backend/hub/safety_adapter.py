"""Adapts the symptom_rules red-flag screen to the hub's SafetyScreen interface."""

from __future__ import annotations

from backend.hub.safety import SafetyAlert, SafetyScreen
from symptom_rules import Engine, screen


def symptom_rules_screen(engine: Engine) -> SafetyScreen:
    """The red-flag screen of `engine` (built once at start-up with the clinic's numbers).

    There is no fallback: if symptom_rules cannot load, the backend does not start, because
    it must never answer patients without its safety screen.
    """

    def red_flag_screen(text: str) -> SafetyAlert | None:
        result = screen(text, engine=engine)
        if result.advice and not result.is_emergency:
            return SafetyAlert("advice", (), "", result.advice, emergency=False)
        if not result.is_emergency or result.level is None:
            return None
        return SafetyAlert(
            level=result.level.value,
            rule_ids=tuple(result.rule_ids),
            explanation=result.explanation,
            safety_net=result.safety_net,
        )

    return red_flag_screen
