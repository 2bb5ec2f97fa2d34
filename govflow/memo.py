"""Answers remembered for the rest of a database transaction: one load per act instead of one per question.

A request asks the same things many times: the actor's memberships, a committee's members, a referral's recusals and
vote round. Guards, relations, effects, policies and templates each ask; ``remember`` answers from the session's
memo after the first time. An answer is forgotten

- when the transaction ends (commit or rollback: what others committed may differ now) or a new one begins;
- when the session flushes a new, changed or deleted row of a class the answer depends on (``depends``); a
  pending row of such a class is flushed before answering, as the query would have flushed it;
- when a bulk ``UPDATE``/``DELETE``/``INSERT`` statement targets such a class.

So a service that adds a recusal and then counts eligible members sees its own recusal, without knowing the memo.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from itertools import chain
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import ORMExecuteState, Session

from .extensions import db

T = TypeVar("T")
_KEY = "govflow_memo"


def remember(key: Hashable, depends: Iterable[type], load: Callable[[], T]) -> T:
    """``load()`` once per transaction for ``key``; forgotten when a row of a class in ``depends`` is written."""
    session = db.session()
    store: dict[Hashable, tuple[frozenset[type], Any]] = session.info.setdefault(_KEY, {})
    hit = store.get(key)
    if hit is not None and session.autoflush and _pending(session, hit[0]):
        # A row of a class the answer depends on waits to be flushed: flush it as the query would have (autoflush),
        # which forgets the answer.
        session.flush()
        hit = store.get(key)
    if hit is not None:
        return hit[1]
    value = load()
    store[key] = (frozenset(depends), value)
    return value


def remember_by(
    name: str, depends: Iterable[type], ids: Iterable[int | None], query: Callable[[list[int]], Any], shape: Callable[[list[Any]], T]
) -> dict[int, T]:
    """For each of ``ids``, its rows of ``query(ids)`` (rows whose first column is the id), shaped (``dict``, ``set``…)
    and remembered as ``(name, id)`` for the transaction: one query for all the ids not yet known, whether a page asks
    about one person or about many."""
    session = db.session()
    store: dict[Hashable, tuple[frozenset[type], Any]] = session.info.setdefault(_KEY, {})
    wanted = sorted({i for i in ids if i is not None})
    deps = frozenset(depends)
    if wanted and session.autoflush and _pending(session, deps):
        session.flush()  # as the query would have: forgets what the pending rows make stale
    missing = [i for i in wanted if (name, i) not in store]
    if missing:
        found: dict[int, list[Any]] = {i: [] for i in missing}
        for owner, *rest in session.execute(query(missing)):
            found[owner].append(tuple(rest) if len(rest) > 1 else rest[0])
        for i, rows in found.items():
            store[(name, i)] = (deps, shape(rows))
    return {i: store[(name, i)][1] for i in wanted}


def forget(session: Session, classes: set[type] | None = None) -> None:
    """Drop every remembered answer (``classes`` None) or those that depend on one of ``classes``."""
    store = session.info.get(_KEY)
    if not store:
        return
    if classes is None:
        store.clear()
        return
    for key in [k for k, (deps, _) in store.items() if not deps.isdisjoint(classes)]:
        del store[key]


def _pending(session: Session, depends: frozenset[type]) -> bool:
    if not depends:
        return False
    kinds = tuple(depends)
    return any(isinstance(o, kinds) for o in chain(session.new, session.dirty, session.deleted))


def _touched(classes: Iterable[type]) -> set[type]:
    out: set[type] = set()
    for cls in classes:
        out.update(cls.__mro__)
    return out


@sa.event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    if session.info.get(_KEY):
        forget(session, _touched(type(o) for o in chain(session.new, session.dirty, session.deleted)))


@sa.event.listens_for(Session, "after_begin")
@sa.event.listens_for(Session, "after_commit")
@sa.event.listens_for(Session, "after_soft_rollback")
def _after_transaction(session: Session, *_args: Any) -> None:
    forget(session)


@sa.event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete or state.is_insert) and state.session.info.get(_KEY):
        mapper = state.bind_mapper
        forget(state.session, _touched([mapper.class_]) if mapper is not None else None)
