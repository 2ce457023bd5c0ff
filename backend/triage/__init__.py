"""Symptom triage in the backend: the symptom_rules engine, built once, and its records."""
