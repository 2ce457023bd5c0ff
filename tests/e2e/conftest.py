"""A private copy of the whole system (EHR, Rasa, actions, backend) for the end-to-end tests.

Started once per test session on free ports, with its state in a temporary folder, by the same
supervisor `make run` uses. Needs the trained model: `make test` trains it first.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.model_cache import model_path
from scripts.stack import StackConfig, Supervisor, free_port, start_stack
from tests.utils.e2e_chat import STACK_SETTINGS
from tests.utils.log_sweep import report
from tests.utils.stack_sweep import leaks_in, secrets_of


@pytest.fixture(scope="session")
def stack_supervisor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supervisor]:
    """The supervisor of the running stack, for tests that look at its processes."""
    model = model_path()
    if not model.exists():
        pytest.fail(f"no trained model at {model}: run `make train` first (make test does)")
    var_dir: Path = tmp_path_factory.mktemp("stack")
    config = StackConfig(
        var_dir=var_dir,
        model=model,
        backend_port=free_port(),
        rasa_port=free_port(),
        actions_port=free_port(),
        ehr_port=free_port(),
        env={
            "ENV": "development",
            "DATABASE_URL": "",
            "ENCRYPTION_KEY": "e2e-encryption-key-0123",
            "RASA_TOKEN": "e2e-rasa-token-0123456",
            "SERVICE_TOKEN": "e2e-service-token-01234",
            "ACTIONS_TOKEN": "e2e-actions-token-01234",
            # The Twilio and Telegram webhooks accept signed posts; with no provider account
            # the replies go to the development outbox (tests/utils/e2e_chat.py).
            **STACK_SETTINGS,
            # Outreach reaches only patients whose consent a test records (test_outreach_e2e),
            # at any hour, within a few seconds of it, and about any appointment this week.
            "OUTREACH_DEFAULT_CONSENTS": "[]",
            "OUTREACH_SEND_FROM": "00:00",
            "OUTREACH_SEND_UNTIL": "00:00",
            "OUTREACH_SYNC_MINUTES": "0.05",
            "OUTREACH_REMINDER_LEADS_H": "[168, 2]",
        },
    )
    log = io.StringIO()
    supervisor = Supervisor(config, out=log)
    try:
        start_stack(supervisor, timeout_s=300)
    except RuntimeError as exc:
        pytest.fail(f"the stack did not start: {exc}\n{log.getvalue()[-4000:]}")
    yield supervisor
    # The log sweep: no patient's name, phone, birth date or code in any process's output.
    # What to look for is read from the running stack; the logs once it has stopped.
    try:
        secrets = secrets_of(config)
    finally:
        supervisor.stop()
    leaks = leaks_in(log.getvalue(), var_dir, secrets)
    if leaks:
        pytest.fail(f"patient data in the stack's logs:\n{report(leaks)}", pytrace=False)


@pytest.fixture(scope="session")
def stack(stack_supervisor: Supervisor) -> StackConfig:
    """Where the running stack's processes listen, and the settings they were given."""
    return stack_supervisor.config
