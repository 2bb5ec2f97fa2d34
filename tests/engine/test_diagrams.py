"""State diagrams: Mermaid text drawn by the transitions library, cached, and apart from the runtime machines."""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from govflow.engine import diagrams
from govflow.engine.definitions import load_definitions, parse_definition

from .test_definitions import _app_vocabulary
from .vocab import Item, Person, make_engine, vocabulary

ROOT = Path(__file__).resolve().parents[2]
FILES = {
    "commitment": ROOT / "workflows" / "commitment.yaml",
    "review": Path(__file__).parent / "valid" / "review_v1.yaml",
}
EDGE = re.compile(r"^\s*(\S+) --> (\S+): (.+)$")
CLASS = re.compile(r"^\s*class (\S+) (\S+)$", re.I)
P = diagrams.NODE_PREFIX


@pytest.fixture(autouse=True)
def empty_cache():
    diagrams.clear_cache()
    yield
    diagrams.clear_cache()


@pytest.fixture(params=sorted(FILES))
def definition(request):
    (d,) = load_definitions([FILES[request.param]], _app_vocabulary())
    return d


def labels(text):
    """(source, dest, label) of every labelled edge, with node ids turned back into state names."""
    out = set()
    for line in text.splitlines():
        m = EDGE.match(line)
        if m:
            out |= {(m[1].removeprefix(P), m[2].removeprefix(P), label) for label in m[3].split(" | ")}
    return out


def edges(text):
    """(source, dest, trigger) of every labelled edge: a label is ``trigger [guards] / effects``."""
    return {(source, dest, label.split(" ", 1)[0]) for source, dest, label in labels(text)}


def classes(text):
    """State name -> the style class the diagram gives it."""
    return {m[1].removeprefix(P): m[2] for line in text.splitlines() if (m := CLASS.match(line))}


def test_the_diagram_is_a_mermaid_state_diagram_titled_with_name_and_version(definition):
    text = diagrams.mermaid(definition)
    assert text.startswith(f"---\ntitle: {definition.name} v{definition.version}\n---\nstateDiagram-v2\n")


def test_the_diagram_names_every_state_and_draws_every_transition_labelled_with_its_trigger(definition):
    text = diagrams.mermaid(definition)
    for name in definition.states:
        assert f'state "{name}" as {P}{name}\n' in text
    expected = {(s, t.dest, t.trigger) for t in definition.transitions for s in t.sources}
    assert edges(text) == expected
    assert {trigger for _, _, trigger in edges(text)} == set(definition.triggers())


def test_an_arrow_names_the_guards_in_brackets_and_the_effects_after_a_slash():
    loaded = {d.name: d for d in load_definitions(sorted((ROOT / "workflows").glob("*.yaml")), _app_vocabulary())}
    commitment = labels(diagrams.mermaid(loaded["commitment"]))
    assert ("declared", "evidenced", "add_evidence [has_evidence] / record_evidence_url") in commitment
    referral = labels(diagrams.mermaid(loaded["referral"]))
    assert ("unfavourable", "under_examination", "request_reconsideration [reconsideration_available] / use_reconsideration") in referral
    # A step without guards or effects is labelled with its trigger alone.
    assert any(label == "withdraw" for _, _, label in commitment)


def test_the_initial_state_and_the_final_states_are_marked(definition):
    lines = [line.strip() for line in diagrams.mermaid(definition).splitlines()]
    assert [line for line in lines if line.startswith("[*] -->")] == [f"[*] --> {P}{definition.initial}"]
    finals = {line.removesuffix(" --> [*]").removeprefix(P) for line in lines if line.endswith(" --> [*]")}
    assert finals == {s.name for s in definition.states.values() if s.final}
    assert finals


def test_the_highlighted_state_and_only_it_is_marked_active(definition):
    for highlight in definition.states:
        text = diagrams.mermaid(definition, highlight)
        assert re.search(r"^\s*classDef s_active \S", text, re.M)
        styles = classes(text)
        assert set(styles) == set(definition.states)
        assert {s for s, style in styles.items() if style == "s_active"} == {highlight}
        assert {style for s, style in styles.items() if s != highlight} == {"s_default"}


