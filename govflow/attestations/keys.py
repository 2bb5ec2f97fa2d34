"""Ed25519 keys: private keys in files (0600) under the keys folder or in the environment, public records in the database.

No page or log line ever shows a private key: only the public multibase and did:key are published.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from sqlalchemy.orm import Session

from ..engine import EngineError, utcnow
from ..extensions import db
from .credentials import public_key_multibase
from .models import KEY_PURPOSES, SigningKey

ENV_VARS = {"attestation": "GOVFLOW_ATTESTATION_KEY", "log": "GOVFLOW_LOG_KEY"}


class KeysMissing(EngineError):
    """No usable key for a purpose: an administrator must run ``govflow keys init``."""

    status = 503


@dataclass
class LoadedKey:
    """A key's public record and its private key, loaded once per process."""

    record_id: int
    public_key_multibase: str
    private_key: Ed25519PrivateKey

    @property
    def did(self) -> str:
        """The did:key of this key."""
        return f"did:key:{self.public_key_multibase}"

    @property
    def verification_method(self) -> str:
        """The did:key verification method id."""
        return f"{self.did}#{self.public_key_multibase}"


def keys_dir() -> Path:
    """Where private key files live (default: instance/keys)."""
    return Path(current_app.config.get("GOVFLOW_KEYS_DIR") or Path(current_app.instance_path) / "keys")


def _key_file(multibase: str) -> Path:
    return keys_dir() / f"{multibase}.pem"


def _write_private_key(key: Ed25519PrivateKey) -> str:
    """Write ``key`` as PKCS#8 PEM readable by its owner only; return its public multibase."""
    multibase = public_key_multibase(key.public_key())
    folder = keys_dir()
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(_key_file(multibase), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return multibase


def _env_key(purpose: str) -> Ed25519PrivateKey | None:
    text = os.environ.get(ENV_VARS[purpose])
    if not text:
        return None
    key = serialization.load_pem_private_key(text.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise KeysMissing(f"{ENV_VARS[purpose]} is not an Ed25519 private key")
    return key


def current_record(purpose: str, session: Session | None = None) -> SigningKey | None:
    """The key currently used for ``purpose`` (not retired, not revoked), or None."""
    return (session or db.session).scalar(
        sa.select(SigningKey)
        .where(SigningKey.purpose == purpose, SigningKey.valid_until.is_(None), SigningKey.revoked.is_(False))
        .order_by(SigningKey.id.desc())
    )


def init_keys() -> list[tuple[str, str, str]]:
    """Create the issuing and log-signing keys when missing (idempotent); return (purpose, did, 'new'|'kept')."""
    out = []
    for purpose in KEY_PURPOSES:
        record = current_record(purpose)
        env_key = _env_key(purpose)
        if env_key is not None:
            multibase = public_key_multibase(env_key.public_key())
            if record is None or record.public_key_multibase != multibase:
                if record is not None:
                    record.valid_until = utcnow()
                record = SigningKey(purpose=purpose, public_key_multibase=multibase)
                db.session.add(record)
                out.append((purpose, f"did:key:{multibase}", "new (from environment)"))
            else:
                out.append((purpose, record.did, "kept"))
            continue
        if record is not None and _key_file(record.public_key_multibase).exists():
            out.append((purpose, record.did, "kept"))
            continue
        if record is not None:  # its private key is gone: retire it, keep it published
            record.valid_until = utcnow()
        multibase = _write_private_key(Ed25519PrivateKey.generate())
        db.session.add(SigningKey(purpose=purpose, public_key_multibase=multibase))
        out.append((purpose, f"did:key:{multibase}", "new"))
    db.session.flush()
    _cache().clear()
    return out


def rotate_key(purpose: str) -> tuple[str, str]:
    """Retire the current key of ``purpose`` (kept published, old attestations still verify) and start a new one."""
    if purpose not in KEY_PURPOSES:
        raise ValueError(f"unknown key purpose '{purpose}' (use {' or '.join(KEY_PURPOSES)})")
    if _env_key(purpose) is not None:
        raise KeysMissing(f"the {purpose} key comes from {ENV_VARS[purpose]}: rotate it there, then run govflow keys init")
    old = current_record(purpose)
    now = utcnow()
    if old is not None:
        old.valid_until = now
    multibase = _write_private_key(Ed25519PrivateKey.generate())
    db.session.add(SigningKey(purpose=purpose, public_key_multibase=multibase, valid_from=now))
    db.session.flush()
    _cache().clear()
    return (old.did if old else "none", f"did:key:{multibase}")


def _cache() -> dict:
    return current_app.extensions.setdefault("govflow.keys", {})


# Built once: making the statement cost as much as running it, on a path every attested transition takes.
_CURRENT_KEY = (
    sa.select(SigningKey.id, SigningKey.public_key_multibase)
    .where(SigningKey.purpose == sa.bindparam("purpose"), SigningKey.valid_until.is_(None), SigningKey.revoked.is_(False))
    .order_by(SigningKey.id.desc())
    .limit(1)
)


def signing_key(purpose: str, session: Session | None = None) -> LoadedKey:
    """The current key of ``purpose`` with its private half; raise KeysMissing when it is not set up.

    The current key is read from the database on every call (a rotation by another process takes effect at once), as
    two plain columns: every attested transition asks.
    """
    current = (session or db.session).execute(_CURRENT_KEY, {"purpose": purpose}).first()
    if current is None:
        raise KeysMissing(f"no {purpose} key: an administrator must run 'govflow keys init'")
    cache = _cache()
    loaded = cache.get(current.public_key_multibase)
    if loaded is not None:
        return loaded
    key = _env_key(purpose)
    if key is None or public_key_multibase(key.public_key()) != current.public_key_multibase:
        path = _key_file(current.public_key_multibase)
        if not path.exists():
            raise KeysMissing(f"the private {purpose} key is missing from {keys_dir()}: run 'govflow keys init'")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    loaded = LoadedKey(current.id, current.public_key_multibase, key)
    cache[current.public_key_multibase] = loaded
    return loaded


def _iso(moment, round_up: bool = False) -> str | None:
    if moment is None:
        return None
    if round_up and moment.microsecond:
        # An end of service is exclusive: round it up, so a credential signed in the key's last second still verifies.
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def log_origin() -> str:
    """The log's checkpoint origin, also the name of its key in signed notes: GOVFLOW_LOG_ORIGIN, else the base URL
    without its scheme, followed by /log."""
    configured = current_app.config.get("GOVFLOW_LOG_ORIGIN")
    if configured:
        return configured
    base = current_app.config["GOVFLOW_BASE_URL"].split("://", 1)[-1].rstrip("/")
    return f"{base}/log"


def key_history() -> dict:
    """The published key history: current and retired keys, validity periods, revoked flags (no private data)."""
    records = db.session.scalars(sa.select(SigningKey).order_by(SigningKey.id)).all()
    current = {p: current_record(p) for p in KEY_PURPOSES}
    return {
        "issuer": current["attestation"].did if current["attestation"] else None,
        "log": current["log"].did if current["log"] else None,
        "log_origin": log_origin(),
        "keys": [
            {
                "id": r.verification_method,
                "controller": r.did,
                "type": "Multikey",
                "publicKeyMultibase": r.public_key_multibase,
                "purpose": r.purpose,
                "validFrom": _iso(r.valid_from),
                "validUntil": _iso(r.valid_until, round_up=True),
                "revoked": r.revoked,
            }
            for r in records
        ],
    }
