"""Flask extensions, created unbound and attached by ``create_app``."""

from __future__ import annotations

import sqlalchemy as sa
from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (so migrations can name what they alter)."""

    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def _signed_in_or_reading() -> bool:
    # The default limit applies to what strangers send: POSTs by someone not signed in (sign-in, language switch...).
    return request.method not in ("POST", "PUT", "PATCH", "DELETE") or current_user.is_authenticated


# Memory storage by default; production sets RATELIMIT_STORAGE_URI (from REDIS_URL) so every process shares counts.
limiter = Limiter(
    get_remote_address,
    default_limits=[lambda: _config("RATELIMIT_ANONYMOUS_POSTS")],
    default_limits_exempt_when=_signed_in_or_reading,
    headers_enabled=True,
)


def _config(name: str) -> str:
    from flask import current_app

    return current_app.config[name]


def lock_row(model, key):
    """``model``'s row ``key``, locked for the rest of the transaction and read after any concurrent writer committed.

    PostgreSQL takes a row lock (``SELECT … FOR UPDATE``). SQLite has no row locks and reads outside a write
    transaction, so a no-op write takes the database's write lock first (waiting for the other writer to commit) and
    the reads that follow see what it committed.
    """
    mapper = sa.inspect(model)
    keys = key if isinstance(key, tuple) else (key,)
    where = [c == k for c, k in zip(mapper.primary_key, keys, strict=True)]
    if db.session.get_bind().dialect.name == "sqlite":
        column = mapper.primary_key[0]
        db.session.execute(sa.update(model).where(*where).values({column.key: column}))
    # One locked read that overwrites any copy already in the session (read before the lock): its version then is the
    # committed one, so the flush that follows compares against what a concurrent writer committed.
    return db.session.execute(sa.select(model).where(*where).with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()
