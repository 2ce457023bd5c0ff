"""The scaled profile (`make run-scaled`): the same code as `make run`, other settings.

- several hub workers (`uvicorn --workers N`) on PostgreSQL (DATABASE_URL) and Redis
  (REDIS_URL: conversation locks, console events, the phone-turn queue);
- several Rasa instances on consecutive ports, sharing a PostgreSQL tracker store and Rasa's
  Redis lock store, so that any instance can serve any conversation; the hub gets them all in
  RASA_URLS and spreads the turns over them;
- one action server, one EHR, one outreach scheduler (its job store in DATABASE_URL).

Before anything starts, the profile creates its two databases if missing (connecting to the
server as the user in `postgres_url`), writes Rasa's endpoints file into the stack's var dir
(endpoints.yml keeps the embedded defaults), and, in parallel, migrates the backend's
database and makes Rasa's tracker tables with their index (`scripts/tracker_index.py`), so the
Rasa instances do not race to create them. docs/concurrency.md, "Scaled profile".
"""

from __future__ import annotations

import random
import socket
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import psycopg
import yaml
from psycopg import sql
from psycopg.rows import TupleRow

from scripts.stack import (
    MIGRATE,
    ROOT,
    VENV_RASA,
    ProcessSpec,
    StackConfig,
    Supervisor,
    rasa_spec,
)

_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
ENDPOINTS_HEADER = (
    "# Written by scripts/stack_scaled.py when the scaled profile starts; endpoints.yml keeps\n"
    "# the embedded defaults. Secrets stay in the environment (${...}).\n"
)
# Each Rasa instance's connections to its tracker store (Rasa's default is 50 + 100 overflow;
# PostgreSQL allows 100 in all, shared with the hub workers and the outreach scheduler).
RASA_SQL_POOL = {"SQL_POOL_SIZE": "4", "SQL_MAX_OVERFLOW": "6"}


@dataclass(frozen=True)
class Server:
    """Where a PostgreSQL or Redis server is, and who connects to it."""

    scheme: str
    host: str
    port: int
    user: str
    password: str
    path: str  # a Redis URL's "/<db>"

    @classmethod
    def parse(cls, url: str, default_port: int) -> Server:
        parts = urlsplit(url)
        return cls(
            scheme=parts.scheme,
            host=parts.hostname or "127.0.0.1",
            port=parts.port or default_port,
            user=parts.username or "",
            password=parts.password or "",
            path=parts.path,
        )

    def postgres_url(self, database: str, driver: str = "postgresql") -> str:
        login = quote(self.user, safe="")
        if self.password:
            login += ":" + quote(self.password, safe="")
        return f"{driver}://{login}@{self.host}:{self.port}/{database}"

    @property
    def shown(self) -> str:
        """The address without the password, fit to print."""
        return f"{self.scheme}://{self.host}:{self.port}{self.path}"


def postgres(config: StackConfig) -> Server:
    return Server.parse(config.postgres_url, 5432)


def scaled_env(config: StackConfig) -> dict[str, str]:
    """What the scaled profile sets for every process, over `.env`."""
    urls = [f"http://127.0.0.1:{port}" for port in config.rasa_ports]
    return {
        "DATABASE_URL": postgres(config).postgres_url(config.backend_db, "postgresql+psycopg"),
        "REDIS_URL": config.redis_url,
        "RASA_URL": urls[0],  # for what names one Rasa; turns go to every RASA_URLS instance
        "RASA_URLS": ",".join(urls),
    }


def embedded_endpoints() -> dict[str, Any]:
    """endpoints.yml as written, its ${...} left for Rasa to fill in."""
    endpoints: dict[str, Any] = yaml.safe_load((ROOT / "endpoints.yml").read_text())
    return endpoints


def write_rasa_endpoints(config: StackConfig) -> Path:
    """Rasa's endpoints for every instance: PostgreSQL tracker store, Redis lock store."""
    server, redis = postgres(config), Server.parse(config.redis_url, 6379)
    tracker: dict[str, object] = {
        # endpoints.yml's store, which encrypts every event (bot/tracker_store.py)
        "type": embedded_endpoints()["tracker_store"]["type"],
        "dialect": "postgresql",
        "url": server.host,  # Rasa's key for the host (it passes `url` on as `host`)
        "port": server.port,
        "db": config.rasa_db,
        "username": server.user,
    }
    if server.password:
        tracker["password"] = "${RASA_TRACKER_PASSWORD}"
    lock: dict[str, object] = {
        "type": "redis",
        "url": redis.host,
        "port": redis.port,
        "db": int(redis.path.strip("/") or 0),
        "key_prefix": "rasa",  # rasa:lock:<conversation>, apart from the hub's hub:* keys
    }
    if redis.password:
        lock["password"] = "${RASA_LOCK_PASSWORD}"
    if redis.scheme == "rediss":
        lock["use_ssl"] = True
    endpoints = {
        # Taken from endpoints.yml, so both profiles call the action server the same way
        # (with its secret, ACTIONS_TOKEN, in a header; docs/security.md).
        "action_endpoint": embedded_endpoints()["action_endpoint"],
        "tracker_store": tracker,
        "lock_store": lock,
    }
    path = config.var_dir / "rasa" / "endpoints-scaled.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ENDPOINTS_HEADER + yaml.safe_dump(endpoints, sort_keys=False))
    return path