def test_without_highlight_no_state_is_marked_active(definition):
    assert set(classes(diagrams.mermaid(definition)).values()) == {"s_default"}


def test_an_unknown_highlight_is_refused_and_not_cached(definition):
    with pytest.raises(ValueError, match="not a state"):
        diagrams.mermaid(definition, "no_such_state")
    assert diagrams.cache_info() == diagrams.CacheInfo(machines=0, diagrams=0)


def test_only_the_open_steps_leaving_the_current_state_are_marked_and_their_destinations_drawn_open():
    (definition,) = load_definitions([FILES["review"]], _app_vocabulary())
    text = diagrams.mermaid(definition, "submitted", ["send_back"])
    assert re.search(r"^\s*classDef s_open \S", text, re.M)
    assert classes(text) == {"draft": "s_open", "submitted": "s_active", **{s: "s_default" for s in definition.states if s not in ("draft", "submitted")}}
    marked = {(source, dest, label) for source, dest, label in labels(text) if label.endswith(diagrams.OPEN_MARK)}
    assert marked == {("submitted", "draft", "send_back" + diagrams.OPEN_MARK)}
    assert edges(text) == edges(diagrams.mermaid(definition, "submitted")), "the same arrows, only marked"
    assert diagrams.mermaid(definition, "submitted", []) == diagrams.mermaid(definition, "submitted")
    assert diagrams.OPEN_MARK not in diagrams.mermaid(definition, "submitted")


def test_an_open_step_that_does_not_leave_the_current_state_is_refused(definition):
    state = definition.initial
    elsewhere = sorted({t.trigger for t in definition.transitions} - {t.trigger for t in definition.transitions_from(state)})
    with pytest.raises(ValueError, match="no such step"):
        diagrams.mermaid(definition, state, elsewhere[:1])
    with pytest.raises(ValueError, match="no such step"):
        diagrams.mermaid(definition, None, elsewhere[:1])
    assert diagrams.cache_info().diagrams == 0


def test_a_second_call_returns_the_cached_text_and_the_cache_does_not_grow(definition):
    state = next(iter(definition.states))
    first = diagrams.mermaid(definition, state)
    after_first = diagrams.cache_info()
    for _ in range(3):
        assert diagrams.mermaid(definition, state) is first
    assert diagrams.cache_info() == after_first == diagrams.CacheInfo(machines=1, diagrams=1)


def test_one_graph_machine_per_definition_version_whatever_the_highlight(definition):
    for highlight in [None, *definition.states]:
        diagrams.mermaid(definition, highlight)
    assert diagrams.cache_info() == diagrams.CacheInfo(machines=1, diagrams=len(definition.states) + 1)


def test_a_replaced_definition_of_the_same_name_and_version_is_drawn_afresh():
    source = FILES["review"].read_text()
    old, _ = parse_definition(source, "old.yaml", vocabulary())
    new, problems = parse_definition(source.replace("send_back", "return_to_draft"), "new.yaml", vocabulary())
    assert not problems and old.key == new.key
    assert ("submitted", "draft", "send_back") in edges(diagrams.mermaid(old, "draft"))
    text = diagrams.mermaid(new, "draft")
    assert ("submitted", "draft", "return_to_draft") in edges(text)
    assert "send_back" not in text
    assert diagrams.cache_info() == diagrams.CacheInfo(machines=1, diagrams=1)


KEYWORD_SOURCE = """\
name: keywords
version: 1
title: {en: Keywords, fr: Mots-clés}
initial: note
states:
  note: {title: {en: Note, fr: Note}}
  default: {title: {en: Default, fr: Défaut}, final: true}
transitions:
  - {trigger: state, title: {en: State, fr: État}, source: note, dest: default, roles: [admin]}
"""


def test_state_and_trigger_names_that_are_mermaid_keywords_are_kept_out_of_node_ids():
    # Mermaid fails on a whole diagram whose node id is 'note', 'default', 'style', 'class' or 'click'.
    definition, problems = parse_definition(KEYWORD_SOURCE, "keywords.yaml", vocabulary())
    assert not problems
    text = diagrams.mermaid(definition, "default")
    assert f'state "note" as {P}note\n' in text and f'state "default" as {P}default\n' in text
    assert edges(text) == {("note", "default", "state")}
    assert classes(text) == {"note": "s_default", "default": "s_active"}


