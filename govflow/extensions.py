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
from sqlalchemy.orm.util import identity_key

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
    # A copy already in the session was read before the lock: forget it, or the locked read would compare its version
    # with the committed one and raise StaleDataError instead of simply reading what a concurrent writer committed.
    known = db.session.identity_map.get(identity_key(model, key if isinstance(key, tuple) else (key,)))
    if known is not None:
        db.session.expire(known)
    if db.session.get_bind().dialect.name == "sqlite":
        mapper = sa.inspect(model)
        column = mapper.primary_key[0]
        keys = key if isinstance(key, tuple) else (key,)
        db.session.execute(sa.update(model).where(*(c == k for c, k in zip(mapper.primary_key, keys, strict=True))).values({column.key: column}))
    return db.session.get(model, key, with_for_update=True, populate_existing=True)
