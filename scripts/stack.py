"""The five processes of the embedded system, started and supervised together.

`make run` uses this through `scripts/run.py`; the end-to-end tests use it to start a private
copy of the whole system on free ports with its state in a temporary folder.

Each process gets its own virtual environment (docs/architecture.md): the EHR (sekmet) in
.venv-ehr, Rasa and the action server in .venv-rasa (Python 3.10), the backend in .venv.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import yaml

from scripts.tracker_index import INDEX_NAME, index_tracker_events

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
VENV_RASA = ROOT / ".venv-rasa" / "bin"
VENV_EHR = ROOT / ".venv-ehr" / "bin"
COLOURS = {
    "ehr": "35",
    "rasa": "34",
    "actions": "36",
    "backend": "32",
    "seed": "33",
    "outreach": "93",
}


@dataclass(frozen=True)
class StackConfig:
    """Where each process listens and keeps its state; defaults are those of DESIGN.md."""

    var_dir: Path
    model: Path
    backend_port: int = 8000
    rasa_port: int = 5005
    actions_port: int = 5055
    ehr_port: int = 8090
    # The outreach scheduler's health check only: any free port (nothing else calls it).
    outreach_port: int = field(default_factory=lambda: free_port())
    env: dict[str, str] = field(default_factory=dict)  # settings passed to every process

    @property
    def backend_url(self) -> str:
        return f"http://127.0.0.1:{self.backend_port}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}"

    @property
    def ehr_base_url(self) -> str:
        return f"http://127.0.0.1:{self.ehr_port}/fhir"

    def process_env(self) -> dict[str, str]:
        """The environment of every child: the caller's, the settings, and the derived URLs."""
        env = {**os.environ, **self.env}
        env.update(
            VAR_DIR=str(self.var_dir),
            RASA_URL=self.rasa_url,
            ACTIONS_URL=self.actions_url,
            BACKEND_URL=self.backend_url,
            EHR_BASE_URL=self.ehr_base_url,
            OUTREACH_HEALTH_PORT=str(self.outreach_port),
            RASA_TRACKER_DB=str(self.var_dir / "rasa" / "tracker.db"),
            PYTHONUNBUFFERED="1",
            # Rasa 3.6's own deprecation noise would bury the lines that matter.
            SQLALCHEMY_SILENCE_UBER_WARNING="1",
            PYTHONWARNINGS="ignore::DeprecationWarning",
        )
        env.setdefault("RASA_TOKEN", "dev-rasa-token")
        env.setdefault("SERVICE_TOKEN", "dev-service-token")
        env.pop("VIRTUAL_ENV", None)
        return env


@dataclass(frozen=True)
class ProcessSpec:
    """One supervised process: its command and the URL that answers 200 once it is ready."""

    name: str
    argv: list[str]
    health_url: str


def write_ehr_settings(config: StackConfig) -> Path:
    """sekmet's settings for this stack: ehr/settings.yaml with this stack's port and folder."""
    data_dir = config.var_dir / "ehr"
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = yaml.safe_load((ROOT / "ehr" / "settings.yaml").read_text())
    settings.update(
        base_url=config.ehr_base_url,
        port=config.ehr_port,
        data_dir=str(data_dir),
        db_path=str(data_dir / "sekmet.db"),
        own_private_key_path=str(data_dir / "keys" / "sekmet_private.pem"),
    )
    path = data_dir / "settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def process_specs(config: StackConfig) -> list[ProcessSpec]:
    """The five processes, in the order their logs are most useful to read."""
    ehr_settings = write_ehr_settings(config)
    token = config.process_env()["RASA_TOKEN"]
    return [
        ProcessSpec(
            "ehr",
            [
                str(VENV_EHR / "sekmet"),
                "serve",
                "--config",
                str(ehr_settings),
                "--host",
                "127.0.0.1",
                "--port",
                str(config.ehr_port),
            ],
            f"{config.ehr_base_url}/metadata",
        ),
        ProcessSpec(
            "actions",
            [
                str(VENV_RASA / "rasa"),
                "run",
                "actions",
                "--actions",
                "bot.actions",
                "--port",
                str(config.actions_port),
            ],
            f"{config.actions_url}/health",
        ),
        ProcessSpec(
            "rasa",
            [
                str(VENV_RASA / "rasa"),
                "run",
                "--enable-api",
                "--auth-token",
                token,
                "--model",
                str(config.model),
                "--endpoints",
                "endpoints.yml",
                "--credentials",
                "credentials.yml",
                "--interface",
                "127.0.0.1",
                "--port",
                str(config.rasa_port),
                "--log-file",
                str(config.var_dir / "rasa.log"),
            ],
            f"{config.rasa_url}/",
        ),
        ProcessSpec(
            "backend",
            [
                str(VENV / "python"),
                "-m",
                "uvicorn",
                "backend.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(config.backend_port),
                "--no-access-log",
            ],
            f"{config.backend_url}/livez",
        ),
        # The one outreach scheduler (backend/outreach): jobs in the backend database.
        ProcessSpec(
            "outreach",
            [str(VENV / "python"), "-m", "backend.outreach", "run"],
            f"http://127.0.0.1:{config.outreach_port}/health",
        ),
    ]


