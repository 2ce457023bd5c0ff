"""The five processes of the system, started and supervised together.

`make run` uses this through `scripts/run.py`; the end-to-end tests use it to start a private
copy of the whole system on free ports with its state in a temporary folder.

Each process gets its own virtual environment (docs/architecture.md): the EHR (sekmet) in
.venv-ehr, Rasa and the action server in .venv-rasa (Python 3.10), the backend in .venv.
Two profiles, same code: "embedded" (SQLite, one process of each; `make run`) and "scaled"
(several hub workers and Rasa instances on PostgreSQL and Redis; `make run-scaled`,
scripts/stack_scaled.py, docs/concurrency.md).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

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
    # --- the scaled profile (scripts/stack_scaled.py); ignored by the embedded one ---
    profile: Literal["embedded", "scaled"] = "embedded"
    hub_workers: int = 2  # uvicorn --workers
    rasa_instances: int = 2  # on consecutive ports from rasa_port
    postgres_url: str = "postgresql://postgres@127.0.0.1:5432"  # the server; user creates DBs
    backend_db: str = "assistant"
    rasa_db: str = "assistant_rasa"  # Rasa's tracker store
    redis_url: str = "redis://127.0.0.1:6379/0"  # the hub's shared state and Rasa's lock store
    rasa_access_log: bool = False  # each Rasa instance logs the requests it served

    @property
    def scaled(self) -> bool:
        return self.profile == "scaled"

    @property
    def rasa_ports(self) -> list[int]:
        """Every Rasa instance's port: one embedded, consecutive ones scaled."""
        count = self.rasa_instances if self.scaled else 1
        return [self.rasa_port + i for i in range(count)]

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
        # The secrets between our processes (docs/security.md); these development values are
        # refused outside ENV=development.
        env.setdefault("RASA_TOKEN", "dev-rasa-token")
        env.setdefault("SERVICE_TOKEN", "dev-service-token")
        env.setdefault("ACTIONS_TOKEN", "dev-actions-token")
        env.pop("VIRTUAL_ENV", None)
        if self.scaled:
            from scripts.stack_scaled import scaled_env  # it builds on this module

            env.update(scaled_env(self))
        return env


@dataclass(frozen=True)
class ProcessSpec:
    """One supervised process: its command and the URL that answers 200 once it is ready."""

    name: str
    argv: list[str]
    health_url: str
    env: dict[str, str] = field(default_factory=dict)  # on top of the stack's environment
    # Ready also needs this line in its output this many times (uvicorn's workers each say it).
    ready_line: str = ""
    ready_count: int = 1


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
    """The processes, in the order their logs are most useful to read (the EHR first)."""
    # sekmet's app under uvicorn without its access log: `sekmet serve` logs every request
    # line, and the hub's patient searches carry phones, names and birth dates in the URL.
    ehr = [str(VENV_EHR / "python"), "-m", "uvicorn", "sekmet.main:app_factory", "--factory"]
    ehr += ["--no-access-log"]
    ehr_env = {"SEKMET_CONFIG": str(write_ehr_settings(config))}
    # rasa_sdk's app behind ACTIONS_TOKEN, with its body capped (`rasa run actions` would
    # listen on every interface and answer anyone; docs/security.md).
    actions = [str(VENV_RASA / "python"), "-m", "bot.action_server"]
    if config.scaled:
        from scripts.stack_scaled import rasa_specs  # it builds on this module

        rasa = rasa_specs(config)
    else:
        rasa = [rasa_spec(config, "rasa", config.rasa_port, ROOT / "endpoints.yml")]
    return [
        ProcessSpec(
            "ehr", [*ehr, *_listen(config.ehr_port)], f"{config.ehr_base_url}/metadata", env=ehr_env
        ),
        ProcessSpec(
            "actions", [*actions, *_listen(config.actions_port)], f"{config.actions_url}/health"
        ),
        *rasa,
        backend_spec(config, workers=config.hub_workers if config.scaled else 1),
        # The one outreach scheduler (backend/outreach): jobs in the backend database.
        ProcessSpec(
            "outreach",
            [str(VENV / "python"), "-m", "backend.outreach", "run"],
            f"http://127.0.0.1:{config.outreach_port}/health",
        ),
    ]


def _listen(port: int) -> list[str]:
    return ["--host", "127.0.0.1", "--port", str(port)]


def rasa_spec(
    config: StackConfig, name: str, port: int, endpoints: Path, env: dict[str, str] | None = None
) -> ProcessSpec:
    """One `rasa run` server with its HTTP API; its log file is var/<name>.log.

    Started through bot/rasa_server.py, which turns the API on behind RASA_TOKEN from the
    environment: on this command line the token would be readable by every user of the host.
    """
    argv = [str(VENV_RASA / "python"), "-m", "bot.rasa_server"]
    argv += ["--model", str(config.model), "--endpoints", str(endpoints)]
    argv += ["--credentials", "credentials.yml", "--interface", "127.0.0.1", "--port", str(port)]
    argv += ["--log-file", str(config.var_dir / f"{name}.log")]
    return ProcessSpec(name, argv, f"http://127.0.0.1:{port}/", env=env or {})


