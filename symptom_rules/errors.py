"""Errors raised while loading rule data. Each names the file, the line and the rule."""

from __future__ import annotations

from pathlib import Path


class RuleFileError(ValueError):
    """A rule, protocol or vocabulary file that cannot be accepted.

    Carries ``path``, ``line`` (1-based), ``rule_id`` (None when the problem is outside a
    rule) and ``problem``; the message reads ``file:line: rule ID: problem`` so an editor
    can jump to it. Fix the named entry, or declare the missing name in the vocabulary.
    """

    def __init__(self, path: Path | str, line: int, rule_id: str | None, problem: str) -> None:
        self.path = Path(path)
        self.line = line
        self.rule_id = rule_id
        self.problem = problem
        where = f"{self.path}:{line}"
        subject = f" rule {rule_id}:" if rule_id else ""
        super().__init__(f"{where}:{subject} {problem}")


class CaseFileError(ValueError):
    """A malformed evaluation or rule-case file; the message names the file and line."""

    def __init__(self, path: Path | str, line: int, problem: str) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        super().__init__(f"{self.path}:{line}: {problem}")
