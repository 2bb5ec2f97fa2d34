"""Typed errors raised by the workflow engine; the web layer maps each to an HTTP status."""

from __future__ import annotations

from dataclasses import dataclass


class Refused(Exception):
    """The one refusal type: an action a person asked for is refused, with an HTTP ``status`` and a ``sentence`` a person
    understands; nothing was changed. Every service raises it (or a subclass), the web layer answers every one the same
    way (``govflow.actions.refusal``), and nothing else is turned into a polite refusal: a ValueError, a CHECK violation
    or any other exception is a programming error and surfaces as one.

    ``technical`` marks a sentence written for operators (the engine's own English explanations, such as "'submit' is
    not possible from state 'draft'"): the web layer shows the class's translated sentence instead and keeps the
    technical one for the log and the command line.
    """

    status = 422

    #: The form field the refusal is about (its name), when there is one: the page shows the sentence next to it.
    field: str | None = None

    def __init__(self, sentence: str, status: int | None = None, *, technical: bool = False, field: str | None = None):
        super().__init__(sentence)
        self.sentence = sentence
        self.technical = technical
        if field is not None:
            self.field = field
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        """The sentence (the name the engine's callers used before there was one refusal type)."""
        return self.sentence


class EngineError(Refused):
    """Base class of every error the engine raises on purpose."""

    status = 400


class NotPermitted(EngineError):
    """The actor holds none of the roles the transition allows."""

    status = 403


class GuardFailed(EngineError):
    """A named guard refused the transition; ``reason`` says why in plain words."""

    status = 422

    def __init__(self, guard: str, reason: str):
        super().__init__(str(reason))
        self.guard = guard
        self.reason = reason


class MissingInput(EngineError):
    """A required input (comment, reason, URL...) is absent or malformed."""

    status = 422

    def __init__(self, field: str, message: str):
        super().__init__(message, technical=True)
        self.field = field


class InvalidTransition(EngineError):
    """The trigger does not exist or is not possible from the instance's current state."""

    status = 409


class StaleInstance(EngineError):
    """Another request moved the instance first; nothing was overwritten."""

    status = 409


@dataclass(frozen=True)
class Problem:
    """One problem found in a definition file, located by file and line."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class DefinitionError(EngineError):
    """One or more definition files are invalid; ``problems`` lists every one of them."""

    status = 409

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
