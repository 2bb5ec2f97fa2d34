"""The workflow engine: YAML definitions compiled once into shared ``transitions`` machines.

It imports neither Flask, nor SQLAlchemy, nor any govflow domain module.
"""

from .definitions import SYSTEM_ROLE, Definition, InputSpec, StateDef, TransitionDef, Vocabulary, parse_definition
from .errors import (
    DefinitionError,
    EngineError,
    GuardFailed,
    InvalidTransition,
    MissingInput,
    NotPermitted,
    Problem,
    Refused,
    StaleInstance,
)
from .runtime import SYSTEM, Engine, GuardContext, Registry, TransitionEvent, replay, utcnow

__all__ = [
    "SYSTEM",
    "SYSTEM_ROLE",
    "Definition",
    "DefinitionError",
    "Engine",
    "EngineError",
    "GuardContext",
    "GuardFailed",
    "InputSpec",
    "InvalidTransition",
    "MissingInput",
    "NotPermitted",
    "Problem",
    "Refused",
    "Registry",
    "StaleInstance",
    "StateDef",
    "TransitionDef",
    "TransitionEvent",
    "Vocabulary",
    "parse_definition",
    "replay",
    "utcnow",
]
