"""Shared fixtures: one engine for the whole test session (building it takes about a second)."""

from __future__ import annotations

import pytest

from symptom_rules import Engine, default_engine


@pytest.fixture(scope="session")
def engine() -> Engine:
    return default_engine()
