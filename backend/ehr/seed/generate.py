"""Build the whole synthetic clinic in memory (deterministic for a seed and a "now")."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from .clinic import build_directory
from .common import Resource, SeedContext
from .labs import build_labs
from .meds import build_appointments, build_medications
from .patients import build_patients
from .slots import build_slots


def generate_clinic(*, seed: int, now: datetime) -> list[Resource]:
    """All resources of the synthetic clinic, directory first."""
    ctx = SeedContext(seed=seed, now=now)
    ctx.begin("directory")
    build_directory(ctx)
    ctx.begin("slots")
    busy = build_slots(ctx)
    ctx.begin("patients")
    patients = build_patients(ctx)
    ctx.begin("labs")
    build_labs(ctx, patients)
    ctx.begin("medications")
    build_medications(ctx, patients)
    ctx.begin("appointments")
    build_appointments(ctx, patients, busy)
    return ctx.resources


def summary(resources: list[Resource]) -> str:
    """One line: counts per resource type."""
    counts = Counter(r["resourceType"] for r in resources)
    return ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
