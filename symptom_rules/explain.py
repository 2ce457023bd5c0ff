"""Patient-facing wording: what to do at each level, why, and when to get help (safety net).

The wording says why and what to do, never a diagnosis. Phone numbers come from
``EngineConfig``.
"""

from __future__ import annotations

from .config import EngineConfig
from .extraction.types import HYPOTHETICAL, Finding
from .levels import Level
from .model import Rule

ADVICE = {
    Level.EMERGENCY_AMBULANCE: "Call {emergency} now for an ambulance.",
    Level.EMERGENCY: (
        "Get emergency care now: go to the nearest emergency department, or call {emergency} "
        "if you cannot get there safely."
    ),
    Level.CONSULTATION_24: "Please see a doctor or nurse today, within 24 hours.",
    Level.CONSULTATION: (
        "Please book an appointment with your doctor or nurse in the next few days."
    ),
    Level.SELF_CARE: "This can usually be looked after at home.",
}

SAFETY_NET = {
    Level.EMERGENCY_AMBULANCE: (
        "Call {emergency} now. Do not drive yourself. Stay with the person, keep the phone "
        "near you and follow the call handler's instructions."
    ),
    Level.EMERGENCY: (
        "If things get worse on the way, or the person collapses, struggles to breathe or "
        "cannot be woken, call {emergency} at once."
    ),
    Level.CONSULTATION_24: (
        "If you cannot be seen today, or things get worse (trouble breathing, chest pain, "
        "confusion, fainting, a rash that does not fade under a glass), call {emergency}."
    ),
    Level.CONSULTATION: (
        "If it gets worse, new symptoms appear or you are worried, contact the clinic sooner; "
        "call {emergency} for chest pain, trouble breathing, fainting or confusion."
    ),
    Level.SELF_CARE: (
        "Rest, drink fluids and use the usual pharmacy remedies if they suit you. Contact the "
        "clinic if it is not better in a few days or you are worried, and call {emergency} for "
        "chest pain, trouble breathing, fainting or confusion."
    ),
}

NOTIFY = {
    "crisis": (
        "You can call or text {crisis} at any time to talk to a trained crisis counsellor. "
        "If you might act on these thoughts, call {emergency} now or go to an emergency "
        "department, and stay with someone you trust."
    ),
    "poison": (
        "Call Poison Help on {poison} for advice on the exact substance; keep the packet or "
        "bottle with you."
    ),
}

UNANSWERED = (
    "Some questions that would change this advice are still unanswered, so this errs on the "
    "safe side."
)
NOTHING_FOUND = (
    "I could not match your message to a symptom I know, so a clinician should look at it."
)


def _fill(text: str, config: EngineConfig) -> str:
    return text.format(
        emergency=config.emergency_number, crisis=config.crisis_line, poison=config.poison_line
    )


def explanation(level: Level, rules: list[Rule], config: EngineConfig, *, lifted: bool) -> str:
    """Advice for ``level`` followed by the reasons given by the deciding rules."""
    reasons = list(dict.fromkeys(rule.explain for rule in rules if rule.then == level))
    parts = [_fill(ADVICE[level], config), *reasons]
    if lifted:
        parts.append(UNANSWERED)
    if not reasons and not lifted:
        parts.append(NOTHING_FOUND)
    return " ".join(parts)


def safety_net(
    level: Level | None,
    rules: list[Rule],
    config: EngineConfig,
    *,
    watch_for: list[str] | None = None,
) -> str:
    """Safety-net advice for the level, plus crisis-line or poison lines the rules ask for.

    ``watch_for`` lists warning signs that were not asked about; they are named so the
    patient knows when to get help sooner.
    """
    notify = list(dict.fromkeys(name for rule in rules for name in rule.notify))
    parts = [_fill(NOTIFY[name], config) for name in notify]
    if watch_for:
        parts.insert(0, "Get help sooner if you notice any of these: " + "; ".join(watch_for) + ".")
    if level is not None:
        parts.insert(0, _fill(SAFETY_NET[level], config))
    else:
        parts.append(
            _fill(
                "If you have chest pain, trouble breathing or feel very unwell, call {emergency}.",
                config,
            )
        )
    return " ".join(parts)


# An information question about these ("how many paracetamol is an overdose?", "what are
# the warning signs of suicide?") is not an emergency, but gets where to turn.
TOPIC_ADVICE = (
    (
        {"suicidal_thoughts", "self_harm", "overdose"},
        "If you or someone you know is thinking about suicide or self-harm, you can call or "
        "text {crisis} at any time; if someone is in danger now, call {emergency}.",
    ),
    (
        {"poisoning", "overdose"},
        "If someone has swallowed something harmful or too much of a medicine, call "
        "{emergency} if they are unwell, or Poison Help on {poison} for advice.",
    ),
)


def topic_advice(mentions: list[Finding], config: EngineConfig) -> str:
    """Crisis-line and poison-line advice for questions that name those topics."""
    asked = {m.id for m in mentions if m.status == HYPOTHETICAL}
    parts = [_fill(text, config) for ids, text in TOPIC_ADVICE if asked & ids]
    return " ".join(parts)