def test_drawing_leaves_the_engines_shared_runtime_machines_untouched():
    engine = make_engine()
    engine.load([FILES["review"], FILES["commitment"]])
    machines = {d.key: engine.machine(d.name, d.version) for d in engine.definitions()}
    before = {key: (list(m.events), list(m.states), m.models[:]) for key, m in machines.items()}
    for d in engine.definitions():
        for highlight in [None, *d.states]:
            diagrams.mermaid(d, highlight)
            diagrams.svg(d, highlight)
    for d in engine.definitions():
        machine = engine.machine(d.name, d.version)
        assert machine is machines[d.key]
        assert (list(machine.events), list(machine.states), machine.models) == before[d.key]
        assert machine.models == []
        assert not hasattr(machine, "model_graphs"), "the runtime machine must stay a plain Machine"

    item = Item()
    item.org, item.statement = "acme", "We publish our model cards."
    now = datetime(2026, 3, 1, 12, 0)
    engine.start(item, "review", Person(1, orgs={"acme"}), now=now)
    engine.fire(item, "submit", Person(1, orgs={"acme"}), now=now)
    assert item.status == "submitted"
    assert not hasattr(item, "get_graph"), "no diagram machinery may be attached to an instance"


def test_svg_is_drawn_by_graphviz_when_installed_and_is_none_otherwise(definition):
    installed = importlib.util.find_spec("graphviz") is not None and shutil.which("dot") is not None
    assert diagrams.graphviz_available() is installed
    drawing = diagrams.svg(definition, definition.initial)
    if installed:
        assert isinstance(drawing, str)
        assert "<svg" in drawing and drawing.rstrip().endswith("</svg>")
        for name in definition.states:
            assert f">{name}</text>" in drawing
        assert diagrams.svg(definition, definition.initial) is drawing
    else:
        assert drawing is None


def test_the_diagrams_module_imports_nothing_outside_the_engine_but_the_standard_library_and_transitions():
    tree = ast.parse(Path(diagrams.__file__).read_text())
    absolute, relative = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            absolute |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                assert node.level == 1, "only modules of govflow.engine may be imported"
                relative.add(node.module)
            else:
                absolute.add(node.module.split(".")[0])
    assert absolute <= {"__future__", "collections", "copy", "json", "re", "shutil", "textwrap", "threading", "typing", "transitions", "graphviz"}
    assert relative <= {"definitions"}


def test_in_words_the_diagram_shows_titles_in_the_readers_language_and_no_keys(definition):
    """The diagram on an item's page is read by people: state and step titles (here in French), wrapped, no callbacks
    or guards; the styles, node ids and the marks of the steps open to the reader stay (issue #15: keys shown)."""
    opened = [t.trigger for t in definition.transitions_from(definition.initial)][:1]
    keys = diagrams.mermaid(definition, definition.initial, opened)
    words = diagrams.in_words(keys, definition, "fr")
    assert classes(words) == classes(keys)
    assert {(s, d) for s, d, _label in labels(words)} == {(s, d) for s, d, _label in labels(keys)}
    for state in definition.states.values():
        wrapped = re.search(rf'state "([^"]*)" as {P}{state.name}$', words, re.M)
        assert wrapped and wrapped[1].replace(diagrams.LINE_BREAK, " ") == state.title.get("fr", state.title["en"])
    for source, dest, label in labels(words):
        titles = {t.title.get("fr", t.title["en"]) for t in definition.transitions_from(source) if t.dest == dest}
        assert label.removesuffix(diagrams.OPEN_MARK) in titles, label
    marked = [label for _s, _d, label in labels(words) if label.endswith(diagrams.OPEN_MARK)]
    assert len(marked) == len([label for _s, _d, label in labels(keys) if label.endswith(diagrams.OPEN_MARK)]) == 1
    assert "- enter:" not in words and "[" not in "".join(label for _s, _d, label in labels(words))
