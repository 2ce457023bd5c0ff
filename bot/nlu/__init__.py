"""Custom Rasa NLU components (imported by config.yml by dotted path)."""
