"""Shared fixtures: an app on a fresh database (SQLite, or PostgreSQL when GOVFLOW_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from govflow import create_app
from govflow.attestations.merkle import EMPTY_ROOT
from govflow.extensions import db


def _per_worker(url: str | None) -> str | None:
    """Under pytest-xdist each worker gets a database of its own (``test_gw0``, ``test_gw1``…), created when missing."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    base = sa.engine.make_url(url)
    name = f"{base.database}_{worker}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


PG_URL = _per_worker(os.environ.get("GOVFLOW_TEST_DATABASE_URL"))
DEMO_PASSWORD = "govflow-demo"


def _database_url(tmp_path) -> str:
    return PG_URL or f"sqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def _pg_schema():
    """On PostgreSQL, build the schema once per session (tests then truncate)."""
    if not PG_URL:
        yield None
        return
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": PG_URL, "TESTING": True}, instance_path=tmp)
        with app.app_context():
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
            db.create_all()
            db.engine.dispose()
        yield PG_URL


_SQLITE_TEMPLATE: dict[str, str] = {}


def _keep_sqlite_template(path) -> None:
    """Keep a copy of a database that has just been given the schema, once per test process."""
    import atexit
    import shutil
    import sqlite3
    import tempfile

    folder = tempfile.mkdtemp(prefix="govflow-schema-")
    atexit.register(shutil.rmtree, folder, True)
    target = os.path.join(folder, "schema.sqlite3")
    # The backup API, not a file copy: in WAL mode the schema may still sit in the -wal file.
    with sqlite3.connect(path) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    _SQLITE_TEMPLATE["path"] = target


