"""Score the trained model's NLU on the held-out set (tests/heldout/nlu_heldout.jsonl).

Runs in Rasa's environment; prints aggregates only (never the texts), so whoever tunes the
training data can read the score without learning the held-out phrasings:

    .venv-rasa/bin/python scripts/score_nlu_heldout.py [--model PATH] [--json FILE]

- symptom lines: share parsed as `describe_symptoms` (target >= 95%);
- other-domain and health-adjacent out-of-scope lines: share parsed as any clinic task
  intent (target <= 3%), and the intents they fell to, counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlu.symptom_vocabulary import CLINIC_TASK_INTENTS  # noqa: E402
from scripts.model_cache import model_path  # noqa: E402

HELDOUT = ROOT / "tests" / "heldout" / "nlu_heldout.jsonl"
CLINIC_TASKS = frozenset(CLINIC_TASK_INTENTS)


async def parse_all(model: Path, texts: list[str]) -> list[str]:
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    # Rasa's structlog logs every parsed message (text included) at debug level unless it
    # is configured: keep it at warnings so the held-out texts are never printed.
    configure_structlog(logging.WARNING)
    logging.getLogger("rasa").setLevel(logging.WARNING)

    agent = Agent.load(str(model))
    intents = []
    for text in texts:
        parsed = await agent.parse_message(text)
        intents.append(parsed["intent"]["name"])
    return intents


def score(lines: list[dict[str, str]], intents: list[str]) -> dict[str, object]:
    by_kind: dict[str, Counter[str]] = {}
    for line, intent in zip(lines, intents, strict=True):
        by_kind.setdefault(line["kind"], Counter())[intent] += 1
    symptoms = by_kind.get("symptom", Counter())
    others = by_kind.get("other_domain", Counter()) + by_kind.get(
        "out_of_scope_health_adjacent", Counter()
    )
    symptom_total = sum(symptoms.values())
    other_total = sum(others.values())
    to_tasks = sum(n for intent, n in others.items() if intent in CLINIC_TASKS)
    return {
        "symptoms": symptom_total,
        "symptoms_as_describe_symptoms": round(symptoms["describe_symptoms"] / symptom_total, 4),
        "symptom_intents": dict(symptoms.most_common()),
        "others": other_total,
        "others_to_clinic_tasks": round(to_tasks / other_total, 4),
        "others_to_describe_symptoms": round(others["describe_symptoms"] / other_total, 4),
        "other_intents": dict(others.most_common()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    model = args.model or model_path()
    lines = [json.loads(raw) for raw in HELDOUT.read_text().splitlines() if raw.strip()]
    intents = asyncio.run(parse_all(model, [line["text"] for line in lines]))
    result = score(lines, intents)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
