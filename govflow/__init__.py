"""govflow: a governance workflow engine for ethics charters and manifestos in data and AI."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from .config import PROJECT_ROOT, load_config


def build_registry():
    """The workflow registry with every domain's relations, guards, effects, hooks and subjects (each declared in the
    domain's ``workflow.py``; a name declared twice is refused)."""
    from .attestations.services import plugin as attestations
    from .charters.workflow import plugin as charters
    from .instances.registry import WorkflowRegistry
    from .reviews.workflow import plugin as reviews
    from .sandbox.workflow import plugin as sandbox

    registry = WorkflowRegistry()
    for plugin in (charters, reviews, sandbox, attestations):
        registry.install(plugin)
    return registry


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Build the Flask app; raise engine.DefinitionError when a bundled workflow is invalid."""
    app = Flask(
        __name__,
        instance_path=instance_path or str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(load_config(Path(app.instance_path)))
    if test_config:
        app.config.from_mapping(test_config)
        if app.testing and "GOVFLOW_SEQUENCER" not in test_config:
            # A test app integrates after each commit, deterministically, and leaves no thread behind.
            app.config["GOVFLOW_SEQUENCER"] = "inline"
        if app.testing and "RATELIMIT_ENABLED" not in test_config:
            app.config["RATELIMIT_ENABLED"] = False  # tests that check the limits turn them on

    from . import web
    from .accounts import views as account_views
    from .attestations import sequencer
    from .attestations import views as attestation_views
    from .charters import views as charter_views
    from .charters.catalog import load_catalog
    from .extensions import babel, csrf, db, limiter, login_manager, migrate
    from .i18n import select_locale, select_timezone
    from .instances import views as instance_views
    from .main import views as main_views
    from .register import views as register_views
    from .reviews import views as review_views
    from .sandbox import views as sandbox_views

    web.install_converters(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    login_manager.init_app(app)
    web.configure_database(app)

    registry = build_registry()
    engine = registry.build_engine()
    paths = app.config["WORKFLOWS_PATH"]
    engine.load([paths] if isinstance(paths, str) else paths, base=PROJECT_ROOT)
    app.extensions["govflow.registry"] = registry
    app.extensions["govflow.engine"] = engine
    charter_paths = app.config["CHARTERS_PATH"]
    app.extensions["govflow.charters"] = load_catalog([charter_paths] if isinstance(charter_paths, str) else charter_paths, base=PROJECT_ROOT)

    for module in (main_views, account_views, instance_views, charter_views, attestation_views, register_views, review_views, sandbox_views):
        app.register_blueprint(module.bp)
    web.install(app)
    # Sentences worded in the reader's language from what is stored: the history's field names, declared-interest reasons.
    from .actions import refusal_here, refusal_summary, typed
    from .instances.registry import history_label
    from .interests.services import interest_reason

    app.jinja_env.globals["history_label"] = history_label
    app.jinja_env.filters["interest_reason"] = interest_reason
    # Refusals in place: the summary at the top, hand-written forms' typed values and messages (govflow.actions).
    app.jinja_env.globals.update(refusal_summary=refusal_summary, refusal_here=refusal_here, typed=typed)
    sequencer.install(app)
    return app
