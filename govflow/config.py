"""Settings read from the environment; SQLite under instance/ by default."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 5000  # `govflow run` and `make run` serve here unless told otherwise


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else a random one kept in instance/secret_key (0600)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def base_url() -> str:
    """GOVFLOW_BASE_URL when set (it always wins), else this machine on the port govflow serves: GOVFLOW_PORT, which
    `make run` sets from PORT and `govflow run --port` sets for the server it starts; 5000 when neither says."""
    return os.environ.get("GOVFLOW_BASE_URL") or f"http://127.0.0.1:{os.environ.get('GOVFLOW_PORT') or DEFAULT_PORT}"


def load_config(instance_path: Path) -> dict:
    """The app's configuration for this environment."""
    db_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'govflow.sqlite3'}"
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Folders (or files) of workflow definitions, separated by os.pathsep; all versions found stay compiled.
        "WORKFLOWS_PATH": os.environ.get("GOVFLOW_WORKFLOWS", str(PROJECT_ROOT / "workflows")).split(os.pathsep),
        "CHARTERS_PATH": os.environ.get("GOVFLOW_CHARTERS", str(PROJECT_ROOT / "workflows" / "charters")).split(os.pathsep),
        # Evidence uploads: content-checked, stored by SHA-256 under instance/evidence (or GOVFLOW_EVIDENCE_DIR).
        "GOVFLOW_EVIDENCE_DIR": os.environ.get("GOVFLOW_EVIDENCE_DIR"),
        "EVIDENCE_MAX_BYTES": int(os.environ.get("GOVFLOW_EVIDENCE_MAX_MB", "10")) * 1024 * 1024,
        "MAX_CONTENT_LENGTH": (int(os.environ.get("GOVFLOW_EVIDENCE_MAX_MB", "10")) + 1) * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("GOVFLOW_TIMEZONE", "Europe/Paris"),
        "LANGUAGES": ["en", "fr"],
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("GOVFLOW_SECURE_COOKIES", "0") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "PAGE_SIZE": 20,
        # Rate limits (Flask-Limiter): sign-in per address and per account (failed attempts only), and every POST of
        # someone not signed in. Counts live in memory, or in Redis when REDIS_URL is set (shared by all processes).
        "RATELIMIT_ENABLED": os.environ.get("GOVFLOW_RATE_LIMITS", "1") == "1",
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL") or "memory://",
        "LOGIN_LIMIT_PER_ADDRESS": "20 per minute",
        "LOGIN_LIMIT_PER_ACCOUNT": "10 per 15 minutes",
        "RATELIMIT_ANONYMOUS_POSTS": "60 per minute",
        # Werkzeug's password hashing method: scrypt at its default cost (N=2^15, r=8, p=1; ~0.15 s per hash on 2 CPUs).
        # The test suite lowers N (tests/conftest.py); a stored hash names its own parameters, so it verifies either way.
        "GOVFLOW_PASSWORD_HASH": "scrypt",
        # Public address of this govflow, written into credentials (status-list URLs, subject ids).
        "GOVFLOW_BASE_URL": base_url(),
        # Private signing keys (files, mode 0600); GOVFLOW_ATTESTATION_KEY / GOVFLOW_LOG_KEY (PEM) override them.
        "GOVFLOW_KEYS_DIR": os.environ.get("GOVFLOW_KEYS_DIR"),
        # Where the log's sequencer runs: a thread in each app process (thread), after each commit (inline), or
        # nowhere in the app because `govflow log sequencer` runs as a service (off). See docs/operations.md.
        "GOVFLOW_SEQUENCER": os.environ.get("GOVFLOW_SEQUENCER", "thread"),
        # The log's checkpoint origin (and its key's name); default: the base URL without its scheme, then /log.
        "GOVFLOW_LOG_ORIGIN": os.environ.get("GOVFLOW_LOG_ORIGIN"),
    }
