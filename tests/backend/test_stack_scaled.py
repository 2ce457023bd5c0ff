"""The scaled profile's settings, without starting anything: what each process is told, and
Rasa's endpoints file (the end-to-end test, tests/e2e/test_scaled_profile.py, runs it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.run import config_from_env
from scripts.stack import StackConfig, process_specs
from scripts.stack_scaled import consecutive_free_ports, scaled_env, write_rasa_endpoints


def scaled(tmp_path: Path, **settings: Any) -> StackConfig:
    return StackConfig(
        var_dir=tmp_path, model=tmp_path / "model.tar.gz", profile="scaled", **settings
    )


def test_the_embedded_profile_is_one_process_of_each(tmp_path: Path) -> None:
    config = StackConfig(var_dir=tmp_path, model=tmp_path / "model.tar.gz")
    specs = {spec.name: spec for spec in process_specs(config)}
    assert list(specs) == ["ehr", "actions", "rasa", "backend", "outreach"]
    assert "--workers" not in specs["backend"].argv
    assert (
        specs["rasa"].argv[specs["rasa"].argv.index("--endpoints") + 1].endswith("/endpoints.yml")
    )


def test_every_process_listens_on_loopback_and_no_secret_is_on_a_command_line(
    tmp_path: Path,
) -> None:
    secrets = {"RASA_TOKEN": "rasa-secret-0123456789", "ACTIONS_TOKEN": "actions-secret-012345"}
    for config in (
        StackConfig(var_dir=tmp_path, model=tmp_path / "model.tar.gz", env=secrets),
        scaled(tmp_path, rasa_port=5105, env=secrets),
    ):
        env = config.process_env()
        assert {env["RASA_TOKEN"], env["ACTIONS_TOKEN"]} == set(secrets.values())
        for spec in process_specs(config):
            argv = " ".join(spec.argv)
            assert not any(secret in argv for secret in secrets.values()), spec.name
            if spec.name != "outreach":  # its health port binds 127.0.0.1 in its own code
                assert "127.0.0.1" in spec.argv, spec.name
        actions = next(spec for spec in process_specs(config) if spec.name == "actions")
        assert actions.argv[1:3] == ["-m", "bot.action_server"]  # not `rasa run actions`


def test_the_development_secrets_are_filled_in_when_none_are_set(tmp_path: Path) -> None:
    env = StackConfig(var_dir=tmp_path, model=tmp_path / "model.tar.gz").process_env()
    assert env["RASA_TOKEN"] and env["ACTIONS_TOKEN"] and env["SERVICE_TOKEN"]


def test_every_process_gets_postgres_redis_and_every_rasa_instance(tmp_path: Path) -> None:
    config = scaled(tmp_path, rasa_port=5105, rasa_instances=3, backend_db="assistant_x")
    env = config.process_env()
    assert env["DATABASE_URL"] == "postgresql+psycopg://postgres@127.0.0.1:5432/assistant_x"
    assert env["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert env["RASA_URLS"] == ",".join(f"http://127.0.0.1:{p}" for p in (5105, 5106, 5107))
    assert env["RASA_URL"] == "http://127.0.0.1:5105"
    assert scaled_env(config).items() <= env.items()


def test_hub_workers_and_rasa_instances_are_separate_processes(tmp_path: Path) -> None:
    config = scaled(tmp_path, rasa_port=5105, hub_workers=3)
    specs = {spec.name: spec for spec in process_specs(config)}
    assert list(specs) == ["ehr", "actions", "rasa-1", "rasa-2", "backend", "outreach"]
    backend = specs["backend"]
    assert backend.argv[backend.argv.index("--workers") + 1] == "3"
    assert backend.ready_count == 3 and backend.ready_line  # ready once every worker is
    for n, port in ((1, 5105), (2, 5106)):
        rasa = specs[f"rasa-{n}"]
        assert rasa.argv[rasa.argv.index("--port") + 1] == str(port)
        assert rasa.argv[rasa.argv.index("--log-file") + 1].endswith(f"rasa-{n}.log")
        assert rasa.health_url == f"http://127.0.0.1:{port}/"
        assert rasa.env["SQL_POOL_SIZE"] and "LOG_LEVEL_LIBRARIES" not in rasa.env


def test_rasas_endpoints_name_the_shared_stores_and_keep_passwords_out(tmp_path: Path) -> None:
    config = scaled(
        tmp_path,
        postgres_url="postgresql://rasa:s3cret@db.internal:6543",
        rasa_db="assistant_rasa",
        redis_url="redis://:r3dis@cache.internal:6390/4",
    )
    path = write_rasa_endpoints(config)
    text = path.read_text()
    assert path == tmp_path / "rasa" / "endpoints-scaled.yml"
    assert "s3cret" not in text and "r3dis" not in text
    endpoints = yaml.safe_load(text)
    assert endpoints["action_endpoint"] == {  # as in endpoints.yml, the secret in a header
        "url": "${ACTIONS_URL}/webhook",
        "headers": {"Authorization": "Bearer ${ACTIONS_TOKEN}"},
    }
    assert endpoints["tracker_store"] == {
        "type": "bot.tracker_store.EncryptedSQLTrackerStore",  # events encrypted at rest
        "dialect": "postgresql",
        "url": "db.internal",  # Rasa passes `url` to the store as its host
        "port": 6543,
        "db": "assistant_rasa",
        "username": "rasa",
        "password": "${RASA_TRACKER_PASSWORD}",
    }
    assert endpoints["lock_store"] == {
        "type": "redis",
        "url": "cache.internal",
        "port": 6390,
        "db": 4,
        "key_prefix": "rasa",
        "password": "${RASA_LOCK_PASSWORD}",
    }
    [rasa] = [spec for spec in process_specs(config) if spec.name == "rasa-1"]
    assert rasa.env["RASA_TRACKER_PASSWORD"] == "s3cret"
    assert rasa.env["RASA_LOCK_PASSWORD"] == "r3dis"


def test_make_run_scaled_reads_its_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start = consecutive_free_ports(3)
    monkeypatch.setenv("RASA_URL", f"http://127.0.0.1:{start}")
    monkeypatch.setenv("HUB_WORKERS", "3")
    monkeypatch.setenv("RASA_INSTANCES", "3")
    monkeypatch.setenv("SCALED_DATABASE", "clinic")
    monkeypatch.setenv("SCALED_RASA_DATABASE", "clinic_rasa")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/2")
    config = config_from_env("scaled")
    assert (config.scaled, config.hub_workers, config.rasa_instances) == (True, 3, 3)
    assert config.rasa_ports == [start, start + 1, start + 2]
    assert (config.backend_db, config.rasa_db) == ("clinic", "clinic_rasa")
    assert config.redis_url == "redis://127.0.0.1:6379/2"
    assert not config_from_env("embedded").scaled
