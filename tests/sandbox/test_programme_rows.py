"""A programme's eligibility criteria, selection grid and work axes are typed as rows (English, French, and a weight
for the grid), added and removed with plain buttons that work without JavaScript; they used to be typed as
``English | French | weight`` lines in a text box (issue #15: structured data typed as text)."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from govflow.extensions import db
from govflow.sandbox.models import Programme

from ..conftest import login
from .common import build
from .test_refusals import PROGRAMME_FORM

# The programme form's single fields (its rows are below).
BASE = {k: v for k, v in PROGRAMME_FORM.items() if k.split("-")[0] not in ("eligibility", "grid", "axes")}
ROWS = {
    "eligibility-0-en": "Not in production yet",
    "eligibility-0-fr": "Pas encore en production",
    "eligibility-1-en": "",
    "eligibility-1-fr": "",
    "grid-0-en": "Public benefit",
    "grid-0-fr": "Intérêt public",
    "grid-0-weight": "3",
    "grid-1-en": "Data-protection stakes",
    "grid-1-fr": "Enjeux de protection des données",
    "grid-1-weight": "2",
    "axes-0-en": "Lawful collection",
    "axes-0-fr": "Collecte licite",
}


def _programmes(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Programme))


def _value(page: str, name: str) -> str | None:
    found = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', page)
    if not found:
        return None
    value = re.search(r'value="([^"]*)"', found.group(0))
    return html.unescape(value.group(1)) if value else ""


def test_a_new_programme_offers_rows_to_fill_not_a_text_box_of_lines(app, client):
    build(app)
    login(client, "manager@test.example")
    page = client.get("/programmes/new").get_data(as_text=True)
    assert 'name="eligibility"' not in page and "English | French" not in page
    for name in ("eligibility-1-en", "eligibility-1-fr", "grid-2-weight", "axes-3-fr"):
        assert _value(page, name) == "", name
    assert 'name="add_row" value="grid"' in page and 'name="remove_row" value="axes-3"' in page


def test_adding_a_row_keeps_what_was_typed_and_saves_nothing(app, client):
    build(app)
    before = _programmes(app)
    login(client, "manager@test.example")
    response = client.post("/programmes/new", data=BASE | ROWS | {"add_row": "grid"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _value(page, "grid-2-en") == "" and _value(page, "grid-1-fr") == "Enjeux de protection des données"
    assert _value(page, "theme_fr") == "Données de santé"
    assert _programmes(app) == before


def test_removing_a_row_moves_the_next_ones_up_and_saves_nothing(app, client):
    build(app)
    before = _programmes(app)
    login(client, "manager@test.example")
    response = client.post("/programmes/new", data=BASE | ROWS | {"remove_row": "grid-0"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _value(page, "grid-0-en") == "Data-protection stakes" and _value(page, "grid-0-weight") == "2"
    assert _value(page, "grid-1-en") is None
    assert _programmes(app) == before


def test_rows_are_saved_as_typed_and_empty_rows_are_left_out(app, client):
    build(app)
    login(client, "manager@test.example")
    response = client.post("/programmes/new", data=BASE | ROWS)
    assert response.status_code == 302, response.get_data(as_text=True)[-800:]
    with app.app_context():
        programme = db.session.scalars(sa.select(Programme).order_by(Programme.id.desc())).first()
        assert [c["title"] for c in programme.eligibility] == [{"en": "Not in production yet", "fr": "Pas encore en production"}]
        assert [(c["title"]["en"], c["weight"]) for c in programme.grid] == [("Public benefit", 3), ("Data-protection stakes", 2)]
        assert [a["title"]["fr"] for a in programme.axes_template] == ["Collecte licite"]
        programme_id = programme.id
    page = client.get(f"/programmes/{programme_id}/edit").get_data(as_text=True)
    assert _value(page, "grid-1-weight") == "2" and _value(page, "axes-0-en") == "Lawful collection"


def test_a_row_missing_its_weight_is_refused_under_the_grid_with_every_row_kept(app, client):
    build(app)
    before = _programmes(app)
    login(client, "manager@test.example")
    response = client.post("/programmes/new", data=BASE | ROWS | {"grid-1-weight": ""})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    under = re.search(r'<span class="field-error" id="grid-error">([^<]*)</span>', page)
    assert under and "Selection grid, row 2: the weight is a whole number from 1 to 100." in under.group(1)
    assert _value(page, "grid-1-en") == "Data-protection stakes" and _value(page, "eligibility-0-fr") == "Pas encore en production"
    assert _programmes(app) == before


def test_a_row_with_one_language_only_is_refused_under_its_list(app, client):
    build(app)
    before = _programmes(app)
    login(client, "manager@test.example")
    response = client.post("/programmes/new", data=BASE | ROWS | {"axes-1-en": "Anonymisation", "axes-1-fr": ""})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert re.search(r'id="axes-error">Work axes, row 2: write the text in English and in French.<', page)
    assert _programmes(app) == before
