"""workflow effects named in the YAML: the bundled definitions gain on_enter / on_exit / effects lines

The effects already ran (they were registered in code by state name); naming them in the definitions changes the
files, not the behaviour. A database registered the previous text of each bundled file: when the registered digest is
the digest of the current file without its effect lines, the registration is moved to the current file, so instances
pinned to these versions go on running. Any other difference is left alone (``govflow workflows load`` refuses it, as
it refuses every edited version).

Revision ID: 5e1f0a2c9d41
Revises: 73eaadf1fd78
Create Date: 2026-12-04 09:00:00.000000

"""
import hashlib
import re
from pathlib import Path

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5e1f0a2c9d41"
down_revision = "73eaadf1fd78"
branch_labels = None
depends_on = None

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EFFECT_LINE = re.compile(r"^\s*(on_enter|on_exit|effects):.*(\n|$)", re.MULTILINE)
TABLE = sa.table("workflow_definitions", sa.column("name"), sa.column("version"), sa.column("sha256"), sa.column("file"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _texts(file: str) -> tuple[str, str] | None:
    """(the file as it is, the file without its effect lines), or None when it is not a bundled file here."""
    path = (PROJECT_ROOT / file).resolve()
    if PROJECT_ROOT not in path.parents or not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    return text, EFFECT_LINE.sub("", text)


def _move(from_index: int, to_index: int) -> None:
    bind = op.get_bind()
    for name, version, digest, file in bind.execute(sa.select(TABLE.c.name, TABLE.c.version, TABLE.c.sha256, TABLE.c.file)).all():
        texts = _texts(file)
        if texts is None or texts[0] == texts[1]:
            continue
        digests = (_digest(texts[0]), _digest(texts[1]))
        if digest == digests[from_index]:
            bind.execute(sa.update(TABLE).where(TABLE.c.name == name, TABLE.c.version == version).values(sha256=digests[to_index]))


def upgrade():
    _move(1, 0)


def downgrade():
    _move(0, 1)
