"""One pattern for every refused form, in every domain (govflow.actions): the page the form came from again, the
sentence beside its field, the typed values kept. The check below reads every view module, so that a new route cannot
fall back to a bare error page that loses what the user typed."""

from __future__ import annotations

import ast
import html
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VIEW_MODULES = sorted((ROOT / "govflow").glob("*/views.py"))


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            yield name, node


@pytest.mark.parametrize("module", VIEW_MODULES, ids=lambda p: p.parent.name)
def test_no_view_answers_a_refused_form_with_a_bare_error_page(module):
    """``error_page`` loses the page and the typed values: views answer refusals with ``refused``/``act(page=...)``;
    access refusals stay ``abort(403)`` (the wrong person has no form to keep)."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    offenders = []
    for name, call in _calls(tree):
        if name in {"error_page", "_refused_page"}:
            offenders.append(f"{module.relative_to(ROOT)}:{call.lineno}: {name}(...)")
        if name in {"act", "_act"} and not any(k.arg == "page" for k in call.keywords):
            offenders.append(f"{module.relative_to(ROOT)}:{call.lineno}: {name}(...) without page=")
    assert not offenders, "refusals must be answered in place:\n" + "\n".join(offenders)


def test_an_error_page_says_it_once_under_a_heading_people_read_with_a_way_back(client):
    response = client.get("/no-such-page", headers={"Referer": "http://localhost/register?status=verified"})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in page and 'data-error-status="404"' in page and "Error 404" not in page
    assert page.count("This page does not exist.") == 1
    assert 'href="http://localhost/register?status=verified" data-testid="back"' in page
    elsewhere = client.get("/no-such-page", headers={"Referer": "https://elsewhere.example/"}).get_data(as_text=True)
    assert "elsewhere.example" not in elsewhere and 'data-testid="back"' not in elsewhere
