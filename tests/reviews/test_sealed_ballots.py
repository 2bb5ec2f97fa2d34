"""Sealed ballots that cannot slip: a ballot answered "recorded" is always in the tally the decision is made of, and
after publication anyone can check, offline, that the tally is made of exactly the ballots logged before the close."""

from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa

from govflow.accounts.models import User
from govflow.attestations import entries
from govflow.attestations.models import Attestation, LogEntry
from govflow.attestations.verify import verify_ballot_files, verify_ballot_openings
from govflow.engine import SYSTEM
from govflow.extensions import db
from govflow.instances.services import fire_transition, lock_instance
from govflow.reviews import services
from govflow.reviews.models import Decision, Referral, Vote, VoteRound

from .common import build, vote

CHOICES = {"favourable": "unfavourable", "unfavourable": "favourable"}


def _race(app, referral_id, voters):
    """Every voter changes their ballot while the system closes the vote at its deadline, all released at once;
    returns {voter: choice answered "recorded"} and the refusals."""
    barrier = threading.Barrier(len(voters) + 1)
    accepted, refused, errors = {}, [], []

    def change(user_id):
        with app.app_context():
            try:
                referral = db.session.get(Referral, referral_id)
                actor = db.session.get(User, user_id)
                mine = services.my_vote(actor, referral).choice
                barrier.wait(timeout=30)
                services.cast_vote(actor, referral, CHOICES[mine], "Changed at the last second.")
                db.session.commit()
                accepted[user_id] = CHOICES[mine]
            except services.VoteRefused:
                db.session.rollback()
                refused.append(user_id)
            except Exception as exc:  # reported below
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    def close():
        with app.app_context():
            try:
                referral = db.session.get(Referral, referral_id)
                barrier.wait(timeout=30)
                fire_transition(SYSTEM, lock_instance(referral.instance_id), "close_vote", {})  # as govflow tick at the deadline
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=change, args=(u,)) for u in voters] + [threading.Thread(target=close)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    return accepted, refused, errors


@pytest.mark.parametrize("attempt", range(5))
def test_ballots_racing_the_close_are_counted_exactly_when_recorded(app, attempt):
    referral_id, users, _ = build(app, members=20)
    # 19 voters: the chair does not vote, so the vote stays open until it is closed; an odd count never ties, so no
    # second round opens (a ballot refused by the close would be accepted into it, rightly, and blur the count).
    voters = users[1:]
    for n, user_id in enumerate(voters):
        vote(app, referral_id, user_id, "favourable" if n % 2 else "unfavourable", "First thoughts.")
    accepted, refused, errors = _race(app, referral_id, voters)
    assert errors == [], errors
    assert len(accepted) + len(refused) == len(voters)
    with app.app_context():
        # The round that closed (a tie opens a new one by itself).
        vote_round = db.session.scalars(sa.select(VoteRound).where(VoteRound.referral_id == referral_id, VoteRound.number == 1)).one()
        assert vote_round.closed_at is not None
        rows = {v.member_id: v.choice for v in db.session.scalars(sa.select(Vote).where(Vote.round_id == vote_round.id))}
        # Every change answered "recorded" is the ballot that stands, and what stands is what was counted.
        assert all(rows[user_id] == choice for user_id, choice in accepted.items())
        counted = {choice: sum(1 for c in rows.values() if c == choice) for choice in set(rows.values())}
        assert {k: v for k, v in vote_round.tally["counts"].items() if v} == counted
        assert vote_round.tally["voted"] == len(rows) == 19
        assert db.session.scalar(sa.select(sa.func.count()).select_from(VoteRound).where(VoteRound.referral_id == referral_id)) == 1
        # The close committed to exactly the latest logged ballot of each voter, and no ballot was logged after it.
        votes = list(db.session.scalars(sa.select(Vote).where(Vote.round_id == vote_round.id)))
        leaves = services.ballot_leaves([v.id for v in votes])
        tally_entry = db.session.scalars(sa.select(LogEntry).where(LogEntry.kind == "tally", LogEntry.ref == str(vote_round.id))).one()
        content = services.tally_content(vote_round, votes, leaves)
        assert entries.leaf_of("tally", content, tally_entry.salt) == tally_entry.leaf_input
        assert sorted(json.loads(content)["ballots"]) == sorted(leaf.hex() for leaf in leaves.values()) and len(leaves) == 19
        assert db.session.scalar(sa.select(sa.func.max(LogEntry.id)).where(LogEntry.kind == "ballot")) < tally_entry.id


def test_the_opened_ballots_of_a_published_decision_verify_offline(app, client, tmp_path):
    referral_id, users, _ = build(app, members=4)
    for user_id, choice in zip(users, ("favourable", "favourable", "unfavourable", "favourable"), strict=True):
        vote(app, referral_id, user_id, choice, "My reasons.")
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        assert referral.instance.status == "vote_closed"
        fire_transition(db.session.get(User, users[1]), referral.instance, "record_favourable", {"rationale": "A majority is favourable."})
        db.session.commit()
        decision = services.latest_decision(referral)
        assert decision.published
        attestation = db.session.scalar(sa.select(Attestation).where(Attestation.history_id == decision.history_id))
        decision_id, uid = decision.id, attestation.uid
    openings = client.get(f"/decisions/{decision_id}/ballots.json").json
    credential = client.get(f"/attestations/{uid}.json").json
    keys = client.get("/.well-known/govflow-keys.json").json
    report = verify_ballot_openings(openings, keys, credential)
    assert report.ok and all(c.ok for c in report.checks), [c.message for c in report.checks]
    assert credential["credentialSubject"]["tallyLeaf"] == base64_to_hex(openings["tally"]["leaf_hash"])
    # Names appear nowhere: voters are pseudonyms of the round's secret seal.
    text = json.dumps(openings)
    voters = [json.loads(o["content"])["voter"] for o in openings["ballots"]]
    assert "Member" not in text and len(set(voters)) == 4 and all(len(v) == 64 and int(v, 16) >= 0 for v in voters)

    # A ballot changed after the fact, or dropped, no longer verifies.
    forged = json.loads(json.dumps(openings))
    ballot = json.loads(forged["ballots"][0]["content"])
    ballot["choice"] = "unfavourable" if ballot["choice"] == "favourable" else "favourable"
    forged["ballots"][0]["content"] = json.dumps(ballot, separators=(",", ":"), sort_keys=True)
    assert not verify_ballot_openings(forged, keys, credential).ok
    dropped = json.loads(json.dumps(openings))
    dropped["ballots"] = dropped["ballots"][1:]
    report = verify_ballot_openings(dropped, keys, credential)
    assert not report.ok and "not opened" in report.checks[-1].message
    # The command line says the same from files.
    path = tmp_path / "ballots.json"
    path.write_text(json.dumps(openings))
    text, code = verify_ballot_files(path)
    assert code == 0 and "Verdict: VALID" in text


def base64_to_hex(value: str) -> str:
    import base64

    return base64.b64decode(value).hex()


def test_a_ballot_cast_after_the_close_is_refused_and_changes_nothing(app):
    referral_id, users, _ = build(app, members=4)
    for user_id in users[:3]:
        vote(app, referral_id, user_id, "favourable")
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        fire_transition(SYSTEM, lock_instance(referral.instance_id), "close_vote", {})
        db.session.commit()
        before = db.session.scalar(sa.select(sa.func.count()).select_from(LogEntry).where(LogEntry.kind == "ballot"))
        with pytest.raises(services.VoteRefused):
            services.cast_vote(db.session.get(User, users[3]), referral, "unfavourable", "Too late.")
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LogEntry).where(LogEntry.kind == "ballot")) == before
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Vote).where(Vote.member_id == users[3])) == 0
        assert db.session.scalars(sa.select(Decision)).first() is None
