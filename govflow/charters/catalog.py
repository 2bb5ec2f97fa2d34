"""The charters loaded from workflows/charters/ (every version stays loaded), and their records in the database."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from ..config import PROJECT_ROOT
from ..engine import EngineError
from ..extensions import db
from ..i18n import tr
from .definitions import CharterDef, load_charters
from .models import CharterRecord


class CharterChanged(EngineError):
    """A registered charter version was edited in place (publish a new version instead)."""

    status = 409


@dataclass
class CharterCatalog:
    """Every loaded charter version, by slug and version."""

    charters: dict[tuple[str, int], CharterDef] = field(default_factory=dict)

    def add(self, charter: CharterDef) -> None:
        """Make ``charter`` available."""
        self.charters[(charter.slug, charter.version)] = charter

    def get(self, slug: str, version: int | None = None) -> CharterDef | None:
        """A charter version (the latest when ``version`` is None), or None."""
        if version is None:
            versions = self.versions(slug)
            return self.charters[(slug, versions[-1])] if versions else None
        return self.charters.get((slug, version))

    def versions(self, slug: str) -> list[int]:
        """Loaded versions of ``slug``, ascending."""
        return sorted(v for (s, v) in self.charters if s == slug)

    def latest_all(self) -> list[CharterDef]:
        """The latest version of every charter, by English title."""
        slugs = sorted({s for s, _ in self.charters})
        return sorted((self.get(s) for s in slugs), key=lambda c: c.title["en"])


def load_catalog(paths: list[str | Path], base: Path | None = None) -> CharterCatalog:
    """Load every charter file under ``paths``; raise DefinitionError listing every problem."""
    catalog = CharterCatalog()
    for charter in load_charters(paths, base=base):
        catalog.add(charter)
    return catalog


def get_catalog() -> CharterCatalog:
    """The charter catalogue of the current app."""
    return current_app.extensions["govflow.charters"]


def _charter(charter: CharterDef | str | None, version: int | None) -> CharterDef | None:
    return charter if isinstance(charter, CharterDef) or charter is None else get_catalog().get(charter, version)


def charter_title(charter: CharterDef | str | None, version: int | None = None) -> str:
    """A charter's title in the current language (``charter`` is a CharterDef, or a slug with its version); the
    slug when no such charter is loaded. Templates use it as the ``charter_title`` filter: people read titles, not slugs."""
    found = _charter(charter, version)
    return tr(found.title) if found is not None else str(charter or "")


def item_title(key: str, charter: CharterDef | str | None, version: int | None = None) -> str:
    """The title, in the current language, of pillar or theme ``key`` of a charter (a CharterDef, or a slug with its
    version), with its code when it has one; the key itself when the charter has no such item. Templates use it as
    the ``item_title`` filter (``c.pillar|item_title(c.charter, c.charter_version)``): people read titles, not keys."""
    found = _charter(charter, version)
    item = found.item(key) if found is not None else None
    if item is None:
        return key
    return f"{item.code} — {tr(item.title)}" if item.code else tr(item.title)


def _digest(charter: CharterDef) -> str:
    path = Path(charter.file)
    return hashlib.sha256((path if path.is_absolute() else PROJECT_ROOT / path).read_bytes()).hexdigest()


def ensure_charter_registered(charter: CharterDef) -> None:
    """Record ``charter`` in the database if needed; refuse a registered version whose file changed."""
    record = db.session.get(CharterRecord, (charter.slug, charter.version))
    digest = _digest(charter)
    if record is None:
        db.session.add(CharterRecord(slug=charter.slug, version=charter.version, sha256=digest, file=charter.file))
        db.session.flush()
    elif record.sha256 != digest:
        raise CharterChanged(
            f"{charter.file}: charter '{charter.slug}' version {charter.version} differs from the registered one; "
            f"publish the change as version {charter.version + 1}"
        )


def register_all() -> list[tuple[CharterDef, str]]:
    """Register every loaded charter version (idempotent); return (charter, 'new'|'unchanged')."""
    known = {(r.slug, r.version) for r in db.session.scalars(sa.select(CharterRecord))}
    out = []
    for charter in sorted(get_catalog().charters.values(), key=lambda c: (c.slug, c.version)):
        ensure_charter_registered(charter)
        out.append((charter, "unchanged" if (charter.slug, charter.version) in known else "new"))
    return out
