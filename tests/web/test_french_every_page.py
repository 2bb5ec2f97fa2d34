"""Every page, read in French by each kind of person it lets through, shows no English source string: none of the
sentences of the translation catalog appears untranslated (a lazy string read at import time, a label kept from a
stored English text, a sentence formatted before the language was known...). Issue #15, item 6.

The pages are every GET route of the route matrix (``matrix_routes.CASES``), as the first person each lets through;
what is checked is the text a reader sees or hears: the page's text, and its labels, titles, placeholders and
alternative texts. People's own words (titles, names, dossiers) are not in the catalog, so they never match."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from ..conftest import login
from .matrix_routes import CASES
from .matrix_world import EMAILS, PERSONAS, build_world

pytestmark = pytest.mark.slow

CATALOG = Path(__file__).resolve().parents[2] / "govflow" / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")
SPOKEN_ATTRIBUTES = ("aria-label", "title", "placeholder", "alt")


def english_fragments() -> dict[str, str]:
    """The fixed parts (at least 14 characters, with a space) of every catalog sentence whose French differs, mapped
    to the sentence they come from; a part that the French also contains (a URL, a name) is left out."""
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    out: dict[str, str] = {}
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        french = " ".join(message.string) if isinstance(message.string, tuple) else message.string
        for source in ids:
            if source == french:
                continue
            for part in PLACEHOLDER.split(source):
                part = part.strip(" .:;,—–-()")
                if len(part) >= 14 and " " in part and re.search(r"[a-z]{3}", part) and part not in french:
                    out.setdefault(part, source)
    return out


class _Reader(HTMLParser):
    """The text a reader of the page meets: text outside scripts and styles, and the spoken attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in SPOKEN_ATTRIBUTES and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def readable_text(html: str) -> str:
    reader = _Reader()
    reader.feed(html)
    return re.sub(r"\s+", " ", " ".join(reader.parts))


def _pages() -> list[tuple[str, str, str]]:
    """(endpoint, address template, persona) for every GET case a person is let through."""
    pages = []
    for endpoint, method, template, _data, _state, expected in CASES:
        if method == "get" and "A" in expected:
            pages.append((endpoint, template, PERSONAS[expected.index("A")]))
    return pages


def test_the_catalog_check_finds_an_english_sentence_left_on_a_page():
    fragments = english_fragments()
    assert "There is no step you can take on this item now" in fragments or len(fragments) > 200
    page = "<p>Vous êtes connecté·e.</p><button aria-label='Remove row 2 of Work axes of every roadmap'>x</button>"
    assert any(part in readable_text(page) for part in fragments), "an English label read aloud is found"


def test_every_page_in_french_shows_no_english_source_string(app):
    world = build_world(app)
    fragments = english_fragments()
    clients: dict[str, object] = {}
    found: list[str] = []
    for endpoint, template, persona in _pages():
        client = clients.get(persona)
        if client is None:
            client = clients[persona] = app.test_client()
            if persona != "anonymous":
                login(client, EMAILS[persona])
            client.post("/lang", data={"lang": "fr"})
        response = client.get(template.format(**vars(world)))
        if not response.headers.get("Content-Type", "").startswith("text/html"):
            response.close()
            continue
        text = readable_text(response.get_data(as_text=True))
        for part, source in fragments.items():
            if part in text:
                found.append(f"{endpoint} ({template}, as {persona}): {source!r}")
    assert not found, "English left on French pages:\n" + "\n".join(sorted(set(found)))
