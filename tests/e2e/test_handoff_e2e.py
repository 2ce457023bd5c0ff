"""Hand-off to a clinician through the real processes (EHR, Rasa, actions, backend).

A red flag lands urgent in the queue; a clinician claims it and replies; the patient receives
the reply in their REST conversation; nothing the patient writes during the hold reaches Rasa
(checked in Rasa's own tracker); handing back resumes the assistant, which greets the patient.
Asking for a nurse goes through Rasa's NLU and the escalation action.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from backend.handoff import accounts
from backend.handoff.flow import HAND_BACK_GREETING
from backend.hub.pipeline import WAITING_FOR_CLINICIAN
from scripts.stack import StackConfig
from tests.utils.rest_client import HEADERS as REST_HEADERS

pytestmark = pytest.mark.e2e
PASSWORD = "e2e clinician password"
RASA_TOKEN = "e2e-rasa-token-0123456"


def say(stack: StackConfig, sender: str, message: str) -> list[str]:
    response = httpx.post(
        f"{stack.backend_url}/channels/rest/webhook",
        json={"sender": sender, "message": message},
        headers=REST_HEADERS,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return [reply["text"] for reply in response.json()]


@pytest.fixture(scope="module")
def console(stack: StackConfig) -> Iterator[httpx.Client]:
    """A signed-in clinician's HTTP client (account made with the accounts CLI)."""
    url = f"sqlite:///{stack.var_dir / 'backend.db'}"
    created = accounts.main(
        [
            "create",
            "--email",
            "e2e@clinic.example",
            "--name",
            "Ann Lee",
            "--role",
            "triage_lead",  # reads every queued transcript (find_handoff), not only held ones
            "--password-stdin",
            "--database-url",
            url,
        ],
        stdin=io.StringIO(PASSWORD + "\n"),
    )
    assert created == 0
    client = httpx.Client(base_url=stack.backend_url, timeout=60)
    signed = client.post(
        "/console/api/login", json={"email": "e2e@clinic.example", "password": PASSWORD}
    )
    assert signed.status_code == 200, signed.text
    yield client
    client.close()


def find_handoff(console: httpx.Client, phrase: str) -> dict[str, Any]:
    """The queued hand-off whose transcript contains `phrase` (other tests share the stack)."""
    for item in console.get("/console/api/queue").json()["data"]:
        lines = console.get(f"/console/api/handoffs/{item['id']}/transcript").json()["data"]
        if any(phrase in line["text"] for line in lines):
            return item
    raise AssertionError(f"no hand-off in the queue for {phrase!r}")


def rasa_tracker(stack: StackConfig, conversation_id: str) -> dict[str, Any]:
    response = httpx.get(
        f"{stack.rasa_url}/conversations/{conversation_id}/tracker",
        params={"token": RASA_TOKEN},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def user_texts(tracker: dict[str, Any]) -> list[str]:
    return [e.get("text") or "" for e in tracker["events"] if e["event"] == "user"]


def test_red_flag_claim_reply_hold_and_hand_back(stack: StackConfig, console: httpx.Client) -> None:
    sender = "e2e-handoff-red-flag"
    first = say(stack, sender, "I have crushing chest pain, it started ten minutes ago")
    assert "911" in first[0]
    handoff = find_handoff(console, "started ten minutes ago")
    assert (handoff["priority"], handoff["reason"], handoff["state"]) == (
        "urgent",
        "emergency",
        "waiting",
    )
    conversation_id = handoff["conversation_id"]
    assert rasa_tracker(stack, conversation_id)["paused"] is True

    url = f"/console/api/handoffs/{handoff['id']}"
    assert console.post(f"{url}/claim").status_code == 200
    reply = "This is nurse Ann. An ambulance has been called; stay where you are."
    assert console.post(f"{url}/reply", json={"text": reply}).json() == {"sent": 1}

    during_hold = "ok thank you, my arm feels numb now"
    assert say(stack, sender, during_hold) == [reply]  # the REST patient receives it
    tracker = rasa_tracker(stack, conversation_id)
    assert during_hold not in user_texts(tracker)  # never reached Rasa
    assert any(
        e["event"] == "bot" and e.get("text") == reply for e in tracker["events"]
    )  # but the clinician's reply is in Rasa's history
    transcript = console.get(f"{url}/transcript").json()["data"]
    assert ("clinician", reply) in [(m["author"], m["text"]) for m in transcript]

    done = console.post(f"{url}/resolve", json={"hand_back": True}).json()
    assert (done["state"], done["outcome"]) == ("bot", "hand_back")
    assert rasa_tracker(stack, conversation_id)["paused"] is False
    after = say(stack, sender, "hello")
    assert after[0] == HAND_BACK_GREETING
    assert "assistant" in " ".join(after[1:]).lower()  # Rasa answers again (its greeting)
    assert "hello" in user_texts(rasa_tracker(stack, conversation_id))


def test_asking_for_a_nurse_queues_the_conversation_and_pauses_the_assistant(
    stack: StackConfig, console: httpx.Client
) -> None:
    sender = "e2e-handoff-nurse"
    told = " ".join(say(stack, sender, "can I talk to a nurse please"))
    assert "care team" in told.lower()
    handoff = find_handoff(console, "can I talk to a nurse please")
    assert (handoff["reason"], handoff["state"]) == ("patient_request", "waiting")
    assert rasa_tracker(stack, handoff["conversation_id"])["paused"] is True

    assert say(stack, sender, "hello? anyone there") == [WAITING_FOR_CLINICIAN]
    assert say(stack, sender, "still waiting") == []  # acknowledged once
    texts = user_texts(rasa_tracker(stack, handoff["conversation_id"]))
    assert "hello? anyone there" not in texts and "still waiting" not in texts


def test_after_a_hand_back_the_patients_next_request_is_understood(
    stack: StackConfig, console: httpx.Client
) -> None:
    """The message after a clinician hands back starts what it asks for (issue 20: it used
    to get "Sorry, I didn't catch that")."""
    sender = "e2e-handoff-then-book"
    say(stack, sender, "can I speak to a person please")
    handoff = find_handoff(console, "can I speak to a person please")
    url = f"/console/api/handoffs/{handoff['id']}"
    assert console.post(f"{url}/claim").status_code == 200
    console.post(f"{url}/reply", json={"text": "Hello, this is Dr Lee. All sorted?"})
    say(stack, sender, "yes all sorted, thank you doctor")
    assert console.post(f"{url}/resolve", json={"hand_back": True}).status_code == 200

    after = " ".join(say(stack, sender, "thanks, can I book an appointment"))
    assert HAND_BACK_GREETING in after
    assert "didn't catch" not in after.lower()
    assert "last name" in after.lower()  # the booking starts with who the patient is
