"""Scheduled outreach: appointment reminders, post-visit check-ins, refill nudges and
results-ready notices, each sent once, at an allowed hour, to patients who agreed to it.

See docs/outreach.md. The scheduler runs as one process: `python -m backend.outreach run`.
"""
