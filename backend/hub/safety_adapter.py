"""Adapts the symptom_rules red-flag screen to the hub's SafetyScreen interface."""

from __future__ import annotations

from backend.hub.safety import SafetyAlert, SafetyScreen


def symptom_rules_screen(emergency_number: str) -> SafetyScreen | None:
    """The red-flag screen, or None while symptom_rules offers no screen."""
    try:
        import symptom_rules
    except ImportError:
        return None
    screen_fn = getattr(symptom_rules, "screen", None)
    if screen_fn is None:
        return None

    def screen(text: str) -> SafetyAlert | None:
        result = screen_fn(text)
        if not result.is_emergency:
            return None
        return SafetyAlert(
            level=result.level, rule_ids=tuple(result.rule_ids),
            explanation=result.explanation, safety_net=result.safety_net,
        )

    return screen
