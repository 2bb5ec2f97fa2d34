"""WSGI entry point: ``gunicorn wsgi:app``. An invalid bundled workflow stops start-up with file:line messages."""

import sys

from govflow import create_app
from govflow.cli import REFUSAL
from govflow.engine import DefinitionError

try:
    app = create_app()
except DefinitionError as exc:
    for problem in exc.problems:
        print(problem, file=sys.stderr)
    print(REFUSAL, file=sys.stderr)
    raise SystemExit(2) from None
