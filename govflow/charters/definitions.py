"""Charters as data: one YAML file per charter version, validated with ``file:line: message`` problems.

A charter (a manifesto, a data-ethics charter, a self-assessment framework) is described by one YAML file per
version under ``workflows/charters/``, by convention named ``<slug>.v<version>.yaml``. Adding a charter, or a new
version of one, is adding a file: no code changes. This module only reads and checks those files; it imports
neither Flask nor SQLAlchemy nor any govflow module outside the engine.

The schema::

    charter: numeum-ethical-ai      # slug: lower-case letters, digits and dashes, starting with a letter
    version: 1                      # whole number, 1 or more; each version is its own file
    title: {en: ..., fr: ...}       # every text is given in English and in French, neither may be empty
    summary: {en: ..., fr: ...}
    publisher: Numeum               # who publishes the charter
    source: https://...             # link to the public source (http or https)
    source_label: {en: ..., fr: ...}
    pillars:                        # at least one: what a signatory accepts and commits under
      - key: faire                  # lower-case identifier, unique across pillars and themes
        code: FAIRE                 # optional short display code
        title: {en: ..., fr: ...}
        text: {en: ..., fr: ...}
    themes:                         # optional: the questions of the yearly self-assessment
      - key: loyalty
        code: T1                    # optional
        title: {en: ..., fr: ...}
        text: {en: ..., fr: ...}
    targets:                        # optional: measurable targets
      - key: answer_time            # lower-case identifier, unique among targets
        title: {en: ..., fr: ...}
        text: {en: ..., fr: ...}
        duration: PT72H             # optional ISO-8601 duration
    migration:                      # required from version 2 on, forbidden in version 1
      from_version: 1               # an earlier version of the same charter, loaded alongside
      items:                        # every pillar and theme of this version, exactly once
        faire: carry                # same key in the old version
        communiquer: {from: communicate_old}   # takes over another item of the old version
        new_item: blank             # new: nothing to take over (``{blank: true}`` works too)

``parse_charter`` checks one file on its own; ``load_charters`` loads files and folders and also checks what
needs several files: a (slug, version) defined twice, a migration from a version that is not loaded, and a
migration naming an item the old version does not have. Every problem is collected, never only the first one.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from govflow.engine.definitions import definition_files, read_files
from govflow.engine.durations import Duration, parse_duration
from govflow.engine.errors import DefinitionError, Problem
from govflow.engine.yamlload import LineDict, LineList, load_yaml

LANGUAGES = ("en", "fr")
SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_CODE_LENGTH = 32
PILLAR = "pillar"
THEME = "theme"
CARRY = "carry"
FROM = "from"
BLANK = "blank"

TOP_KEYS = {"charter", "version", "title", "summary", "publisher", "source", "source_label", "pillars", "themes", "targets", "migration"}
ITEM_KEYS = {"key", "code", "title", "text"}
TARGET_KEYS = {"key", "title", "text", "duration"}
MIGRATION_KEYS = {"from_version", "items"}
MIGRATION_ITEM_KEYS = {CARRY, FROM, BLANK}


@dataclass(frozen=True)
class Item:
    """A pillar (what a signatory commits under) or a theme (a question of the self-assessment)."""

    key: str
    kind: str
    code: str | None
    title: dict[str, str]
    text: dict[str, str]
    line: int = 0

    def label(self, lang: str) -> str:
        """The title in ``lang`` (English when missing)."""
        return self.title.get(lang) or self.title["en"]


@dataclass(frozen=True)
class Target:
    """A measurable target set by the charter, such as a maximum answer time."""

    key: str
    title: dict[str, str]
    text: dict[str, str]
    duration_text: str | None
    duration: Duration | None
    line: int = 0

    def label(self, lang: str) -> str:
        """The title in ``lang`` (English when missing)."""
        return self.title.get(lang) or self.title["en"]


@dataclass(frozen=True)
class ItemMigration:
    """Where one item of a new version comes from: ``carry`` (same key), ``from`` (another key) or ``blank``."""

    key: str
    mode: str
    source: str | None
    line: int = 0


@dataclass(frozen=True)
class Migration:
    """How a version takes over the items of an earlier version of the same charter."""

    from_version: int
    items: dict[str, ItemMigration]
    line: int = 0


@dataclass(frozen=True)
class CharterDef:
    """One validated version of a charter."""

    slug: str
    version: int
    title: dict[str, str]
    summary: dict[str, str]
    publisher: str
    source_url: str
    source_label: dict[str, str]
    pillars: list[Item]
    themes: list[Item]
    targets: list[Target]
    migration: Migration | None
    file: str = "<memory>"
    line: int = 1
    source_text: str = field(default="", repr=False, compare=False)

    @property
    def key(self) -> tuple[str, int]:
        """(slug, version): what a signature pins."""
        return (self.slug, self.version)

    def items(self) -> list[Item]:
        """Every pillar, then every theme, in file order."""
        return [*self.pillars, *self.themes]

    def item(self, key: str) -> Item | None:
        """The pillar or theme called ``key``, or None."""
        return next((i for i in self.items() if i.key == key), None)

    def target(self, key: str) -> Target | None:
        """The target called ``key``, or None."""
        return next((t for t in self.targets if t.key == key), None)

    def pillar_keys(self) -> list[str]:
        """The keys of the pillars, in file order."""
        return [p.key for p in self.pillars]

    def theme_keys(self) -> list[str]:
        """The keys of the themes, in file order."""
        return [t.key for t in self.themes]

    def label(self, lang: str) -> str:
        """The title in ``lang`` (English when missing)."""
        return self.title.get(lang) or self.title["en"]


def _empty(line: int) -> LineDict:
    mapping = LineDict()
    mapping.line, mapping.key_lines = line, {}
    return mapping


def _whole_number(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Parser:
    """Reads one parsed YAML document into a CharterDef, collecting every problem."""

    def __init__(self, file: str, problems: list[Problem]):
        self.file = file
        self.problems = problems

    def err(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    def unknown_keys(self, mapping: LineDict, allowed: set[str], where: str) -> None:
        for key in mapping:
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            self.err(mapping.line_of(key), f"unknown key '{key}' in {where} (expected one of: {', '.join(sorted(allowed))}){hint}")

    def texts(self, mapping: LineDict, key: str, where: str) -> dict[str, str]:
        value = mapping.get(key)
        line = mapping.line_of(key)
        if value is None:
            self.err(line, f"{where} needs a '{key}' with English and French texts (en, fr)")
            return {}
        if not isinstance(value, LineDict):
            self.err(line, f"'{key}' of {where} must be a mapping with 'en' and 'fr' texts")
            return {}
        out = {}
        for lang in LANGUAGES:
            text = value.get(lang)
            if not isinstance(text, str) or not text.strip():
                self.err(value.line_of(lang) if lang in value else line, f"'{key}' of {where} has no '{lang}' text")
            else:
                out[lang] = text.strip()
        for lang in value:
            if lang not in LANGUAGES:
                self.err(value.line_of(lang), f"'{key}' of {where} has an unsupported language '{lang}' (use en and fr)")
        return out

    def parse(self, doc) -> CharterDef | None:
        if not isinstance(doc, LineDict):
            required = "charter, version, title, summary, publisher, source, source_label and pillars"
            self.err(getattr(doc, "line", 1), f"a charter file must be a mapping with {required}")
            return None
        self.unknown_keys(doc, TOP_KEYS, "the charter")
        slug = doc.get("charter")
        if slug is None:
            self.err(doc.line, "the charter needs a 'charter' slug such as 'numeum-ethical-ai'")
            slug = "?"
        elif not isinstance(slug, str) or not SLUG_RE.match(slug):
            rule = "lower-case letters, digits and dashes, starting with a letter, as in 'numeum-ethical-ai'"
            self.err(doc.line_of("charter"), f"the slug '{slug}' must be made of {rule}")
            slug = "?"
        version = doc.get("version")
        if not _whole_number(version) or version < 1:
            shown = "missing" if version is None else f"'{version}'"
            self.err(doc.line_of("version"), f"'version' must be a whole number of 1 or more (it is {shown})")
            version = 0
        title = self.texts(doc, "title", "the charter")
        summary = self.texts(doc, "summary", "the charter")
        publisher = doc.get("publisher")
        if not isinstance(publisher, str) or not publisher.strip():
            self.err(doc.line_of("publisher"), "the charter needs a 'publisher': the name of who publishes it")
            publisher = ""
        source_url = self.parse_source(doc)
        source_label = self.texts(doc, "source_label", "the charter")

        seen: dict[str, int] = {}
        pillars = self.parse_items(doc, "pillars", PILLAR, seen, required=True)
        themes = self.parse_items(doc, "themes", THEME, seen, required=False)
        targets = self.parse_targets(doc)
        migration = self.parse_migration(doc, version, pillars, themes)
        return CharterDef(
            slug=slug,
            version=version,
            title=title,
            summary=summary,
            publisher=publisher.strip(),
            source_url=source_url,
            source_label=source_label,
            pillars=pillars,
            themes=themes,
            targets=targets,
            migration=migration,
            file=self.file,
            line=doc.line_of("version"),
        )

    def parse_source(self, doc: LineDict) -> str:
        value = doc.get("source")
        line = doc.line_of("source")
        if value is None:
            self.err(line, "the charter needs a 'source': a link (http or https) to its public text")
            return ""
        parts = urlsplit(value) if isinstance(value, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
            self.err(line, f"'source' must be a web link starting with http:// or https:// (it is '{value}')")
            return ""
        return value

    def parse_items(self, doc: LineDict, key: str, kind: str, seen: dict[str, int], required: bool) -> list[Item]:
        raw = doc.get(key)
        line = doc.line_of(key)
        if raw is None:
            if required:
                self.err(line, f"the charter needs '{key}': a list with at least one {kind}")
            return []
        if not isinstance(raw, LineList):
            self.err(line, f"'{key}' must be a list of {kind}s, each with key, title and text")
            return []
        if required and not raw:
            self.err(line, f"'{key}' must list at least one {kind}")
        out: list[Item] = []
        for i, body in enumerate(raw):
            item_line = raw.line_of(i)
            if not isinstance(body, LineDict):
                self.err(item_line, f"each of the {key} must be a mapping with key, title and text")
                continue
            item_key = body.get("key")
            if not isinstance(item_key, str) or not KEY_RE.match(item_key):
                self.err(body.line_of("key"), self.bad_key(kind, i, item_key, "general_interest"))
                where = f"{kind} number {i + 1}"
                item_key = None
            else:
                where = f"{kind} '{item_key}'"
                if item_key in seen:
                    first = seen[item_key]
                    self.err(body.line_of("key"), f"the key '{item_key}' is used twice (first on line {first}); keys must be unique across pillars and themes")
                else:
                    seen[item_key] = body.line_of("key")
            self.unknown_keys(body, ITEM_KEYS, where)
            code = self.parse_code(body, where)
            title = self.texts(body, "title", where)
            text = self.texts(body, "text", where)
            if item_key is not None:
                out.append(Item(item_key, kind, code, title, text, item_line))
        return out

    @staticmethod
    def bad_key(kind: str, index: int, key, example: str) -> str:
        rule = f"a lower-case identifier (letters, digits, underscores) such as '{example}'"
        if key is None:
            return f"{kind} number {index + 1} needs a 'key': {rule}"
        return f"the key '{key}' of {kind} number {index + 1} must be {rule}"

    def parse_code(self, body: LineDict, where: str) -> str | None:
        if "code" not in body:
            return None
        code = body["code"]
        if not isinstance(code, str):
            self.err(body.line_of("code"), f"'code' of {where} must be text (put it in quotes if it looks like a number)")
            return None
        code = code.strip()
        if not code or len(code) > MAX_CODE_LENGTH or "\n" in code:
            self.err(body.line_of("code"), f"'code' of {where} must be a short label on one line (at most {MAX_CODE_LENGTH} characters)")
            return None
        return code

    def parse_targets(self, doc: LineDict) -> list[Target]:
        raw = doc.get("targets")
        if raw is None:
            return []
        if not isinstance(raw, LineList):
            self.err(doc.line_of("targets"), "'targets' must be a list of targets, each with key, title and text")
            return []
        out: list[Target] = []
        seen: dict[str, int] = {}
        for i, body in enumerate(raw):
            if not isinstance(body, LineDict):
                self.err(raw.line_of(i), "each of the targets must be a mapping with key, title and text")
                continue
            key = body.get("key")
            if not isinstance(key, str) or not KEY_RE.match(key):
                self.err(body.line_of("key"), self.bad_key("target", i, key, "answer_time"))
                where = f"target number {i + 1}"
                key = None
            else:
                where = f"target '{key}'"
                if key in seen:
                    self.err(body.line_of("key"), f"the target key '{key}' is used twice (first on line {seen[key]})")
                else:
                    seen[key] = body.line_of("key")
            self.unknown_keys(body, TARGET_KEYS, where)
            title = self.texts(body, "title", where)
            text = self.texts(body, "text", where)
            duration_text = body.get("duration")
            duration = None
            if duration_text is not None:
                try:
                    duration = parse_duration(duration_text)
                except ValueError as exc:
                    self.err(body.line_of("duration"), f"bad duration in {where}: {exc}")
                    duration_text = None
            if key is not None:
                out.append(Target(key, title, text, duration_text, duration, raw.line_of(i)))
        return out

    def parse_migration(self, doc: LineDict, version: int, pillars: list[Item], themes: list[Item]) -> Migration | None:
        raw = doc.get("migration")
        line = doc.line_of("migration")
        if version == 1 and "migration" in doc:
            self.err(line, "version 1 is the first version of a charter: it cannot have a 'migration' table")
            return None
        if raw is None:
            if "migration" in doc:
                self.err(line, "'migration' is empty: give 'from_version' and 'items'")
            elif version >= 2:
                self.err(
                    doc.line_of("version"),
                    f"version {version} needs a 'migration' table saying where each pillar and theme comes from in an earlier version",
                )
            return None
        if not isinstance(raw, LineDict):
            self.err(line, "'migration' must be a mapping with 'from_version' and 'items'")
            return None
        self.unknown_keys(raw, MIGRATION_KEYS, "the migration table")
        from_version = raw.get("from_version")
        from_line = raw.line_of("from_version")
        if not _whole_number(from_version) or from_version < 1:
            self.err(from_line, "'from_version' of the migration table must be a whole number of 1 or more")
            from_version = None
        elif version and from_version >= version:
            self.err(from_line, f"'from_version' ({from_version}) must be an earlier version than this one ({version})")
            from_version = None

        items_raw = raw.get("items")
        items_line = raw.line_of("items")
        if items_raw is None:
            self.err(items_line, "the migration table needs 'items': one line per pillar and theme (carry, {from: old_key} or blank)")
            return None
        if not isinstance(items_raw, LineDict):
            self.err(items_line, "'items' of the migration table must map each pillar and theme key to carry, {from: old_key} or blank")
            return None
        current = {i.key: i for i in [*pillars, *themes]}
        items: dict[str, ItemMigration] = {}
        for key, value in items_raw.items():
            item_line = items_raw.line_of(key)
            if key not in current:
                self.err(item_line, f"the migration table names '{key}', which is neither a pillar nor a theme of this version")
            entry = self.migration_entry(key, value, item_line)
            if entry is not None and key in current:
                items[key] = entry
        for key, item in current.items():
            if key not in items_raw:
                self.err(items_line, f"the migration table does not say where {item.kind} '{key}' comes from (carry, {{from: old_key}} or blank)")
        if from_version is None:
            return None
        return Migration(from_version, items, from_line)

    def migration_entry(self, key: str, value, line: int) -> ItemMigration | None:
        bad = f"'{key}' in the migration table must be carry, blank or {{from: old_key}}"
        if value == CARRY:
            return ItemMigration(key, CARRY, key, line)
        if value == BLANK:
            return ItemMigration(key, BLANK, None, line)
        if not isinstance(value, LineDict):
            self.err(line, f"{bad} (it is '{value}')")
            return None
        self.unknown_keys(value, MIGRATION_ITEM_KEYS, f"the migration of '{key}'")
        given = [k for k in (CARRY, FROM, BLANK) if k in value]
        if len(given) != 1:
            self.err(line, bad + (" (give only one of them)" if given else ""))
            return None
        mode = given[0]
        if mode == FROM:
            source = value[FROM]
            if not isinstance(source, str) or not KEY_RE.match(source):
                self.err(value.line_of(FROM), f"'from' of '{key}' in the migration table must name an item key of the earlier version")
                return None
            return ItemMigration(key, FROM, source, line)
        if value[mode] is not True:
            self.err(value.line_of(mode), f"'{mode}' of '{key}' in the migration table must be true")
            return None
        return ItemMigration(key, mode, key if mode == CARRY else None, line)


def _parse(text: str, file: str) -> tuple[CharterDef | None, list[Problem]]:
    """Parse one file; the charter may be incomplete when problems were found (for the cross-file checks)."""
    problems: list[Problem] = []
    doc = load_yaml(text, file, problems)
    if doc is None and not problems:
        problems.append(Problem(file, 1, "the file is empty"))
    if doc is None:
        return None, problems
    charter = _Parser(file, problems).parse(doc)
    if charter is not None:
        charter = replace(charter, source_text=text)
    return charter, sorted(problems, key=lambda p: p.line)


def parse_charter(text: str, file: str) -> tuple[CharterDef | None, list[Problem]]:
    """Parse and validate one charter file; return it (None when invalid) and every problem found."""
    charter, problems = _parse(text, file)
    return (None, problems) if problems else (charter, [])


def charter_files(paths: list[str | Path]) -> list[Path]:
    """Expand files and folders into the YAML files they hold (folders: their top-level *.yaml)."""
    return definition_files(paths)


def load_charters(paths: list[str | Path], base: Path | None = None) -> list[CharterDef]:
    """Load every charter file under ``paths``; raise DefinitionError listing every problem of every file.

    Besides each file's own checks, this refuses the same (slug, version) twice, a migration from a version
    that is not loaded, and a migration naming an item the earlier version does not have.
    """
    problems: list[Problem] = []
    found: list[CharterDef] = []
    incomplete: list[CharterDef] = []
    where: dict[tuple[str, int], CharterDef] = {}
    for shown, text in read_files(paths, base, problems):
        charter, found_problems = _parse(text, shown)
        problems.extend(found_problems)
        if charter is None:
            continue
        if found_problems:
            # Still check its migration table against the versions that did load, so that one run shows everything.
            incomplete.append(charter)
            continue
        if charter.key in where:
            problems.append(Problem(shown, charter.line, f"charter '{charter.slug}' version {charter.version} is already defined in {where[charter.key].file}"))
            continue
        where[charter.key] = charter
        found.append(charter)
    for charter in [*found, *incomplete]:
        problems.extend(_migration_problems(charter, where))
    if problems:
        raise DefinitionError(sorted(problems, key=lambda p: (p.file, p.line)))
    return sorted(found, key=lambda c: c.key)


def _migration_problems(charter: CharterDef, loaded: dict[tuple[str, int], CharterDef]) -> list[Problem]:
    migration = charter.migration
    if migration is None or not SLUG_RE.match(charter.slug) or charter.version < 2:
        return []
    old = loaded.get((charter.slug, migration.from_version))
    if old is None:
        return [
            Problem(
                charter.file,
                migration.line,
                f"version {charter.version} of '{charter.slug}' migrates from version {migration.from_version}, "
                "which is not loaded (add its file to the check, or fix the problems in it)",
            )
        ]
    out = []
    for entry in migration.items.values():
        if entry.mode == BLANK:
            continue
        new = charter.item(entry.key)
        source = old.item(entry.source)
        how = "carries over" if entry.mode == CARRY else "takes over"
        if source is None:
            out.append(
                Problem(
                    charter.file,
                    entry.line,
                    f"'{entry.key}' {how} '{entry.source}', but version {old.version} of '{charter.slug}' has no pillar or theme '{entry.source}'",
                )
            )
        elif new is not None and source.kind != new.kind:
            out.append(
                Problem(
                    charter.file,
                    entry.line,
                    f"{new.kind} '{entry.key}' cannot take over {source.kind} '{entry.source}' of version {old.version}: "
                    "a pillar continues a pillar and a theme continues a theme",
                )
            )
    return out