def rasa_env(config: StackConfig) -> dict[str, str]:
    """Each Rasa instance's own settings: its pool, its stores' passwords, its access log."""
    env = dict(RASA_SQL_POOL)
    env["RASA_TRACKER_PASSWORD"] = postgres(config).password
    env["RASA_LOCK_PASSWORD"] = Server.parse(config.redis_url, 6379).password
    if config.rasa_access_log:
        env["LOG_LEVEL_LIBRARIES"] = "INFO"  # Sanic's access log: one line per request
    return env


def rasa_specs(config: StackConfig) -> list[ProcessSpec]:
    """One `rasa run` per instance, rasa-1 on rasa_port, rasa-2 on the next port, ..."""
    endpoints = config.var_dir / "rasa" / "endpoints-scaled.yml"
    return [
        rasa_spec(config, f"rasa-{n}", port, endpoints, rasa_env(config))
        for n, port in enumerate(config.rasa_ports, start=1)
    ]


def ensure_databases(config: StackConfig) -> list[str]:
    """Create the backend's and Rasa's databases unless they exist; the ones created."""
    created = []
    with closing(_admin(config.postgres_url)) as admin:
        for name in (config.backend_db, config.rasa_db):
            found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is None:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                created.append(name)
    return created


def drop_databases(postgres_url: str, names: list[str]) -> None:
    """Drop databases (a test's private ones), disconnecting whoever is still connected."""
    with closing(_admin(postgres_url)) as admin:
        for name in names:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(name)))


def _admin(postgres_url: str) -> psycopg.Connection[TupleRow]:
    server = Server.parse(postgres_url, 5432)
    try:
        return psycopg.connect(server.postgres_url("postgres"), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        where = f"{server.host}:{server.port}"
        raise RuntimeError(f"PostgreSQL at {where} is not reachable: {exc}") from exc


def consecutive_free_ports(count: int, start: int | None = None) -> int:
    """The first of `count` consecutive ports nothing listens on, from `start`; without one,
    from a random port below the kernel's ephemeral range. Rasa binds its port only once its
    model is loaded, minutes later on a busy machine: a port from the ephemeral range (what
    `free_port` gives) may by then carry some outgoing connection (seen in a test run)."""
    if start is None:
        ephemeral_from = int(_EPHEMERAL.read_text().split()[0]) if _EPHEMERAL.exists() else 32768
        start = random.randrange(20000, max(ephemeral_from - 1000, 21000))
    base = start
    for _ in range(200):
        if all(_port_free(base + i) for i in range(count)):
            return base
        base += count
    raise RuntimeError(f"no {count} consecutive free ports found from {start}")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def prepare(supervisor: Supervisor) -> None:
    """Databases, Rasa's endpoints file, then the migration and Rasa's tables in parallel."""
    config = supervisor.config
    for name in ensure_databases(config):
        supervisor.say("postgres", f"created database {name}")
    busy = [port for port in config.rasa_ports if not _port_free(port)]
    if busy:
        raise RuntimeError(f"Rasa's ports are in use: {', '.join(map(str, busy))}")
    endpoints = write_rasa_endpoints(config)
    tables = [str(VENV_RASA / "python"), "-m", "scripts.tracker_index", str(endpoints)]
    codes = supervisor.run_steps({"backend": MIGRATE, "rasa": tables})
    failed = [name for name, code in codes.items() if code]
    if failed:
        raise RuntimeError(f"preparing the databases failed ({', '.join(failed)})")


def topology(config: StackConfig) -> list[str]:
    """What the scaled profile runs, for `make run-scaled` to print."""
    server, redis = postgres(config), Server.parse(config.redis_url, 6379)
    rasa = ", ".join(f"http://127.0.0.1:{port}" for port in config.rasa_ports)
    return [
        f"Hub workers:    {config.hub_workers} (uvicorn --workers) on {config.backend_url}",
        f"Rasa instances: {config.rasa_instances}: {rasa}",
        f"Action server:  {config.actions_url} (one)",
        "Outreach:       one scheduler, its jobs in the backend database",
        f"PostgreSQL:     {server.host}:{server.port}, databases {config.backend_db} (backend)"
        f" and {config.rasa_db} (Rasa's tracker store)",
        f"Redis:          {redis.shown} (hub locks, events, phone-turn queue; Rasa's lock store)",
    ]
