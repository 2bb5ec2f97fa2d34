"""Home page, per-user dashboard, /favicon.ico and /healthz."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, redirect, render_template, url_for
from flask_login import current_user

from ..access import public, signed_in
from ..extensions import db
from ..instances.deadlines import reminders_for
from ..instances.registry import inbox_links
from ..instances.services import blocked_steps, get_registry, preload_subjects, transition_options, waiting_on
from ..web import page_arg

bp = Blueprint("main", __name__)


@bp.get("/")
@public
def index():
    """The public home page; signed-in users go to their dashboard."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    return render_template("main/index.html")


@bp.get("/dashboard")
@signed_in
def dashboard():
    """What waits on the signed-in user: instances where they may take a step now."""
    page = waiting_on(current_user, page=page_arg(), per_page=current_app.config["PAGE_SIZE"])
    preload_subjects(page.items)  # one query per kind of subject; the guards below then ask nothing per item of it
    options = {i.id: transition_options(current_user, i) for i in page.items}
    actions = {item_id: [t for t, reason in steps if reason is None] for item_id, steps in options.items()}
    # Why an item with no step open waits on the user: the first guard's sentence (the guards above have run already).
    blocked = {item_id: next((reason for _t, reason in blocked_steps(steps)), None) for item_id, steps in options.items()}
    reminders = reminders_for([i.id for i in page.items])
    registry = get_registry()
    # What each item's domain offers beyond the open steps (a draft commitment: describe it, then declare it).
    links = {i.id: inbox_links(current_user, i, registry.subjects) for i in page.items}
    for item_id, offered in links.items():
        covered = {link.trigger for link in offered if link.trigger}
        actions[item_id] = [t for t in actions[item_id] if t.trigger not in covered]
    sections = [(template, load(current_user)) for template, load in registry.inbox_sections]
    return render_template("main/dashboard.html", page=page, actions=actions, links=links, blocked=blocked, reminders=reminders, sections=sections)


@bp.get("/favicon.ico")
@public
def favicon():
    """The icon browsers ask for by this name (pages link static/favicon.svg): the same SVG, not a 404 (a few hundred
    bytes, sent whole rather than streamed from an open file)."""
    svg = Path(current_app.static_folder, "favicon.svg").read_bytes()
    return current_app.response_class(svg, mimetype="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/healthz")
@public
def healthz():
    """JSON health report with the database status (503 when the database does not answer)."""
    try:
        db.session.execute(sa.text("SELECT 1"))
        database = "ok"
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return jsonify(status="ok" if status == 200 else "degraded", database=database, backend=db.engine.dialect.name), status
