"""Answers remembered for a transaction: asked once, forgotten when what they depend on is written or the
transaction ends (govflow/memo.py)."""

from __future__ import annotations

import sqlalchemy as sa

from govflow.extensions import db
from govflow.memo import remember
from govflow.organisations.models import Membership, Organisation
from govflow.organisations.services import is_member, memberships_of


def _counter():
    calls = []

    def load():
        db.session.execute(sa.text("SELECT 1"))  # as a real answer does: in a transaction
        calls.append(1)
        return len(calls)

    return calls, load


def test_an_answer_is_loaded_once_per_transaction(ctx):
    calls, load = _counter()
    assert [remember("k", (Membership,), load) for _ in range(3)] == [1, 1, 1]
    assert len(calls) == 1
    db.session.commit()
    assert remember("k", (Membership,), load) == 2, "a new transaction asks again"
    db.session.rollback()
    assert remember("k", (Membership,), load) == 3, "so does the one after a rollback"


def test_a_written_row_of_a_class_it_depends_on_makes_it_asked_again(ctx, make_user, make_org):
    user = make_user()
    org = make_org([(user, "officer")])
    other = make_org()
    calls, load = _counter()
    remember("k", (Membership,), load)
    db.session.add(Organisation(name="Unrelated", kind="company"))
    db.session.flush()
    assert remember("k", (Membership,), load) == 1, "a row of another class leaves it"
    db.session.add(Membership(user_id=user.id, organisation_id=other.id, role="contributor"))
    db.session.flush()
    assert remember("k", (Membership,), load) == 2, "a new row of the class makes it asked again"
    db.session.execute(sa.update(Membership).where(Membership.organisation_id == org.id).values(role="officer"))
    assert remember("k", (Membership,), load) == 3, "so does a bulk statement on its table"


def test_a_membership_added_in_the_same_transaction_is_seen_at_once(ctx, make_user, make_org):
    user = make_user()
    org = make_org()
    from govflow.accounts.models import User

    person = db.session.get(User, user.id)
    assert not is_member(person, org.id) and memberships_of([user.id]) == {user.id: {}}
    db.session.add(Membership(user_id=user.id, organisation_id=org.id, role="contributor"))
    assert is_member(person, org.id), "the autoflush before the next query forgets the stale answer"
    db.session.rollback()
    assert not is_member(person, org.id)