def backend_spec(config: StackConfig, *, workers: int) -> ProcessSpec:
    """The hub: one uvicorn process, or a manager with `workers` worker processes."""
    argv = [str(VENV / "python"), "-m", "uvicorn", "backend.main:create_app", "--factory"]
    argv += [*_listen(config.backend_port), "--no-access-log"]
    health = f"{config.backend_url}/livez"
    if workers == 1:
        return ProcessSpec("backend", argv, health)
    # /livez answers once the first worker is up; each worker says this line when it is.
    ready = "Application startup complete."
    argv += ["--workers", str(workers)]
    return ProcessSpec("backend", argv, health, ready_line=ready, ready_count=workers)


class Supervisor:
    """Starts processes in parallel, prefixes their output, and stops them all together."""

    def __init__(self, config: StackConfig, out: IO[str] | None = None) -> None:
        self.config = config
        self.out = out if out is not None else sys.stdout
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._ready_lines: dict[str, tuple[str, int]] = {}  # name -> (line, times seen)
        self._lock = threading.Lock()
        self._colour = self.out.isatty() if hasattr(self.out, "isatty") else False

    def say(self, name: str, line: str) -> None:
        """One prefixed log line: `ehr      | ...`."""
        prefix = f"{name:<8}|"
        if self._colour:
            colour = COLOURS.get(name.split("-")[0], "0")  # rasa-2 as rasa
            prefix = f"\033[{colour}m{prefix}\033[0m"
        with self._lock:
            self.out.write(f"{prefix} {line}\n")
            self.out.flush()

    def start(self, spec: ProcessSpec) -> None:
        (self.config.var_dir / "rasa").mkdir(parents=True, exist_ok=True)
        if spec.ready_line:
            self._ready_lines[spec.name] = (spec.ready_line, 0)
        child = subprocess.Popen(
            spec.argv,
            cwd=ROOT,
            env={**self.config.process_env(), **spec.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own group: Ctrl-C goes via us
        )
        self.children[spec.name] = child
        threading.Thread(target=self._pump, args=(spec.name, child), daemon=True).start()

    def _pump(self, name: str, child: subprocess.Popen[bytes]) -> None:
        assert child.stdout is not None
        for raw in child.stdout:
            line = raw.decode(errors="replace").rstrip()
            if name in self._ready_lines:
                wanted, seen = self._ready_lines[name]
                self._ready_lines[name] = (wanted, seen + (wanted in line))
            self.say(name, line)

    def run_step(self, name: str, argv: list[str]) -> int:
        """A short-lived command (migrations, seeding) with prefixed output; its exit code."""
        return self.run_steps({name: argv})[name]

    def run_steps(self, steps: dict[str, list[str]]) -> dict[str, int]:
        """Short-lived commands run in parallel, output prefixed by name; their exit codes."""
        children = {
            name: subprocess.Popen(
                argv,
                cwd=ROOT,
                env=self.config.process_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for name, argv in steps.items()
        }
        pumps = [
            threading.Thread(target=self._pump, args=(name, child), daemon=True)
            for name, child in children.items()
        ]
        for pump in pumps:
            pump.start()
        for pump in pumps:
            pump.join()
        return {name: child.wait() for name, child in children.items()}

    def exited(self) -> str | None:
        """The name of a child that has stopped on its own, if any."""
        for name, child in self.children.items():
            if child.poll() is not None:
                return name
        return None

    def wait_healthy(self, specs: list[ProcessSpec], timeout_s: float) -> None:
        """Block until every health URL answers 200 (and every ready line was seen as often as
        its spec wants); raise if a process dies or time runs out."""
        pending = {spec.name: spec for spec in specs}
        started = time.monotonic()
        while pending:
            if (dead := self.exited()) is not None:
                raise RuntimeError(f"{dead} exited with code {self.children[dead].returncode}")
            for name, spec in list(pending.items()):
                if self._said_ready(spec) and url_answers(spec.health_url):
                    self.say(name, f"ready after {time.monotonic() - started:.1f} s")
                    del pending[name]
            if time.monotonic() - started > timeout_s:
                raise RuntimeError(f"not ready after {timeout_s:.0f} s: {', '.join(pending)}")
            time.sleep(0.25)

    def _said_ready(self, spec: ProcessSpec) -> bool:
        return not spec.ready_line or self._ready_lines[spec.name][1] >= spec.ready_count

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
        return _prober().get(url).status_code == 200
    except httpx.HTTPError:
        return False


@functools.cache
def _prober() -> httpx.Client:
    # One client for every probe: a new one each time (httpx.get) cost about 50 ms of CPU,
    # which four probes a second for each pending Rasa took from Rasa's own start-up.
    return httpx.Client(timeout=2)


MIGRATE = [str(VENV / "python"), "-m", "backend.db.migrate"]


def start_stack(supervisor: Supervisor, *, timeout_s: float = 300) -> None:
    """Migrate, start all five processes in parallel, seed the EHR once it answers, wait for all.

    The scaled profile first creates its databases if missing and migrates while Rasa's tables
    are made (scripts/stack_scaled.py). Raises RuntimeError (after stopping everything) if a
    step fails or a process dies.
    """
    config = supervisor.config
    try:
        if config.scaled:
            from scripts.stack_scaled import prepare  # it builds on this module

            prepare(supervisor)
        elif supervisor.run_step("backend", MIGRATE):
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
        if not config.scaled and index_tracker_events(config.var_dir / "rasa" / "tracker.db"):
            supervisor.say("rasa", f"tracker store indexed ({INDEX_NAME})")
    except BaseException:
        supervisor.stop()
        raise
