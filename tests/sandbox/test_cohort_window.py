"""The cohort dashboard is bounded (issue #16, item 3): a laureate with hundreds of milestones over years shows, on the
timeline, the months of one window (WINDOW_MONTHS) and at most BARS_PER_LAUREATE bars, the rest counted; "earlier" and
"later" move the window; the page's size and its queries do not grow with the milestones (it was 6.6 MB of HTML at
20,000 milestones in one programme)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import sqlalchemy as sa

from govflow.extensions import db
from govflow.sandbox import cohort, roadmaps
from govflow.sandbox.models import Application, Axis

from ..conftest import login
from ..register.test_register import counting
from .common import advance, apply, build, user

BAR = re.compile(r"<rect[^>]*data-state=")


def _milestones(app, ids, application_id: int, count: int, first: date) -> None:
    """``count`` milestones a fortnight apart from ``first``, each lasting ten days."""
    with app.app_context():
        application = db.session.get(Application, application_id)
        axis = db.session.scalar(sa.select(Axis).where(Axis.application_id == application_id).order_by(Axis.position).limit(1))
        for n in range(count):
            starts = first + timedelta(days=14 * n)
            roadmaps.add_milestone(
                user(ids.manager), application, axis, "meeting", f"Meeting {n:03d}", starts, starts + timedelta(days=10), ids.manager, ids.team
            )
        db.session.commit()


def _dashboard(client, programme_id: int, **query) -> str:
    response = client.get(f"/programmes/{programme_id}/dashboard", query_string=query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_timeline_shows_one_window_of_months_and_a_bounded_number_of_bars(app, client):
    ids = build(app)
    laureate = apply(app, ids)
    advance(app, ids, laureate, "in_support")
    _milestones(app, ids, laureate, 120, date(2027, 1, 4))  # four and a half years of fortnightly meetings
    login(client, "manager@test.example")
    page = _dashboard(client, ids.programme, **{"from": "2028-01"})
    bars = len(BAR.findall(page))
    assert 0 < bars <= cohort.BARS_PER_LAUREATE
    assert "January 2028 to June 2028" in page
    hidden = re.search(r'data-testid="timeline-hidden">(\d+) more milestones?', page)
    assert hidden and int(hidden.group(1)) + bars == 13  # the meetings overlapping January-June 2028
    later = re.search(r'href="([^"]+)" rel="next" data-testid="later"', page).group(1)
    assert "from=2028-07" in later
    assert "July 2028 to December 2028" in client.get(later.replace("&amp;", "&")).get_data(as_text=True)
    assert "No milestone of these laureates falls in these months." in _dashboard(client, ids.programme, **{"from": "2040-01"})


def test_the_dashboard_does_not_grow_with_the_milestones(app, client):
    ids = build(app)
    laureate = apply(app, ids)
    advance(app, ids, laureate, "in_support")
    login(client, "manager@test.example")
    _milestones(app, ids, laureate, 10, date(2028, 1, 3))
    with counting(app) as few_queries:
        few = _dashboard(client, ids.programme, **{"from": "2028-01"})
    _milestones(app, ids, laureate, 200, date(2028, 1, 3))
    with counting(app) as many_queries:
        many = _dashboard(client, ids.programme, **{"from": "2028-01"})
    assert len(many_queries) == len(few_queries)
    assert len(BAR.findall(many)) == cohort.BARS_PER_LAUREATE
    assert len(many) < len(few) * 1.5, (len(few), len(many))
    row = re.search(r'data-accepted="0" data-total="(\d+)"', many)
    assert row and int(row.group(1)) >= 210  # progress still counts every milestone


def test_a_month_that_is_not_one_opens_the_default_window(app, client):
    ids = build(app)
    laureate = apply(app, ids)
    advance(app, ids, laureate, "in_support")
    login(client, "manager@test.example")
    default = re.search(r'data-testid="window-months">([^<]+)<', _dashboard(client, ids.programme)).group(1)
    for junk in ("2028-13", "x", "0001-01", "9999-12", "2028-1"):
        assert re.search(r'data-testid="window-months">([^<]+)<', _dashboard(client, ids.programme, **{"from": junk})).group(1) == default
