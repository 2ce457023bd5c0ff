"""Rasa input channels of our own; credentials.yml names them by module path."""
