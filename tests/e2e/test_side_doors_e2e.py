"""No way into the dialogue but the hub (issues 21 and 26), on the running processes.

Rasa's message channel and HTTP API want the hub's secret, the action server wants Rasa's, no
process listens beyond loopback, and no secret is on a command line (which every user of the
host can read in `ps`). docs/security.md.
"""

from __future__ import annotations

import httpx
import pytest

from backend.hub.rasa_gateway import MESSAGE_PATH
from scripts.stack import StackConfig, Supervisor
from tests.utils.process_table import command_line, listeners, processes_in_groups

pytestmark = pytest.mark.e2e

SECRETS = ("RASA_TOKEN", "ACTIONS_TOKEN", "SERVICE_TOKEN", "ENCRYPTION_KEY")


def stack_processes(supervisor: Supervisor) -> set[int]:
    """Every process of the stack: each supervised child leads a process group of its own."""
    return processes_in_groups({child.pid for child in supervisor.children.values()})


def test_rasa_takes_a_message_only_with_the_hubs_secret(stack: StackConfig) -> None:
    message = {"sender": "e2e-side-door", "message": "hello"}
    token = stack.process_env()["RASA_TOKEN"]
    anonymous = httpx.post(stack.rasa_url + MESSAGE_PATH, json=message, timeout=60)
    assert anonymous.status_code == 401
    wrong = httpx.post(
        stack.rasa_url + MESSAGE_PATH,
        json=message,
        headers={"Authorization": "Bearer not-the-hubs-secret-0123"},
        timeout=60,
    )
    assert wrong.status_code == 401
    in_the_url = httpx.post(
        stack.rasa_url + MESSAGE_PATH, json=message, params={"token": token}, timeout=60
    )
    assert in_the_url.status_code == 401  # the HTTP API's way does not open the channel
    built_in = httpx.post(f"{stack.rasa_url}/webhooks/rest/webhook", json=message, timeout=60)
    assert built_in.status_code == 404  # Rasa's own REST channel is not there at all
    hub = httpx.post(
        stack.rasa_url + MESSAGE_PATH,
        json=message,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert hub.status_code == 200 and hub.json()[0]["text"]


def test_rasas_http_api_wants_its_token(stack: StackConfig) -> None:
    for method, path in [
        ("POST", "/conversations/e2e-side-door/trigger_intent"),
        ("POST", "/conversations/e2e-side-door/tracker/events"),
        ("POST", "/conversations/e2e-side-door/messages"),
        ("POST", "/model/parse"),
    ]:
        answer = httpx.request(method, stack.rasa_url + path, json={}, timeout=30)
        assert answer.status_code == 401, path


def test_the_action_server_answers_rasa_only(stack: StackConfig) -> None:
    call = {
        "next_action": "action_that_does_not_exist",
        "sender_id": "e2e-side-door",
        "tracker": {"sender_id": "e2e-side-door", "slots": {}, "events": []},
        "domain": {},
        "version": "3.6.21",
    }
    webhook = f"{stack.actions_url}/webhook"
    assert httpx.post(webhook, json=call, timeout=30).status_code == 401
    wrong = {"Authorization": "Bearer not-rasas-secret-01234567"}
    assert httpx.post(webhook, json=call, headers=wrong, timeout=30).status_code == 401
    assert httpx.get(f"{stack.actions_url}/actions", timeout=30).status_code == 401
    assert httpx.get(f"{stack.actions_url}/health", timeout=30).status_code == 200
    rasa = {"Authorization": f"Bearer {stack.process_env()['ACTIONS_TOKEN']}"}
    past_the_door = httpx.post(webhook, json=call, headers=rasa, timeout=30)
    assert past_the_door.status_code == 404  # through to the actions, which know no such one


def test_nothing_of_the_stack_listens_beyond_loopback(stack_supervisor: Supervisor) -> None:
    """In production only the hub's port is exposed, through a proxy in front of it; here even
    the hub listens on 127.0.0.1, so every socket must be loopback."""
    config = stack_supervisor.config
    found = listeners(stack_processes(stack_supervisor))
    exposed = [(command_line(s.pid)[:80], s.address, s.port) for s in found if not s.loopback]
    assert exposed == []
    expected = {
        config.backend_port,
        config.rasa_port,
        config.actions_port,
        config.ehr_port,
        config.outreach_port,
    }
    assert expected <= {s.port for s in found}  # the scan saw every process's port


def test_no_secret_is_on_any_command_line(stack_supervisor: Supervisor) -> None:
    env = stack_supervisor.config.process_env()
    secrets = {name: env[name] for name in SECRETS}
    pids = stack_processes(stack_supervisor)
    assert len(pids) >= len(stack_supervisor.children)
    for pid in pids:
        shown = command_line(pid)
        leaked = [name for name, value in secrets.items() if value in shown]
        assert leaked == [], f"{leaked} on the command line of {shown[:80]}"
