"""The register pages by keyset (issue #16, item 1): each page is reached from the position of the previous one, not
by OFFSET, so a deep page costs what the first does; walking forward then back visits every signature once, in the
same order, ties on the signing time broken by id; the count stops at COUNT_LIMIT ("more than"); and on PostgreSQL the
order and each filter are read from an index (EXPLAIN)."""

from __future__ import annotations

import html
import os
import re

import pytest
import sqlalchemy as sa

from govflow.extensions import db
from govflow.register import services
from govflow.register.services import RegisterFilters, decode_cursor

from .test_register import seed

NAME = re.compile(r'data-org="([^"]+)"')


def _walk(client, url: str, rel: str) -> list[list[str]]:
    pages = []
    while url:
        page = client.get(url).get_data(as_text=True)
        pages.append([html.unescape(n) for n in NAME.findall(page)])
        found = re.search(rf'href="([^"]+)" rel="{rel}"', page)
        url = html.unescape(found.group(1)) if found else None
    return pages


def test_walking_the_register_forward_and_back_visits_each_signature_once(app, client, make_user):
    make_user()
    seed(app, 47, 1, "Keyset")  # organisation n signed n minutes before the first
    with app.app_context():  # and two more signed at the very same instant as the first: the id breaks the tie
        db.session.execute(
            sa.update(services.Signature)
            .where(services.Signature.id.in_([2, 3]))
            .values(signed_at=sa.select(services.Signature.signed_at).where(services.Signature.id == 1).scalar_subquery())
        )
        db.session.commit()
    forward = _walk(client, "/register", "next")
    names = [n for page in forward for n in page]
    assert len(names) == 47 == len(set(names)) and [len(p) for p in forward] == [20, 20, 7]
    assert names[:3] == ["Keyset organisation 00002", "Keyset organisation 00001", "Keyset organisation 00000"]  # tie: id
    assert names[3:] == sorted(names[3:])  # then newest first
    last_page = client.get("/register").get_data(as_text=True)
    for _ in range(2):
        last_page = client.get(html.unescape(re.search(r'href="([^"]+)" rel="next"', last_page).group(1))).get_data(as_text=True)
    back_from = html.unescape(re.search(r'href="([^"]+)" rel="prev"', last_page).group(1))
    backward = _walk(client, back_from, "prev")
    assert backward == forward[:2][::-1]
    assert 'data-testid="newer"' not in client.get("/register").get_data(as_text=True)  # the first page has no "Previous"


def test_a_cursor_that_is_not_one_gives_the_first_page(app, client, make_user):
    make_user()
    seed(app, 3, 1, "Odd")
    first = NAME.findall(client.get("/register").get_data(as_text=True))
    for junk in ("x", "20260101T000000000000.-1", "99999999T999999999999.1", "'; DROP TABLE signatures; --"):
        assert decode_cursor(junk) is None, junk
        assert NAME.findall(client.get("/register", query_string={"after": junk}).get_data(as_text=True)) == first


def test_the_count_stops_at_its_limit(app, client, make_user, monkeypatch):
    make_user()
    seed(app, 25, 1, "Counted")
    monkeypatch.setattr(services, "COUNT_LIMIT", 10)
    page = client.get("/register").get_data(as_text=True)
    assert "More than 10 signatures" in page
    monkeypatch.setattr(services, "COUNT_LIMIT", 100)
    assert "25 signatures" in client.get("/register").get_data(as_text=True)


@pytest.mark.skipif(not os.environ.get("GOVFLOW_TEST_DATABASE_URL"), reason="EXPLAIN is read on PostgreSQL (make test-postgres)")
@pytest.mark.parametrize(
    "filters, index",
    [
        (RegisterFilters(), "ix_signatures_signed_at_id"),
        (RegisterFilters(charter="occitanie-data-ethics"), "ix_signatures_charter_signed_at"),
        (RegisterFilters(kind="school"), "ix_organisations_kind"),
        (RegisterFilters(pillar="faire"), "ix_commitments_pillar"),
    ],
)
def test_the_order_and_each_filter_are_read_from_an_index(app, make_user, filters, index):
    """Each filter selective, as real ones are (a few schools, a few signatories of a charter among thousands): the
    planner then reads the filter's index rather than walking the whole register in order."""
    make_user()
    seed(app, 2000, 1, "Planned")
    with app.app_context():
        db.session.execute(sa.text("UPDATE organisations SET kind = CASE WHEN id % 500 = 0 THEN 'school' ELSE 'company' END"))
        db.session.execute(sa.text("UPDATE signatures SET charter = 'occitanie-data-ethics' WHERE id % 400 = 0"))
        db.session.execute(sa.text("UPDATE commitments SET pillar = CASE WHEN id % 300 = 0 THEN 'faire' ELSE 'communiquer' END"))
        db.session.commit()
        query = services._signatures_query(filters).order_by(services.Signature.signed_at.desc(), services.Signature.id.desc()).limit(21)
        sql = str(query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
        with db.engine.connect() as conn:
            conn.execute(sa.text("ANALYZE"))
            plan = "\n".join(row[0] for row in conn.execute(sa.text("EXPLAIN " + sql)))
    assert index in plan, plan
    assert "Seq Scan" not in plan, plan  # no table read whole: a sort, if any, is of the few rows the index found
