"""Workflow definitions: the data read from YAML, and their validation with file:line problems."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .durations import Duration, is_shorter, parse_duration
from .errors import DefinitionError, Problem
from .yamlload import LineDict, LineList, load_yaml

LANGUAGES = ("en", "fr")
SYSTEM_ROLE = "system"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class InputSpec:
    """A kind of input a transition may require: text (comment, reason) or a URL."""

    name: str
    kind: str = "text"
    max_length: int = 4000


@dataclass
class Vocabulary:
    """The names a definition may use: roles (and relations), guards, inputs, and effects."""

    roles: set[str]
    guards: set[str]
    inputs: dict[str, InputSpec]
    effects: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Deadline:
    """How long a state may last, the transition fired when it expires, and reminder offsets."""

    after: str
    duration: Duration
    fire: str
    remind: tuple[tuple[str, Duration], ...] = ()


@dataclass(frozen=True)
class StateDef:
    """A state of a workflow."""

    name: str
    title: dict[str, str]
    final: bool = False
    deadline: Deadline | None = None
    line: int = 0
    on_enter: tuple[str, ...] = ()  # effects run when a transition enters the state
    on_exit: tuple[str, ...] = ()  # effects run when a transition leaves it


@dataclass(frozen=True)
class TransitionDef:
    """A transition: trigger, sources, destination and who/what may fire it."""

    trigger: str
    sources: tuple[str, ...]
    dest: str
    title: dict[str, str]
    roles: tuple[str, ...]
    guards: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    accepts: tuple[str, ...] = ()
    attest: bool = False
    inbox: bool = True
    revoke: bool = False
    auto: bool = False
    line: int = 0
    effects: tuple[str, ...] = ()  # effects run when it is taken (between the source's on_exit and the dest's on_enter)

    @property
    def system_only(self) -> bool:
        """True when only the system actor (timeouts) may fire it."""
        return set(self.roles) == {SYSTEM_ROLE}


@dataclass
class Definition:
    """A validated workflow definition (one name, one version)."""

    name: str
    version: int
    title: dict[str, str]
    initial: str
    states: dict[str, StateDef]
    transitions: list[TransitionDef]
    description: dict[str, str] = field(default_factory=dict)
    file: str = "<memory>"
    source_text: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        self._index: dict[tuple[str, str], TransitionDef] = {}
        for t in self.transitions:
            for s in t.sources:
                self._index[(s, t.trigger)] = t

    @property
    def key(self) -> tuple[str, int]:
        """(name, version): what an instance pins."""
        return (self.name, self.version)

    def transition(self, state: str, trigger: str) -> TransitionDef | None:
        """The transition ``trigger`` fires from ``state``, or None."""
        return self._index.get((state, trigger))

    def transitions_from(self, state: str) -> list[TransitionDef]:
        """Every transition leaving ``state``, in definition order."""
        return [t for t in self.transitions if state in t.sources]

    def triggers(self) -> list[str]:
        """Every trigger name, once, in definition order."""
        return list(dict.fromkeys(t.trigger for t in self.transitions))

    def label(self, lang: str) -> str:
        """The title in ``lang`` (English when missing)."""
        return self.title.get(lang) or self.title["en"]

    def effects_of(self, transition: TransitionDef, source: str) -> tuple[str, ...]:
        """The effects taking ``transition`` from ``source`` runs, in order: what leaving the source does, what the
        transition does, what entering its destination does."""
        return self.states[source].on_exit + transition.effects + self.states[transition.dest].on_enter

    def effect_names(self) -> list[str]:
        """Every effect the definition names, once, in order of appearance."""
        names = [n for s in self.states.values() for n in s.on_exit + s.on_enter]
        names += [n for t in self.transitions for n in t.effects]
        return list(dict.fromkeys(names))


TOP_KEYS = {"name", "version", "title", "description", "initial", "states", "transitions"}
STATE_KEYS = {"title", "final", "deadline", "on_enter", "on_exit"}
DEADLINE_KEYS = {"after", "fire", "remind"}
TRANSITION_KEYS = {"trigger", "title", "source", "dest", "roles", "guards", "effects", "inputs", "accepts", "attest", "inbox", "revoke", "auto"}


class _Parser:
    """Reads one parsed YAML document into a Definition, collecting every problem."""

    def __init__(self, file: str, vocabulary: Vocabulary, problems: list[Problem]):
        self.file = file
        self.vocab = vocabulary
        self.problems = problems

    def err(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    def unknown_keys(self, mapping: LineDict, allowed: set[str], where: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.err(mapping.line_of(key), f"unknown key '{key}' in {where} (expected one of: {', '.join(sorted(allowed))})")

    def texts(self, mapping: LineDict, key: str, where: str, required: bool = True) -> dict[str, str]:
        value = mapping.get(key)
        line = mapping.line_of(key)
        if value is None:
            if required:
                self.err(line, f"{where} needs a '{key}' with English and French texts (en, fr)")
            return {}
        if not isinstance(value, LineDict):
            self.err(line, f"'{key}' of {where} must be a mapping with 'en' and 'fr' texts")
            return {}
        out = {}
        for lang in LANGUAGES:
            text = value.get(lang)
            if not isinstance(text, str) or not text.strip():
                self.err(line, f"'{key}' of {where} has no '{lang}' text")
            else:
                out[lang] = text.strip()
        for lang in value:
            if lang not in LANGUAGES:
                self.err(value.line_of(lang), f"'{key}' of {where} has an unsupported language '{lang}' (use en and fr)")
        return out

    def flag(self, mapping: LineDict, key: str, where: str, default: bool) -> bool:
        value = mapping.get(key, default)
        if not isinstance(value, bool):
            self.err(mapping.line_of(key), f"'{key}' of {where} must be true or false")
            return default
        return value

    def names(self, mapping: LineDict, key: str, where: str, required: bool) -> tuple[list[str], list[int]]:
        value = mapping.get(key)
        line = mapping.line_of(key)
        if value is None:
            if required:
                self.err(line, f"{where} needs '{key}'")
            return [], []
        if isinstance(value, str):
            return [value], [line]
        if isinstance(value, LineList) and all(isinstance(v, str) for v in value):
            return list(value), [value.line_of(i) for i in range(len(value))]
        self.err(line, f"'{key}' of {where} must be a name or a list of names")
        return [], []

    def effect_names(self, mapping: LineDict, key: str, where: str) -> tuple[str, ...]:
        """The effects ``mapping[key]`` names, each checked against the registered effects."""
        names, lines = self.names(mapping, key, where, required=False)
        seen: set[str] = set()
        for n, nl in zip(names, lines, strict=True):
            if n not in self.vocab.effects:
                self.err(nl, f"{where} names unknown effect '{n}' in '{key}' (effects must be registered by name in govflow)")
            elif n in seen:
                self.err(nl, f"{where} names effect '{n}' twice in '{key}'")
            seen.add(n)
        return tuple(names)

    def parse(self, doc: object) -> Definition | None:
        if not isinstance(doc, LineDict):
            self.err(getattr(doc, "line", 1), "a workflow definition must be a mapping with name, version, title, initial, states and transitions")
            return None
        self.unknown_keys(doc, TOP_KEYS, "the definition")
        name = doc.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            self.err(doc.line_of("name"), "'name' must be a lower-case identifier such as 'commitment'")
            name = "?"
        version = doc.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.err(doc.line_of("version"), "'version' must be a whole number of 1 or more")
            version = 0
        title = self.texts(doc, "title", "the definition")
        description = self.texts(doc, "description", "the definition", required=False)

        states = self.parse_states(doc)
        transitions = self.parse_transitions(doc, states)

        initial = doc.get("initial")
        if not isinstance(initial, str):
            self.err(doc.line_of("initial"), "'initial' must name the state every instance starts in")
        elif states and initial not in states:
            self.err(doc.line_of("initial"), f"initial state '{initial}' is not one of the states")

        self.check_deadlines(doc, states, transitions)
        self.check_graph(doc, states, transitions, initial if isinstance(initial, str) else None)
        return Definition(
            name=name,
            version=version,
            title=title,
            initial=initial if isinstance(initial, str) else "",
            states=states,
            transitions=transitions,
            description=description,
            file=self.file,
        )

    def parse_states(self, doc: LineDict) -> dict[str, StateDef]:
        raw = doc.get("states")
        if not isinstance(raw, LineDict) or not raw:
            self.err(doc.line_of("states"), "'states' must be a mapping of state names to their settings")
            return {}
        states: dict[str, StateDef] = {}
        for sname, body in raw.items():
            line = raw.line_of(sname)
            if not NAME_RE.match(sname):
                self.err(line, f"state name '{sname}' must be a lower-case identifier")
            if body is None:
                body = LineDict()
                body.line, body.key_lines = line, {}
            if not isinstance(body, LineDict):
                self.err(line, f"state '{sname}' must be a mapping (title, final, deadline)")
                continue
            self.unknown_keys(body, STATE_KEYS, f"state '{sname}'")
            final = body.get("final", False)
            if not isinstance(final, bool):
                self.err(body.line_of("final"), f"'final' of state '{sname}' must be true or false")
                final = False
            title = self.texts(body, "title", f"state '{sname}'")
            deadline = self.parse_deadline(sname, body)
            on_enter = self.effect_names(body, "on_enter", f"state '{sname}'")
            on_exit = self.effect_names(body, "on_exit", f"state '{sname}'")
            if final and on_exit:
                self.err(body.line_of("on_exit"), f"final state '{sname}' is never left: it cannot have 'on_exit' effects")
            states[sname] = StateDef(sname, title, final, deadline, line, on_enter, on_exit)
        return states

    def parse_deadline(self, sname: str, body: LineDict) -> Deadline | None:
        raw = body.get("deadline")
        if raw is None:
            return None
        if not isinstance(raw, LineDict):
            self.err(body.line_of("deadline"), f"'deadline' of state '{sname}' must be a mapping with 'after' and 'fire'")
            return None
        self.unknown_keys(raw, DEADLINE_KEYS, f"the deadline of state '{sname}'")
        after = raw.get("after")
        duration = None
        try:
            duration = parse_duration(after)
        except ValueError as exc:
            self.err(raw.line_of("after"), f"bad duration in the deadline of state '{sname}': {exc}")
        fire = raw.get("fire")
        if not isinstance(fire, str):
            self.err(raw.line_of("fire"), f"the deadline of state '{sname}' must name the transition to 'fire' when it expires")
        reminders: list[tuple[str, Duration]] = []
        remind_raw = raw.get("remind", [])
        if isinstance(remind_raw, str):
            remind_raw = [remind_raw]
        if not isinstance(remind_raw, list):
            self.err(raw.line_of("remind"), f"'remind' of state '{sname}' must be a list of durations before the deadline")
            remind_raw = []
        for i, text in enumerate(remind_raw):
            line = remind_raw.line_of(i) if isinstance(remind_raw, LineList) else raw.line_of("remind")
            try:
                offset = parse_duration(text)
            except ValueError as exc:
                self.err(line, f"bad reminder offset in state '{sname}': {exc}")
                continue
            if duration is not None and not is_shorter(offset, duration):
                self.err(line, f"reminder '{text}' of state '{sname}' must be shorter than the deadline '{after}'")
            reminders.append((text, offset))
        # A duration was parsed only from a text: the check on 'after' tells the type checker so.
        if duration is None or not isinstance(after, str) or not isinstance(fire, str):
            return None
        return Deadline(after, duration, fire, tuple(reminders))

    def parse_transitions(self, doc: LineDict, states: dict[str, StateDef]) -> list[TransitionDef]:
        raw = doc.get("transitions")
        if not isinstance(raw, LineList):
            self.err(doc.line_of("transitions"), "'transitions' must be a list")
            return []
        out: list[TransitionDef] = []
        seen: dict[tuple[str, str], int] = {}
        for i, body in enumerate(raw):
            line = raw.line_of(i)
            if not isinstance(body, LineDict):
                self.err(line, "each transition must be a mapping with trigger, source, dest and roles")
                continue
            self.unknown_keys(body, TRANSITION_KEYS, "a transition")
            trigger = body.get("trigger")
            if not isinstance(trigger, str) or not NAME_RE.match(trigger):
                self.err(body.line_of("trigger"), "'trigger' must be a lower-case identifier such as 'declare'")
                continue
            where = f"transition '{trigger}'"
            sources, source_lines = self.names(body, "source", where, required=True)
            for s, sl in zip(sources, source_lines, strict=True):
                if states and s not in states:
                    self.err(sl, f"{where} starts from unknown state '{s}'")
                key = (s, trigger)
                if key in seen:
                    self.err(sl, f"trigger '{trigger}' is defined twice from state '{s}' (first on line {seen[key]})")
                else:
                    seen[key] = sl
            dest = body.get("dest")
            if not isinstance(dest, str):
                self.err(body.line_of("dest"), f"{where} needs a 'dest' state")
                dest = ""
            elif states and dest not in states:
                self.err(body.line_of("dest"), f"{where} leads to unknown state '{dest}'")
            roles, role_lines = self.names(body, "roles", where, required=True)
            if "roles" in body and not roles:
                self.err(body.line_of("roles"), f"{where} allows no role: nobody could fire it")
            for r, rl in zip(roles, role_lines, strict=True):
                if r not in self.vocab.roles and r != SYSTEM_ROLE:
                    self.err(rl, f"{where} names unknown role '{r}' (known: {', '.join(sorted(self.vocab.roles | {SYSTEM_ROLE}))})")
            guards, guard_lines = self.names(body, "guards", where, required=False)
            for g, gl in zip(guards, guard_lines, strict=True):
                if g not in self.vocab.guards:
                    self.err(gl, f"{where} names unknown guard '{g}' (guards must be registered by name in govflow)")
            effects = self.effect_names(body, "effects", where)
            inputs, input_lines = self.names(body, "inputs", where, required=False)
            for n, nl in zip(inputs, input_lines, strict=True):
                if n not in self.vocab.inputs:
                    self.err(nl, f"{where} requires unknown input '{n}' (known: {', '.join(sorted(self.vocab.inputs))})")
            accepts, accept_lines = self.names(body, "accepts", where, required=False)
            for n, nl in zip(accepts, accept_lines, strict=True):
                if n not in self.vocab.inputs:
                    self.err(nl, f"{where} accepts unknown input '{n}' (known: {', '.join(sorted(self.vocab.inputs))})")
                elif n in inputs:
                    self.err(nl, f"{where} lists input '{n}' as both required and optional")
            attest = self.flag(body, "attest", where, default=False)
            inbox = self.flag(body, "inbox", where, default=True)
            revoke = self.flag(body, "revoke", where, default=False)
            auto = self.flag(body, "auto", where, default=False)
            if auto and (SYSTEM_ROLE not in roles or inputs):
                self.err(body.line_of("auto"), f"{where} is automatic: its roles must include '{SYSTEM_ROLE}' and it cannot require inputs")
            title = self.texts(body, "title", where)
            out.append(
                TransitionDef(
                    trigger,
                    tuple(sources),
                    dest,
                    title,
                    tuple(roles),
                    tuple(guards),
                    tuple(inputs),
                    tuple(accepts),
                    attest,
                    inbox,
                    revoke,
                    auto,
                    line,
                    effects,
                )
            )
        return out

    def check_deadlines(self, doc: LineDict, states: dict[str, StateDef], transitions: list[TransitionDef]) -> None:
        raw_states = doc.get("states")
        for s in states.values():
            if s.deadline is None:
                continue
            body = raw_states.get(s.name) if isinstance(raw_states, LineDict) else None
            line = body.line_of("deadline") if isinstance(body, LineDict) else s.line
            match = [t for t in transitions if t.trigger == s.deadline.fire and s.name in t.sources]
            if not match:
                self.err(line, f"the deadline of state '{s.name}' fires '{s.deadline.fire}', which is not a transition from '{s.name}'")
            elif SYSTEM_ROLE not in match[0].roles:
                self.err(line, f"the deadline of state '{s.name}' fires '{s.deadline.fire}', whose roles must include '{SYSTEM_ROLE}'")
            elif match[0].inputs:
                self.err(line, f"the deadline of state '{s.name}' fires '{s.deadline.fire}', which requires inputs the system cannot give")
            if s.final:
                self.err(line, f"final state '{s.name}' cannot have a deadline")

    def check_graph(self, doc: LineDict, states: dict[str, StateDef], transitions: list[TransitionDef], initial: str | None) -> None:
        if not states:
            return
        outgoing: dict[str, set[str]] = {s: set() for s in states}
        for t in transitions:
            for source in t.sources:
                if source in outgoing and t.dest in states:
                    outgoing[source].add(t.dest)
        for s in states.values():
            if s.final and outgoing[s.name]:
                self.err(s.line, f"final state '{s.name}' has transitions leaving it")
            if not s.final and not any(s.name in t.sources for t in transitions):
                self.err(s.line, f"state '{s.name}' is not final but has no transition out of it")
        if initial not in states:
            return
        reached = {initial}
        queue = deque([initial])
        while queue:
            for nxt in outgoing[queue.popleft()]:
                if nxt not in reached:
                    reached.add(nxt)
                    queue.append(nxt)
        for s in states.values():
            if s.name not in reached:
                self.err(s.line, f"state '{s.name}' cannot be reached from the initial state '{initial}'")


def parse_definition(text: str, file: str, vocabulary: Vocabulary) -> tuple[Definition | None, list[Problem]]:
    """Parse and validate one definition; return it (None when invalid) and every problem found."""
    problems: list[Problem] = []
    doc = load_yaml(text, file, problems)
    if doc is None and not problems:
        problems.append(Problem(file, 1, "the file is empty"))
    if doc is None:
        return None, problems
    definition = _Parser(file, vocabulary, problems).parse(doc)
    if problems or definition is None:  # parse returns None only once it has recorded a problem
        return None, sorted(problems, key=lambda p: (p.file, p.line))
    definition.source_text = text
    return definition, []


def definition_files(paths: list[str | Path]) -> list[Path]:
    """Expand files and folders into the YAML files they hold (folders: their top-level *.yaml)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(list(p.glob("*.yaml")) + list(p.glob("*.yml"))))
        else:
            out.append(p)
    return out


def read_files(paths: list[str | Path], base: Path | None, problems: list[Problem]) -> Iterator[tuple[str, str]]:
    """Yield (shown name, text) of every YAML file under ``paths``; unreadable files become problems."""
    for path in definition_files(paths):
        shown = str(path.relative_to(base)) if base and path.is_relative_to(base) else str(path)
        try:
            yield shown, path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(shown, 1, f"cannot read the file: {exc.__class__.__name__}"))


def load_definitions(paths: list[str | Path], vocabulary: Vocabulary, base: Path | None = None) -> list[Definition]:
    """Load every definition file under ``paths``; raise DefinitionError listing every problem."""
    problems: list[Problem] = []
    found: list[Definition] = []
    keys: dict[tuple[str, int], str] = {}
    for shown, text in read_files(paths, base, problems):
        definition, found_problems = parse_definition(text, shown, vocabulary)
        problems.extend(found_problems)
        if definition is None:
            continue
        if definition.key in keys:
            problems.append(Problem(shown, 1, f"workflow '{definition.name}' version {definition.version} is already defined in {keys[definition.key]}"))
            continue
        keys[definition.key] = shown
        found.append(definition)
    if problems:
        raise DefinitionError(problems)
    return found
