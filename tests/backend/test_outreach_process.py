"""The scheduler as its own process (as scripts/stack.py runs it) and the operators' CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.core.config import get_settings
from backend.db.migrate import upgrade
from backend.outreach.__main__ import main
from scripts.stack import free_port
from tests.utils.outreach_clinic import PATIENT

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def outreach_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    env = {
        "ENV": "test",
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'backend.db'}",
        "ENCRYPTION_KEY": "test-encryption-key-0123456789",
        "SERVICE_TOKEN": "test-service-token-0123456789",
        "RASA_TOKEN": "test-rasa-token-0123456789",
        "RASA_URL": "http://127.0.0.1:9",
        "EHR_BASE_URL": "http://127.0.0.1:9/fhir",
        "OUTREACH_HEALTH_PORT": str(free_port()),
    }
    upgrade(env["DATABASE_URL"])
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def wait_until_healthy(child: subprocess.Popen[bytes], port: str) -> bool:
    for _ in range(120):  # up to a minute on a busy machine
        if child.poll() is not None:
            return False
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def run_until_sigterm(env: dict[str, str], *, settle_s: float = 0.0) -> tuple[bool, int, str]:
    """Start the scheduler process, wait until it is healthy (and `settle_s` more), SIGTERM
    it: whether it was healthy, its exit code and its output."""
    child = subprocess.Popen(
        [sys.executable, "-m", "backend.outreach", "run"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        healthy = wait_until_healthy(child, env["OUTREACH_HEALTH_PORT"])
        time.sleep(settle_s)
        child.send_signal(signal.SIGTERM)
        code = child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    output = child.stdout.read().decode() if child.stdout else ""
    return healthy, code, output


def test_the_scheduler_process_answers_health_and_stops_on_sigterm(
    outreach_env: dict[str, str],
) -> None:
    healthy, code, output = run_until_sigterm(outreach_env)
    assert healthy, output
    assert code == 0, output
    assert "outreach scheduler stopped" in output


def test_sigterm_while_the_ehr_hangs_at_start_stops_the_scheduler_at_once(
    outreach_env: dict[str, str],
) -> None:
    """Starting reads each contact's plan from the EHR; an EHR that never answers must not
    keep the process from stopping for as long as its timeout."""
    with socket.socket() as ehr:
        ehr.bind(("127.0.0.1", 0))
        ehr.listen(16)  # connections complete, and nothing ever answers
        assert main(["contact", "--patient", PATIENT, "--sms", "+15555550123"]) == 0
        hanging = {
            "EHR_BASE_URL": f"http://127.0.0.1:{ehr.getsockname()[1]}/fhir",
            "EHR_TIMEOUT_S": "300",
        }
        # Well into the start by the time it is told to stop, waiting on the EHR.
        healthy, code, output = run_until_sigterm({**outreach_env, **hanging}, settle_s=1)
    assert healthy, output
    assert code == 0, output
    assert "stopped while starting" in output


def test_staff_can_pause_and_resume_a_kind_and_see_it_in_status(
    outreach_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pause", "results_ready"]) == 0
    assert main(["status"]) == 0
    assert "paused kinds: results_ready" in capsys.readouterr().out
    assert main(["resume", "results_ready"]) == 0
    assert main(["status"]) == 0
    assert "paused kinds: none" in capsys.readouterr().out


def test_a_demo_contact_can_be_seeded_from_the_command_line(
    outreach_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["contact", "--patient", PATIENT, "--sms", "+15550003333", "--kinds", "visit_checkin"]
    )

    assert code == 0
    assert "visit_checkin" in capsys.readouterr().out


def test_an_unknown_kind_or_time_zone_is_refused_clearly(
    outreach_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["contact", "--patient", PATIENT, "--sms", "+15550003333", "--kinds", "spam"])
    zone = main(
        ["contact", "--patient", PATIENT, "--sms", "+15550003333", "--timezone", "Mars/Base"]
    )

    assert (code, zone) == (2, 2)
    err = capsys.readouterr().err
    assert "unknown outreach kind" in err and "unknown time zone" in err
