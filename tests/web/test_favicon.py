"""The favicon: an SVG linked from every page, and /favicon.ico answered with it rather than a 404."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from govflow.config import PROJECT_ROOT

SVG = PROJECT_ROOT / "govflow" / "static" / "favicon.svg"


def test_the_favicon_is_a_small_svg_in_the_accent_colour():
    root = ET.fromstring(SVG.read_text(encoding="utf-8"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    accent = re.search(r"--accent:\s*(#[0-9a-f]{6})", (PROJECT_ROOT / "govflow" / "static" / "govflow.css").read_text()).group(1)
    assert accent in SVG.read_text() and SVG.stat().st_size < 1024


def test_pages_link_the_svg_favicon_and_it_is_served(client):
    for url in ("/", "/login", "/register"):
        page = client.get(url).get_data(as_text=True)
        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page, url
    served = client.get("/static/favicon.svg")
    try:
        assert served.status_code == 200 and served.mimetype == "image/svg+xml" and served.data == SVG.read_bytes()
    finally:
        served.close()  # a static file is streamed from an open file


def test_favicon_ico_answers_with_the_svg_instead_of_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.data == SVG.read_bytes()
    assert response.headers["X-Content-Type-Options"] == "nosniff"  # browsers take it for what it says it is
