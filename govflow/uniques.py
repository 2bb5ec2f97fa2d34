"""A duplicate the database refuses, turned into a refusal only where the code expects one.

Two requests may both check "not signed yet" and both insert; the unique key lets one through and refuses the other.
That refusal is expected at a few named places (a second signature, a second ballot row, a second declaration
version...), and only there is it translated into :class:`~govflow.engine.Refused` (409, a sentence). Anywhere else an
IntegrityError — a unique key nobody expected, a CHECK or a foreign key — is a programming error and answers 500.

Usage, in a service::

    with expect_duplicate(Signature.__table__, {"organisation_id", "charter_slug", "charter_version"}, _("Already signed.")):
        db.session.add(signature)

The block is flushed before it ends, so the duplicate is found there and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from .engine import Refused
from .extensions import db

_PG_DETAIL = re.compile(r"Key \((.+?)\)=")
_SQLITE_COLUMNS = re.compile(r"UNIQUE constraint failed: (.+)$")
_SQLITE_INDEX = re.compile(r"UNIQUE constraint failed: index '([^']+)'")


def is_unique_violation(error: sa.exc.IntegrityError) -> bool:
    """Whether the database refused a duplicate (a unique key), as opposed to a broken check or foreign key."""
    original = getattr(error, "orig", None)
    if getattr(original, "sqlstate", None) == "23505":  # PostgreSQL's unique_violation
        return True
    return "UNIQUE constraint failed" in str(original)


def _unique_keys(table: sa.Table) -> dict[str, frozenset[str]]:
    """Every unique key of ``table`` by name: unique constraints, unique indexes (partial ones too), unique columns."""
    keys: dict[str, frozenset[str]] = {}
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint | sa.PrimaryKeyConstraint) and constraint.name:
            keys[str(constraint.name)] = frozenset(c.name for c in constraint.columns)
    for index in table.indexes:
        if index.unique and index.name:
            keys[str(index.name)] = frozenset(c.name for c in index.columns)
    return keys


def violated_key(error: sa.exc.IntegrityError) -> tuple[str, frozenset[str]] | None:
    """The table and the columns of the unique key ``error`` reports, or None when it is not a unique violation."""
    if not is_unique_violation(error):
        return None
    original = getattr(error, "orig", None)
    diag = getattr(original, "diag", None)
    if diag is not None and getattr(diag, "table_name", None):  # PostgreSQL: the table, and the key in the detail
        detail = _PG_DETAIL.match(getattr(diag, "message_detail", None) or "")
        if detail:
            return diag.table_name, frozenset(part.strip().strip('"') for part in detail.group(1).split(","))
        table = db.metadata.tables.get(diag.table_name)
        columns = _unique_keys(table).get(getattr(diag, "constraint_name", None) or "") if table is not None else None
        return (diag.table_name, columns) if columns else None
    text = str(original).strip().splitlines()[0] if original is not None else ""
    named = _SQLITE_INDEX.search(text)
    if named:  # SQLite names an index built on expressions
        for table in db.metadata.tables.values():
            columns = _unique_keys(table).get(named.group(1))
            if columns:
                return table.name, columns
        return None
    listed = _SQLITE_COLUMNS.search(text)
    if not listed:
        return None
    pairs = [part.strip().split(".", 1) for part in listed.group(1).split(",")]
    tables = {pair[0] for pair in pairs if len(pair) == 2}
    if len(tables) != 1:
        return None
    return tables.pop(), frozenset(pair[1] for pair in pairs)


@contextmanager
def expect_duplicate(table: sa.Table | sa.FromClause, columns: Iterable[str], sentence: str, status: int = 409) -> Iterator[None]:
    """Run the block and flush it; a duplicate on exactly the unique key (``table``, ``columns``) is refused with
    ``sentence`` (409 unless said). Any other integrity error propagates untouched.

    Like every refusal, it leaves the transaction to be rolled back by the caller (``govflow.actions`` does). No
    savepoint: with SQLite's Python driver a savepoint opened before any write is the outermost transaction, and its
    release would commit what the block wrote.
    """
    key = (str(getattr(table, "name", "")), frozenset(columns))
    try:
        yield
        db.session.flush()
    except sa.exc.IntegrityError as error:
        if violated_key(error) == key:
            raise Refused(sentence, status) from None
        raise
