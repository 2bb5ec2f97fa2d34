"""register indexes: the register's order and filters read from indexes (issue #16)

The register pages by keyset on (signed_at, id), newest first; its charter, kind and pillar filters each have an index
(checked on PostgreSQL by tests/register/test_keyset.py, reading EXPLAIN). The commitments' index on signature_id alone
gives way to (signature_id, pillar), whose prefix serves the same lookups.

Revision ID: 7e83b5f2c3c0
Revises: f30350a8279a
Create Date: 2026-12-05 07:52:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "7e83b5f2c3c0"
down_revision = "f30350a8279a"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commitments_signature_id"))
        batch_op.create_index("ix_commitments_signature_pillar", ["signature_id", "pillar"], unique=False)
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.create_index("ix_organisations_kind", ["kind"], unique=False)
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.create_index("ix_signatures_charter_signed_at", ["charter", "signed_at", "id"], unique=False)
        batch_op.create_index("ix_signatures_signed_at_id", ["signed_at", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_index("ix_signatures_signed_at_id")
        batch_op.drop_index("ix_signatures_charter_signed_at")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_index("ix_organisations_kind")
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_index("ix_commitments_signature_pillar")
        batch_op.create_index(batch_op.f("ix_commitments_signature_id"), ["signature_id"], unique=False)
