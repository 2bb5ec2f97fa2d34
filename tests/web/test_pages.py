"""Health check, languages, error pages and commitment registration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from govflow.extensions import db

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_answers_json_with_the_database_status(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["database"] == "ok" and response.json["status"] == "ok"


def test_healthz_reports_an_unreachable_database_with_503(tmp_path):
    from govflow import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/db.sqlite3", "TESTING": True}, instance_path=str(tmp_path / "instance"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unavailable"
    with app.app_context():
        db.engine.dispose()


def test_the_interface_switches_to_french_and_back(client):
    assert "Sign in" in client.get("/login").get_data(as_text=True)
    client.post("/lang", data={"lang": "fr", "next": "/login"})
    page = client.get("/login").get_data(as_text=True)
    assert 'lang="fr"' in page and "Se connecter" in page
    client.post("/lang", data={"lang": "en"})
    assert "Sign in" in client.get("/login").get_data(as_text=True)


def test_the_browser_language_is_used_when_nothing_was_chosen(client):
    page = client.get("/workflows", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_data(as_text=True)
    assert "Engagement au titre d&#39;une charte" in page
    assert "Charter commitment" in client.get("/workflows").get_data(as_text=True)


def test_every_translatable_text_has_a_french_translation(tmp_path):
    from babel.messages.pofile import read_po

    catalog_path = ROOT / "govflow" / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
    with catalog_path.open("rb") as fh:
        catalog = read_po(fh)
    missing = [m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    assert missing == []
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert fuzzy == []
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l", "-o", str(pot), "."],
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    with pot.open("rb") as fh:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    have = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    assert sorted(wanted - have) == [], "run `make translations` and translate the new texts"


def test_an_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "This page does not exist." in response.get_data(as_text=True)
    json = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert json.status_code == 404 and json.json["error"] == "This page does not exist."


def test_the_public_menu_has_no_developer_pages(client, make_user):
    import re

    def menu_and_footer(page: str) -> tuple[str, str]:
        menu = page.split('<nav aria-label="Main navigation">', 1)[1].split("</nav>", 1)[0]
        return menu, page.split("<footer>", 1)[1].split("</footer>", 1)[0]

    menu, footer = menu_and_footer(client.get("/charters").get_data(as_text=True))
    links = re.findall(r'href="([^"]+)"', menu)
    assert "/register" in links and "/charters" in links
    assert not [link for link in links if link.startswith(("/workflows", "/healthz"))], links
    assert "Workflows" not in menu
    assert 'href="/workflows"' in footer  # the definitions stay reachable, for developers, from the footer
    user = make_user()
    client.post("/login", data={"email": user.email, "password": "govflow-demo"})
    menu, _ = menu_and_footer(client.get("/charters").get_data(as_text=True))
    assert "/workflows" not in menu and "/dashboard" in menu
    client.post("/lang", data={"lang": "fr"})
    menu, _ = menu_and_footer(client.get("/charters").get_data(as_text=True).replace('aria-label="Navigation principale"', 'aria-label="Main navigation"'))
    assert "/workflows" not in menu and "Procédures" not in menu
    page = client.get("/workflows").get_data(as_text=True)
    assert page.count('<div class="table-scroll">') == 1
    definition = client.get("/workflows/commitment").get_data(as_text=True)
    assert definition.count('<div class="table-scroll" tabindex="0" role="region"') == 2
