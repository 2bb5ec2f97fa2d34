"""private transparency log v2: pending entries committing to acts, tiles, checkpoints, stored status lists; history
rows record the instance's version and deadline; vote rounds get a secret seal

The earlier log held the content of every act, confidential ones included, in its public leaves. It cannot be
redacted without breaking its tree heads, so this revision starts a new log: the old entries and tree heads are
dropped, and every act they recorded (and every ballot, tally, recusal, exclusion, declaration and scoring sheet
already in the database) is committed anew as a pending entry of the new, private log, in the old log's order. The
sequencer integrates them at its first round. Credentials keep their signatures; their receipts come from the new log.

Revision ID: 49934dd90756
Revises: c7df55340a2a
Create Date: 2026-12-03 19:13:15.915738

"""

import hashlib
import json
import os

import sqlalchemy as sa
from alembic import op

from govflow.attestations import entries

revision = "49934dd90756"
down_revision = "c7df55340a2a"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
EMPTY_ROOT = hashlib.sha256(b"").digest()


def _new_log_tables():
    op.create_table(
        "log_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_log_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_state")),
    )
    op.create_table(
        "log_entries",
        sa.Column("id", BigId, nullable=False),
        sa.Column("index", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("history_id", sa.Integer(), nullable=True),
        sa.Column("attestation_id", sa.Integer(), nullable=True),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("salt", sa.LargeBinary(length=16), nullable=True),
        sa.Column("leaf_input", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("integrated_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('transition', 'attestation', 'revocation', 'ballot', 'tally', 'recusal', 'exclusion', 'declaration', 'score')",
            name=op.f("ck_log_entries_kind_known"),
        ),
        sa.CheckConstraint("(kind = 'transition') = (history_id IS NOT NULL)", name=op.f("ck_log_entries_transition_source")),
        sa.CheckConstraint("(kind IN ('attestation', 'revocation')) = (attestation_id IS NOT NULL)", name=op.f("ck_log_entries_attestation_source")),
        sa.CheckConstraint("(kind IN ('transition', 'attestation', 'revocation')) = (ref IS NULL)", name=op.f("ck_log_entries_other_source")),
        sa.CheckConstraint("(kind = 'attestation') = (salt IS NULL)", name=op.f("ck_log_entries_salted")),
        sa.CheckConstraint('("index" IS NULL) = (integrated_at IS NULL)', name=op.f("ck_log_entries_integrated_complete")),
        sa.ForeignKeyConstraint(["attestation_id"], ["attestations.id"], name=op.f("fk_log_entries_attestation_id_attestations")),
        sa.ForeignKeyConstraint(["history_id"], ["instance_history.id"], name=op.f("fk_log_entries_history_id_instance_history")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_entries")),
    )
    # Partial indexes: an act's insert touches only the primary key, the pending index and its source's unique index.
    for name, columns, unique, where in (
        ("ux_log_entries_index", ["index"], True, '"index" IS NOT NULL'),
        ("ux_log_entries_history", ["history_id"], True, "history_id IS NOT NULL"),
        ("ux_log_entries_attestation", ["kind", "attestation_id"], True, "attestation_id IS NOT NULL"),
        ("ix_log_entries_leaf_hash", ["leaf_hash"], False, '"index" IS NOT NULL'),
        ("ix_log_entries_kind_ref", ["kind", "ref"], False, "ref IS NOT NULL"),
        ("ix_log_entries_pending", ["id"], False, '"index" IS NULL'),
    ):
        op.create_index(name, "log_entries", columns, unique=unique, postgresql_where=sa.text(where), sqlite_where=sa.text(where))
    op.create_table(
        "tree_heads",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["signing_keys.id"], name=op.f("fk_tree_heads_key_id_signing_keys")),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_tree_heads")),
    )
    op.create_table(
        "log_tiles",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("level BETWEEN 0 AND 63", name=op.f("ck_log_tiles_level_range")),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_log_tiles")),
    )
    op.create_table(
        "status_lists",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("credential", sa.Text(), nullable=False),
        sa.Column("revoked", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_status_lists")),
    )


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


class _Relog:
    """Pending entries of the new log, written in order (each kind's content from the pure ``entries`` module)."""

    def __init__(self, connection):
        self.connection = connection
        self.table = sa.table(
            "log_entries",
            sa.column("kind"),
            sa.column("history_id"),
            sa.column("attestation_id"),
            sa.column("ref"),
            sa.column("salt"),
            sa.column("leaf_input"),
            sa.column("leaf_hash"),
            sa.column("created_at"),
        )
        self.rows = []
        self.now = sa.func.now()

    def add(self, kind, content, history_id=None, attestation_id=None, ref=None):
        salt = None if kind in entries.UNSALTED else os.urandom(entries.SALT_BYTES)
        leaf_input = entries.leaf_of(kind, content, salt)
        row = {
            "kind": kind,
            "history_id": history_id,
            "attestation_id": attestation_id,
            "ref": ref,
            "salt": salt,
            "leaf_input": leaf_input,
            "leaf_hash": hashlib.sha256(b"\x00" + leaf_input).digest(),
        }
        self.rows.append(row)
        if len(self.rows) >= 1000:
            self.flush()
        return row["leaf_hash"]

    def flush(self):
        if self.rows:
            from datetime import UTC, datetime

            now = datetime.now(UTC).replace(tzinfo=None)
            self.connection.execute(self.table.insert(), [{**r, "created_at": now} for r in self.rows])
            self.rows = []


def _relog(connection, old_order):
    """Commit every act already in the database to the new log: the old log's entries in their order, then the acts
    the old log did not record."""
    relog = _Relog(connection)
    workflows = dict(connection.execute(sa.text("SELECT id, workflow FROM workflow_instances")).all())
    history = {
        row[0]: row
        for row in connection.execute(
            sa.text(
                "SELECT id, instance_id, definition_version, kind, trigger, from_state, to_state, actor_id, at, comment, inputs, "
                "instance_version, due_at, due_trigger FROM instance_history"
            )
        )
    }
    attestations = {row[0]: row for row in connection.execute(sa.text("SELECT id, uid, credential, revoked_at, revocation_reason FROM attestations"))}
    logged_history, logged_attestations, logged_revocations = set(), set(), set()

    def log_history(h_id):
        h = history[h_id]
        content = entries.transition_entry(h[1], workflows.get(h[1]), h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], _json(h[10]), h[11], h[12], h[13])
        relog.add("transition", content, history_id=h_id)
        logged_history.add(h_id)

    def log_attestation(a_id, kind):
        a = attestations[a_id]
        if kind == "attestation":
            relog.add("attestation", a[2].encode("utf-8"), attestation_id=a_id)
            logged_attestations.add(a_id)
        elif a[3] is not None:
            relog.add("revocation", entries.revocation_entry(a[1], a[3], a[4]), attestation_id=a_id)
            logged_revocations.add(a_id)

    for kind, history_id, attestation_id in old_order:
        if kind == "transition" and history_id in history and history_id not in logged_history:
            log_history(history_id)
        elif kind in ("attestation", "revocation") and attestation_id in attestations:
            if attestation_id not in (logged_attestations if kind == "attestation" else logged_revocations):
                log_attestation(attestation_id, kind)
    for h_id in sorted(set(history) - logged_history):
        log_history(h_id)
    for a_id in sorted(set(attestations) - logged_attestations):
        log_attestation(a_id, "attestation")
    for a_id in sorted(a for a in attestations if attestations[a][3] is not None and a not in logged_revocations):
        log_attestation(a_id, "revocation")

    for row in connection.execute(sa.text("SELECT id, user_id, version, interests, personal_links, declared_at FROM interest_declarations ORDER BY id")):
        relog.add("declaration", entries.declaration_entry(row[1], row[2], _json(row[3]), row[4], row[5]), ref=str(row[0]))
    for row in connection.execute(
        sa.text("SELECT referral_id, user_id, kind, reason, recorded_by_id, recorded_at FROM recusals ORDER BY recorded_at, referral_id, user_id")
    ):
        relog.add("recusal", entries.recusal_entry(*row), ref=f"{row[0]}/{row[1]}")
    for row in connection.execute(
        sa.text("SELECT application_id, user_id, kind, reason, recorded_at FROM evaluator_exclusions ORDER BY recorded_at, application_id, user_id")
    ):
        relog.add("exclusion", entries.exclusion_entry(*row), ref=f"{row[0]}/{row[1]}")
    for row in connection.execute(sa.text("SELECT id, application_id, evaluator_id, scores, comments, comment, changed_at FROM scores ORDER BY id")):
        relog.add("score", entries.score_entry(row[1], row[2], _json(row[3]), _json(row[4]) or {}, row[5], row[6]), ref=str(row[0]))
    seals = dict(connection.execute(sa.text("SELECT id, seal FROM vote_rounds")).all())
    leaves = {}
    for row in connection.execute(sa.text("SELECT id, round_id, member_id, choice, rationale, changed_at FROM votes ORDER BY id")):
        leaves[row[0]] = relog.add("ballot", entries.ballot_entry(row[1], bytes(seals[row[1]]), row[2], row[3], row[4], row[5]), ref=str(row[0]))
    for row in connection.execute(sa.text("SELECT id, closed_at, eligible, tally FROM vote_rounds WHERE closed_at IS NOT NULL ORDER BY id")):
        eligible = set(_json(row[2]) or [])
        counted = [
            vote_id
            for vote_id, member in connection.execute(sa.text("SELECT id, member_id FROM votes WHERE round_id = :r ORDER BY member_id"), {"r": row[0]})
            if member in eligible
        ]
        content = entries.tally_entry(row[0], row[1], len(eligible), [leaves[v].hex() for v in counted], _json(row[3]) or {})
        relog.add("tally", content, ref=str(row[0]))
    relog.flush()


def upgrade():
    connection = op.get_bind()
    # History rows say what they left the instance as: its version counts its history rows from now on.
    # Columns are added NOT NULL with a server default, then filled: on SQLite, making a column NOT NULL afterwards
    # would rebuild the table, which the foreign keys of a populated database refuse.
    with op.batch_alter_table("instance_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("instance_version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("due_trigger", sa.String(length=64), nullable=True))
    connection.execute(
        sa.text(
            "UPDATE instance_history SET instance_version = (SELECT count(*) FROM instance_history h2 "
            "WHERE h2.instance_id = instance_history.instance_id AND h2.id <= instance_history.id)"
        )
    )
    connection.execute(sa.text("UPDATE workflow_instances SET version = (SELECT count(*) FROM instance_history h WHERE h.instance_id = workflow_instances.id)"))
    # The last row of each instance carries its current deadline (earlier deadlines were not recorded).
    connection.execute(
        sa.text(
            "UPDATE instance_history SET due_at = (SELECT i.due_at FROM workflow_instances i WHERE i.id = instance_history.instance_id), "
            "due_trigger = (SELECT i.due_trigger FROM workflow_instances i WHERE i.id = instance_history.instance_id) "
            "WHERE id IN (SELECT max(id) FROM instance_history GROUP BY instance_id)"
        )
    )
    with op.batch_alter_table("vote_rounds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seal", sa.LargeBinary(length=32), nullable=False, server_default=""))
    for (round_id,) in connection.execute(sa.text("SELECT id FROM vote_rounds")).all():
        connection.execute(sa.text("UPDATE vote_rounds SET seal = :seal WHERE id = :id"), {"seal": os.urandom(32), "id": round_id})

    old_order = connection.execute(sa.text('SELECT kind, history_id, attestation_id FROM log_entries ORDER BY "index"')).all()
    op.drop_table("log_entries")
    op.drop_table("tree_heads")
    op.drop_table("log_state")
    _new_log_tables()
    connection.execute(sa.text("INSERT INTO log_state (id, size, root_hash) VALUES (1, 0, :root)"), {"root": EMPTY_ROOT})
    _relog(connection, old_order)


def downgrade():
    # The earlier log's schema comes back empty: its entries carried confidential content and are not rebuilt.
    op.drop_table("status_lists")
    op.drop_table("log_tiles")
    op.drop_table("tree_heads")
    for name in ("ux_log_entries_index", "ux_log_entries_history", "ux_log_entries_attestation", "ix_log_entries_leaf_hash", "ix_log_entries_kind_ref"):
        op.drop_index(name, table_name="log_entries")
    op.drop_index("ix_log_entries_pending", table_name="log_entries")
    op.drop_table("log_entries")
    op.drop_table("log_state")
    op.create_table(
        "log_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("frontier", sa.JSON(), nullable=False),
        sa.Column("attestations_issued", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_log_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_state")),
    )
    op.execute("INSERT INTO log_state (id, size, frontier, attestations_issued) VALUES (1, 0, '[]', 0)")
    op.create_table(
        "tree_heads",
        sa.Column("tree_size", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["signing_keys.id"], name=op.f("fk_tree_heads_key_id_signing_keys")),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_tree_heads")),
    )
    op.create_table(
        "log_entries",
        sa.Column("index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("history_id", sa.Integer(), nullable=True),
        sa.Column("attestation_id", sa.Integer(), nullable=True),
        sa.Column("leaf_input", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("(kind = 'transition') = (attestation_id IS NULL)", name=op.f("ck_log_entries_attestation_source")),
        sa.CheckConstraint("(kind = 'transition') = (history_id IS NOT NULL)", name=op.f("ck_log_entries_transition_source")),
        sa.CheckConstraint("kind IN ('transition', 'attestation', 'revocation')", name=op.f("ck_log_entries_kind_known")),
        sa.ForeignKeyConstraint(["attestation_id"], ["attestations.id"], name=op.f("fk_log_entries_attestation_id_attestations")),
        sa.ForeignKeyConstraint(["history_id"], ["instance_history.id"], name=op.f("fk_log_entries_history_id_instance_history")),
        sa.PrimaryKeyConstraint("index", name=op.f("pk_log_entries")),
        sa.UniqueConstraint("history_id", name=op.f("uq_log_entries_history_id")),
        sa.UniqueConstraint("kind", "attestation_id", name="uq_log_entries_attestation"),
    )
    with op.batch_alter_table("log_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_log_entries_leaf_hash"), ["leaf_hash"], unique=False)
    with op.batch_alter_table("vote_rounds", schema=None) as batch_op:
        batch_op.drop_column("seal")
    with op.batch_alter_table("instance_history", schema=None) as batch_op:
        batch_op.drop_column("due_trigger")
        batch_op.drop_column("due_at")
        batch_op.drop_column("instance_version")
