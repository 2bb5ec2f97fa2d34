"""Issue 15: every blocked step says why. A step the user's role allows but a guard refuses is listed with the guard's own
sentence on the item page and on the dashboard, and the diagram marks as open only the steps this user may take now."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from govflow.engine import diagrams
from govflow.extensions import db
from govflow.instances.models import InstanceHistory
from govflow.sandbox.models import Milestone, MilestoneFile

from ..conftest import instance_state, login
from ..sandbox import common as sandbox

GUARD_EN = "Attach the deliverable's file before submitting it."
GUARD_FR = "Joignez le fichier du livrable avant de le remettre."
MARK = diagrams.OPEN_MARK
CLASS = re.compile(r"^\s*class n_(\S+) s_(\S+)$", re.I | re.M)
EDGE = re.compile(r"^\s*n_(\S+) --> n_(\S+): (.+)$", re.M)


def _started_deliverable(app) -> tuple[object, int]:
    """A laureate's deliverable milestone in progress, with no file attached; returns (ids, instance id)."""
    from govflow.instances.services import fire_transition

    ids = sandbox.build(app)
    application_id = sandbox.apply(app, ids)
    sandbox.advance(app, ids, application_id, "in_support")
    with app.app_context():
        milestone = db.session.scalar(sa.select(Milestone).where(Milestone.application_id == application_id))
        assert milestone.kind == "deliverable"
        fire_transition(sandbox.user(ids.team), milestone.instance, "start", {})
        db.session.commit()
        return ids, milestone.instance_id


def _attach_file(app, ids, instance_id: int) -> None:
    from govflow.organisations.uploads import inspect_upload
    from govflow.sandbox import roadmaps

    with app.app_context():
        milestone = db.session.scalar(sa.select(Milestone).where(Milestone.instance_id == instance_id))
        roadmaps.attach_milestone_file(sandbox.user(ids.team), milestone, sandbox.PDF, inspect_upload(sandbox.PDF, "dpia.pdf", 10_000))
        db.session.commit()


def _diagram(page: str) -> str:
    source = re.search(r"<pre class=\"mermaid-source\" data-diagram>(.*?)</pre>", page, re.S)
    assert source, "the page draws the diagram"
    return html.unescape(source[1])


def _history_rows(app, instance_id: int) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(InstanceHistory).where(InstanceHistory.instance_id == instance_id))


def test_a_blocked_step_shows_the_guards_sentence_on_the_item_page(app, client):
    ids, instance_id = _started_deliverable(app)
    before = (instance_state(app, instance_id), _history_rows(app, instance_id))

    login(client, "team@test.example")  # the laureate's team submits the deliverable: the guard wants its file first
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'data-testid="blocked-steps"' in page and "Steps waiting on a condition" in page
    blocked = re.search(r'<li data-trigger="submit"><strong>(.*?)</strong>: (.*?)</li>', page)
    assert blocked, page
    assert (blocked[1], html.unescape(blocked[2])) == ("Submit for acceptance", GUARD_EN)
    assert 'data-testid="fire-submit"' not in page, "a blocked step has no button"
    assert 'data-testid="no-actions"' not in page, "the page says why, not only that nothing can be done"

    client.post("/lang", data={"lang": "fr"})
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "Étapes en attente d'une condition" in html.unescape(page)
    blocked = re.search(r'<li data-trigger="submit"><strong>(.*?)</strong>: (.*?)</li>', page)
    assert blocked and (html.unescape(blocked[1]), html.unescape(blocked[2])) == ("Remettre pour acceptation", GUARD_FR)

    # The manager's steps here are their own (cancel): the team's submission is not listed as blocked for them.
    client.post("/logout")
    login(client, "manager@test.example")
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'data-testid="fire-cancel"' in page
    assert 'data-testid="blocked-steps"' not in page and GUARD_EN not in html.unescape(page)

    # Looking changed nothing.
    assert (instance_state(app, instance_id), _history_rows(app, instance_id)) == before
    with app.app_context():
        files = db.session.scalar(sa.select(sa.func.count()).select_from(MilestoneFile))
    assert files == 0

    # Once the file is attached, the step is open and no longer listed as waiting.
    _attach_file(app, ids, instance_id)
    client.post("/logout")
    login(client, "team@test.example")
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'data-testid="fire-submit"' in page and 'data-testid="blocked-steps"' not in page


def test_the_dashboard_shows_why_an_item_is_blocked(app, client):
    _ids, instance_id = _started_deliverable(app)
    login(client, "team@test.example")
    page = client.get("/dashboard").get_data(as_text=True)
    row = re.search(rf'<a href="/instances/{instance_id}">.*?</tr>', page, re.S)
    assert row, page
    cell = re.search(r'<span class="muted" data-testid="blocked">(.*?)</span>', row[0], re.S)
    assert cell and html.unescape(cell[1]) == f"Waiting on a condition: {GUARD_EN}"
    assert "open it to see why" not in page

    client.post("/lang", data={"lang": "fr"})
    page = html.unescape(client.get("/dashboard").get_data(as_text=True))
    assert f"En attente d'une condition : {GUARD_FR}" in page
    assert "ouvrez-le pour voir pourquoi" not in page
    assert instance_state(app, instance_id)[0] == "in_progress"


def test_the_diagram_marks_only_the_steps_open_to_this_user(app, client):
    ids, instance_id = _started_deliverable(app)

    def drawn(email: str) -> tuple[dict, dict, str]:
        client.post("/logout")
        login(client, email)
        page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
        text = _diagram(page)
        styles = {m[1]: m[2] for m in CLASS.finditer(text)}
        labels = {(m[1], m[2]): m[3] for m in EDGE.finditer(text)}
        return styles, labels, page

    # The manager may cancel now: that arrow is marked and the state it leads to is drawn as open; the current state
    # stays marked as current; the team's submission is someone else's step and is drawn as usual.
    styles, labels, page = drawn("manager@test.example")
    assert styles["in_progress"] == "active"
    assert {s for s, style in styles.items() if style == "open"} == {"cancelled"}
    assert labels[("in_progress", "cancelled")] == f"Cancel the milestone{MARK}"  # the step's title, not its key
    assert MARK not in labels[("in_progress", "submitted")]
    assert [label for label in labels.values() if label.endswith(MARK)] == [f"Cancel the milestone{MARK}"]
    assert "A step you can take now is marked" in page

    # The team's only step is blocked by its guard: nothing is drawn as open for them.
    styles, labels, page = drawn("team@test.example")
    assert styles["in_progress"] == "active"
    assert "open" not in styles.values()
    assert not any(label.endswith(MARK) for label in labels.values())
    assert "A step you can take now is marked" not in page

    # With the file attached, the submission opens for the team, and only it.
    _attach_file(app, ids, instance_id)
    styles, labels, _page = drawn("team@test.example")
    assert {s for s, style in styles.items() if style == "open"} == {"submitted"}
    assert [label for label in labels.values() if label.endswith(MARK)] == [f"Submit for acceptance{MARK}"]  # no guard names
