"""The hub: the one path every patient message takes (docs/architecture.md)."""