class Supervisor:
    """Starts processes in parallel, prefixes their output, and stops them all together."""

    def __init__(self, config: StackConfig, out: IO[str] | None = None) -> None:
        self.config = config
        self.out = out if out is not None else sys.stdout
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._colour = self.out.isatty() if hasattr(self.out, "isatty") else False

    def say(self, name: str, line: str) -> None:
        """One prefixed log line: `ehr      | ...`."""
        prefix = f"{name:<8}|"
        if self._colour:
            prefix = f"\033[{COLOURS.get(name, '0')}m{prefix}\033[0m"
        with self._lock:
            self.out.write(f"{prefix} {line}\n")
            self.out.flush()

    def start(self, spec: ProcessSpec) -> None:
        (self.config.var_dir / "rasa").mkdir(parents=True, exist_ok=True)
        child = subprocess.Popen(
            spec.argv,
            cwd=ROOT,
            env=self.config.process_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own group: Ctrl-C goes via us
        )
        self.children[spec.name] = child
        threading.Thread(target=self._pump, args=(spec.name, child), daemon=True).start()

    def _pump(self, name: str, child: subprocess.Popen[bytes]) -> None:
        assert child.stdout is not None
        for raw in child.stdout:
            self.say(name, raw.decode(errors="replace").rstrip())

    def run_step(self, name: str, argv: list[str]) -> int:
        """A short-lived command (migrations, seeding) with prefixed output; its exit code."""
        child = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.config.process_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._pump(name, child)
        return child.wait()

    def exited(self) -> str | None:
        """The name of a child that has stopped on its own, if any."""
        for name, child in self.children.items():
            if child.poll() is not None:
                return name
        return None

    def wait_healthy(self, specs: list[ProcessSpec], timeout_s: float) -> None:
        """Block until every health URL answers 200; raise if one dies or time runs out."""
        pending = {spec.name: spec.health_url for spec in specs}
        started = time.monotonic()
        while pending:
            if (dead := self.exited()) is not None:
                raise RuntimeError(f"{dead} exited with code {self.children[dead].returncode}")
            for name, url in list(pending.items()):
                if url_answers(url):
                    self.say(name, f"ready after {time.monotonic() - started:.1f} s")
                    del pending[name]
            if time.monotonic() - started > timeout_s:
                raise RuntimeError(f"not ready after {timeout_s:.0f} s: {', '.join(pending)}")
            time.sleep(0.25)

    def stop(self) -> None:
        """SIGTERM every process group, then SIGKILL what is still there after 15 s."""
        for child in self.children.values():
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(child, signal.SIGKILL)
                child.wait(timeout=5)


def free_port() -> int:
    """A port nothing listens on right now (127.0.0.1)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _signal_group(child: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, sig)


def url_answers(url: str) -> bool:
    """True when a GET of url answers 200 within two seconds."""
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_stack(supervisor: Supervisor, *, timeout_s: float = 300) -> None:
    """Migrate, start all five processes in parallel, seed the EHR once it answers, wait for all.

    Raises RuntimeError (after stopping everything) if a step fails or a process dies.
    """
    config = supervisor.config
    try:
        if supervisor.run_step("backend", [str(VENV / "python"), "-m", "backend.db.migrate"]):
            raise RuntimeError("database migration failed")
        specs = process_specs(config)
        for spec in specs:
            supervisor.start(spec)
        supervisor.wait_healthy(specs[:1], timeout_s)
        seed = [
            str(VENV / "python"),
            "-m",
            "backend.ehr.seed",
            "--base-url",
            config.ehr_base_url,
            "--if-empty",
        ]
        if supervisor.run_step("seed", seed):
            raise RuntimeError("seeding the EHR failed")
        supervisor.wait_healthy(specs[1:], timeout_s)
        if index_tracker_events(config.var_dir / "rasa" / "tracker.db"):
            supervisor.say("rasa", f"tracker store indexed ({INDEX_NAME})")
    except BaseException:
        supervisor.stop()
        raise
