"""Operator scripts: model cache, the process supervisor behind `make run`."""
