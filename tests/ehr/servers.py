"""Start and stop real FHIR servers for the EHR tests: sekmet (Python) and Medplum (Node)."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from scripts.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
SEKMET = ROOT / ".venv-ehr" / "bin" / "sekmet"
MEDPLUM_DIR = ROOT / "ehr" / "medplum"


@dataclass
class RunningServer:
    """A started server process and its FHIR base URL."""

    name: str
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        """Terminate the process we started (by its pid) and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout_s} s:\n{log.read_text()[-3000:]}")


def sekmet_settings(data_dir: Path, port: int, server_auth: dict[str, Any] | None = None) -> Path:
    """Write a settings file for a private sekmet instance, from the repo's ehr/settings.yaml."""
    settings = yaml.safe_load((ROOT / "ehr" / "settings.yaml").read_text())
    settings.update(
        base_url=f"http://127.0.0.1:{port}/fhir",
        port=port,
        data_dir=str(data_dir),
        db_path=str(data_dir / "sekmet.db"),
        own_private_key_path=str(data_dir / "keys" / "sekmet_private.pem"),
    )
    if server_auth is not None:
        settings["server_auth"] = server_auth
    path = data_dir / "settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def start_sekmet(data_dir: Path, server_auth: dict[str, Any] | None = None) -> RunningServer:
    """Start `sekmet serve` on a free port with its database under data_dir."""
    if not SEKMET.exists():
        raise RuntimeError(f"sekmet is not installed at {SEKMET}: run `make install` first")
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cfg = sekmet_settings(data_dir, port, server_auth)
    log = data_dir / "sekmet.log"
    proc = subprocess.Popen(
        [str(SEKMET), "serve", "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=data_dir,
    )
    server = RunningServer("sekmet", f"http://127.0.0.1:{port}/fhir", proc, log)
    try:
        _wait_ready(f"{server.base_url}/metadata", proc, log)
    except Exception:
        server.stop()
        raise
    return server


def medplum_unavailable_reason() -> str | None:
    """Why the Medplum server cannot run here (None when it can)."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (MEDPLUM_DIR / "node_modules").exists():
        if shutil.which("npm") is None:
            return "npm is not installed"
        r = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=MEDPLUM_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if r.returncode != 0:
            return f"npm ci failed: {r.stderr[-500:]}"
    return None


def start_medplum(log_dir: Path) -> RunningServer:
    """Start the Medplum fhir-router wrapper (ehr/medplum/server.mjs) on a free port."""
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = log_dir / "medplum.log"
    proc = subprocess.Popen(
        ["node", "server.mjs", "--port", str(port)],
        cwd=MEDPLUM_DIR,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = RunningServer("medplum", f"http://127.0.0.1:{port}/fhir", proc, log)
    try:
        _wait_ready(f"http://127.0.0.1:{port}/healthz", proc, log)
    except Exception:
        server.stop()
        raise
    return server
