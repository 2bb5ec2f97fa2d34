"""instance titles in each language: workflow_instances.title_words

An item whose title is made of govflow's own words (a charter's title, a pillar's) keeps its title per language, so
that pages show the reader's; ``title`` keeps the English one. Items created before keep a NULL here and show their
stored title.

Revision ID: f30350a8279a
Revises: 5e1f0a2c9d41
Create Date: 2026-12-05 07:11:47.771611

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f30350a8279a"
down_revision = "5e1f0a2c9d41"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("workflow_instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title_words", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("workflow_instances", schema=None) as batch_op:
        batch_op.drop_column("title_words")
