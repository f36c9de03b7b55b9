"""The error hierarchy. The core raises these; only the CLI layer prints them and exits."""

from __future__ import annotations

from dataclasses import dataclass


class ApiforgeError(Exception):
    """Base class of every error apiforge reports to a user."""

    exit_code = 2


class UserError(ApiforgeError):
    """Bad input from the user (arguments, project state): exit code 2."""


@dataclass(frozen=True)
class SpecProblem:
    """One problem in a spec file, located as precisely as the YAML allows."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class SpecError(UserError):
    """A spec that cannot be used; carries every problem found, not just the first."""

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class RefusedChange(ApiforgeError):
    """A change apiforge will not make without explicit consent: exit code 1."""

    exit_code = 1


class Interrupted(ApiforgeError):
    """SIGINT or SIGTERM during a write; the message says what was written (exit 128 + N)."""

    def __init__(self, signum: int, outcome: str) -> None:
        import signal

        super().__init__(f"interrupted by {signal.Signals(signum).name}: {outcome}")
        self.exit_code = 128 + signum