def make_app(tmp_path, **config):
    """A configured app whose database exists and is empty.

    SQLite: the schema is created once per test process and its file copied (create_all per test cost ~0.1 s);
    PostgreSQL: the schema is created once per session and tables are truncated.
    """
    settings = {
        "SQLALCHEMY_DATABASE_URI": _database_url(tmp_path),
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test-secret",
        # scrypt at N=2^10 instead of 2^15: the same algorithm and checks, 0.005 s a hash instead of 0.16 (tests create
        # and sign in thousands of users); the production default is asserted in tests/web/test_hardening.py.
        "GOVFLOW_PASSWORD_HASH": "scrypt:1024:8:1",
        "GOVFLOW_KEYS_DIR": str(tmp_path / "keys"),
        # The log's sequencer runs right after each commit that wrote entries: tests see integrated entries at once.
        "GOVFLOW_SEQUENCER": "inline",
        # Concurrency tests run 20 sessions at once; the default pool (5 + 10) would make them wait on each other.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": 25, "max_overflow": 5},
    }
    settings.update(config)
    database = tmp_path / "test.sqlite3"
    copied = False
    if not PG_URL and settings["SQLALCHEMY_DATABASE_URI"] == _database_url(tmp_path) and not database.exists() and _SQLITE_TEMPLATE:
        import shutil

        tmp_path.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_SQLITE_TEMPLATE["path"], database)
        copied = True
    app = create_app(settings, instance_path=str(tmp_path / "instance"))
    with app.app_context():
        if PG_URL:
            names = ", ".join(t.name for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                conn.execute(sa.text("INSERT INTO log_state (id, size, root_hash) VALUES (1, 0, :root)"), {"root": EMPTY_ROOT})
        elif not copied:
            db.create_all()
            if settings["SQLALCHEMY_DATABASE_URI"] == _database_url(tmp_path) and not _SQLITE_TEMPLATE:
                _keep_sqlite_template(database)
        from govflow.attestations.keys import init_keys
        from govflow.attestations.sequencer import integrate_all
        from govflow.instances.services import get_engine, register_definitions

        register_definitions(get_engine())
        init_keys()
        db.session.commit()
        integrate_all()  # the empty log's first checkpoint
    return app


@pytest.fixture
def app(tmp_path, _pg_schema):
    """The app on an empty database with the bundled workflows registered.

    No application context is held while requests run: a shared context would share ``g`` (and the
    signed-in user) between requests. Use ``with app.app_context():`` or the ``ctx`` fixture for checks.
    """
    application = make_app(tmp_path)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app_factory(tmp_path, _pg_schema):
    """Factory of apps with extra settings; their database connections are closed at teardown."""
    made = []

    def factory(**config):
        application = make_app(tmp_path / f"app{len(made)}", **config)
        made.append(application)
        return application

    yield factory
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def ctx(app):
    """An application context for service-level tests that make no HTTP request."""
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    """A test client of ``app``."""
    return app.test_client()


def ref(obj, **extra) -> SimpleNamespace:
    """A plain copy of the identifying fields of a committed row, usable outside its session."""
    fields = {k: getattr(obj, k) for k in ("id", "email", "name", "instance_id", "organisation_id") if hasattr(obj, k)}
    fields.update(extra)
    return SimpleNamespace(**fields)


def user_factory(app):
    """Factory: a committed user with roles (password: the demo one); returns id, email, name."""
    from govflow.accounts.services import create_user

    counter = {"n": 0}

    def factory(roles=("signatory",), name=None, email=None):
        counter["n"] += 1
        n = counter["n"]
        with app.app_context():
            user = create_user(email or f"user{n}@test.example", name or f"Test User {n}", DEMO_PASSWORD, list(roles))
            db.session.commit()
            return ref(user)

    return factory


@pytest.fixture
def make_user(app):
    """``user_factory`` of the test's app."""
    return user_factory(app)


def org_factory(app):
    """Factory: a committed organisation with the given (user ref, role) members; returns its id and name."""
    from govflow.accounts.models import User
    from govflow.organisations.services import add_member, create_organisation

    counter = {"n": 0}

    def factory(members=(), kind="company", name=None):
        counter["n"] += 1
        with app.app_context():
            org = create_organisation(name or f"Organisation {counter['n']}", kind)
            for user, role in members:
                add_member(org, db.session.get(User, user.id), role)
            db.session.commit()
            return ref(org)

    return factory


@pytest.fixture
def make_org(app):
    """``org_factory`` of the test's app."""
    return org_factory(app)


NUMEUM = "numeum-ethical-ai"


def commitment_factory(app):
    """Factory: a committed commitment of ``org`` by ``actor`` under the Numeum manifesto, fired through ``steps``.

    The organisation signs the manifesto first if it has not (an officer signs; that creates a draft per pillar):
    the first commitments use those drafts, later ones are added under the same signature.
    """
    from govflow.accounts.models import User
    from govflow.charters.catalog import get_catalog
    from govflow.charters.models import Commitment
    from govflow.charters.services import create_commitment, live_signature, sign_charter
    from govflow.instances.models import WorkflowInstance
    from govflow.instances.services import fire_transition
    from govflow.organisations.models import Membership, Organisation

    def factory(actor, org, steps=(), statement="Publish a plain-language note for every AI product we ship.", pillar="faire"):
        with app.app_context():
            user = db.session.get(User, actor.id)
            organisation = db.session.get(Organisation, org.id)
            charter = get_catalog().get(NUMEUM)
            signature = live_signature(organisation.id, charter.slug, charter.version)
            if signature is None:
                officer_id = db.session.scalar(
                    sa.select(Membership.user_id)
                    .where(Membership.organisation_id == organisation.id, Membership.role == "officer")
                    .order_by(Membership.joined_at)
                )
                signature = sign_charter(db.session.get(User, officer_id), organisation, charter, charter.pillar_keys())
            commitment = db.session.scalar(
                sa.select(Commitment)
                .join(WorkflowInstance, WorkflowInstance.id == Commitment.instance_id)
                .where(Commitment.signature_id == signature.id, Commitment.pillar == pillar, Commitment.statement == "", WorkflowInstance.status == "draft")
                .order_by(Commitment.id)
                .limit(1)
            )
            if commitment is None:
                commitment = create_commitment(user, signature, pillar, statement)
            else:
                commitment.statement = statement
            for trigger, who, inputs in steps:
                fire_transition(db.session.get(User, (who or actor).id), commitment.instance, trigger, inputs)
            db.session.commit()
            return ref(commitment, signature_id=signature.id)

    return factory


@pytest.fixture
def make_commitment(app):
    """``commitment_factory`` of the test's app."""
    return commitment_factory(app)


_WORLDS: dict[str, tuple[Path, object]] = {}


def world(tmp_path: Path, key: str, build):
    """An app on a copy of a database that ``build(app)`` filled, built once per test process (SQLite) and copied for
    every test that asks: tests that tamper with a shared world each get their own copy. Returns (app, what build
    returned). On PostgreSQL the world is built for each test (its tables are truncated between tests)."""
    if PG_URL:
        app = make_app(tmp_path)
        return app, build(app)
    if key not in _WORLDS:
        import atexit
        import shutil
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="govflow-world-"))
        atexit.register(shutil.rmtree, folder, True)
        source = make_app(folder)
        built = build(source)
        with source.app_context():
            db.session.remove()
            db.engine.dispose()
        _WORLDS[key] = (folder, built)
    import shutil
    import sqlite3

    folder, built = _WORLDS[key]
    tmp_path.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(folder / "test.sqlite3") as source, sqlite3.connect(tmp_path / "test.sqlite3") as copy:
        source.backup(copy)
    source.close()
    copy.close()
    # Keys and stored files (the instance folder) go with the database that names them.
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("test.sqlite3*"))
    import copy as copying

    return make_app(tmp_path), copying.deepcopy(built)  # a test may change what it was handed: never the next one's


def app_with_world(request, tmp_path: Path, key: str, build):
    """For a module's ``app`` fixture: the shared world's copy when the test asks for ``world`` (as ``app.world``), an
    empty app otherwise. Yields the app and closes its connections at teardown."""
    if "world" in request.fixturenames:
        application, built = world(tmp_path / "world", key, build)
        application.world = built
    else:
        application = make_app(tmp_path)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def instance_state(app, instance_id: int) -> tuple[str, int, int]:
    """(status, version, number of history rows) of an instance, read fresh from the database."""
    from govflow.instances.models import InstanceHistory, WorkflowInstance

    with app.app_context():
        instance = db.session.get(WorkflowInstance, instance_id)
        rows = db.session.scalar(sa.select(sa.func.count()).select_from(InstanceHistory).where(InstanceHistory.instance_id == instance_id))
        return instance.status, instance.version, rows


def login(client, email, password=DEMO_PASSWORD):
    """Sign ``client`` in (CSRF disabled in these tests)."""
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def csrf_token(html: str) -> str:
    """The CSRF token embedded in a page."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)
