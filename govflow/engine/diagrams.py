"""State diagrams of workflow definitions, drawn by the ``transitions`` library's own graph engines.

One ``GraphMachine`` is built per definition version and engine, with no model attached (never the engine's
runtime machine); each drawing gets its own graph object, so the shared graph machine is only read while drawing.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import textwrap
import threading
from collections.abc import Callable, Iterable
from typing import Any, Literal, NamedTuple, Protocol, TypeVar, cast

from transitions import State
from transitions.extensions.diagrams import GraphMachine

from .definitions import Definition, StateDef, TransitionDef

ACTIVE_STYLE = "active"
# Where a step open to the person looking leads (the instance page draws the steps they may take now apart).
OPEN_STYLE = "open"
# Appended to the label of an arrow the person looking may take now: Mermaid's state diagrams style no arrow.
OPEN_MARK = " ✓"
# Diagram node ids get a prefix because Mermaid reads some valid state names (note, style, class, click, default)
# as keywords and fails on the whole diagram; labels keep the plain names.
NODE_PREFIX = "n_"

# Mermaid only: the library writes these node styles as ``classDef s_<style>`` lines, passing unknown keys through
# as CSS. Its defaults (red text on salmon) mean border colour to Graphviz but text colour to Mermaid. Typed as the
# library types a section of its ``style_attributes``.
_MERMAID_NODE_STYLES: dict[str, str | dict[str, Any]] = {
    "default": {"fillcolor": "#ffffff", "color": "#1f2937", "stroke": "#4b5563", "stroke-width": "1px"},
    ACTIVE_STYLE: {"fillcolor": "#fde68a", "color": "#111827", "stroke": "#b45309", "stroke-width": "3px", "font-weight": "bold"},
    OPEN_STYLE: {"fillcolor": "#dcfce7", "color": "#14532d", "stroke": "#15803d", "stroke-width": "2px", "stroke-dasharray": "5 3"},
}


# The graph engines this module draws with (the library's third, pygraphviz, is not used).
GraphEngine = Literal["graphviz", "mermaid"]
# What a draw function returns: a text, or None for an SVG Graphviz failed to make (never cached).
_Drawing = TypeVar("_Drawing", str, str | None)


class _Digraph(Protocol):
    """What ``_draw_svg`` uses of the ``graphviz.Digraph`` the Graphviz engine returns (the library's stubs only know
    its ``draw``, typed for every engine: with no file name, Graphviz's returns the rendered bytes)."""

    def node(self, name: str, label: str | None = None, **attrs: str) -> None: ...

    def edge(self, tail_name: str, head_name: str, **attrs: str) -> None: ...

    def draw(self, filename: None, format: str, prog: str) -> bytes: ...


class _LabelledState(State):
    """A state carrying the label the graph engines draw (read by the library's markup)."""

    def __init__(self, *args: Any, label: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.label = label


class _DiagramMachine(GraphMachine):
    """A graph machine whose states carry labels distinct from their node ids."""

    state_cls = _LabelledState


def _node(state: str) -> str:
    return NODE_PREFIX + state


class CacheInfo(NamedTuple):
    """How many graph machines and rendered diagrams are cached."""

    machines: int
    diagrams: int


class _Cache:
    """Graph machines per (engine, name, version) and drawings per (engine, name, version, highlight, open steps)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._machines: dict[tuple[GraphEngine, str, int], tuple[Definition, GraphMachine]] = {}
        self._drawings: dict[tuple[GraphEngine, str, int, str | None, frozenset[str]], str] = {}

    def get(
        self,
        engine: GraphEngine,
        definition: Definition,
        highlight: str | None,
        draw: Callable[[GraphMachine, Definition, str | None, frozenset[str]], _Drawing],
        open_steps: frozenset[str] = frozenset(),
    ) -> _Drawing:
        key: tuple[GraphEngine, str, int] = (engine, definition.name, definition.version)
        drawing_key = (*key, highlight, open_steps)
        with self._lock:
            built = self._machines.get(key)
            # Definitions are immutable, but Engine.add may replace a version with another object (tests do):
            # a diagram must never show the previous one.
            if built is None or built[0] is not definition:
                built = (definition, _graph_machine(definition, engine))
                self._machines[key] = built
                for k in [k for k in self._drawings if k[:3] == key]:
                    del self._drawings[k]
            elif drawing_key in self._drawings:
                return self._drawings[drawing_key]
        drawing = draw(built[1], definition, highlight, open_steps)
        with self._lock:
            # None (Graphviz failed to run) is not cached: the next request tries again.
            if drawing is not None and self._machines.get(key) is built:
                self._drawings.setdefault(drawing_key, drawing)
        return drawing

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(len(self._machines), len(self._drawings))

    def clear(self) -> None:
        with self._lock:
            self._machines.clear()
            self._drawings.clear()


_cache = _Cache()


def _graph_machine(definition: Definition, engine: GraphEngine) -> GraphMachine:
    machine = _DiagramMachine(
        model=None,
        # Effects are drawn as the library draws callbacks: a state's on_enter / on_exit in its box, a transition's
        # after its guards (UML's ``trigger [guard] / effect``). The names are never resolved: no model is attached.
        states=[_state(s) for s in definition.states.values()],
        initial=_node(definition.initial),
        transitions=[
            {"trigger": t.trigger, "source": [_node(s) for s in t.sources], "dest": _node(t.dest), "label": edge_label(t)} for t in definition.transitions
        ],
        auto_transitions=False,
        graph_engine=engine,
        show_conditions=False,
        show_state_attributes=True,
        show_auto_transitions=False,
        title=_title(definition),
        name=f"{definition.name}@{definition.version}",
        # The library refuses a trigger named like the model attribute ('state' by default, a valid trigger name);
        # triggers are lower-case identifiers, so none can start with an underscore.
        model_attribute="_diagram_state",
    )
    if engine == "mermaid":
        machine.style_attributes = copy.deepcopy(machine.style_attributes)
        machine.style_attributes["node"] = copy.deepcopy(_MERMAID_NODE_STYLES)
    # The markup is built lazily on first use and only read afterwards: build it now, under the cache lock, so
    # concurrent drawings never see it half-built.
    machine.get_markup_config()
    return machine


def _state(state: StateDef) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": _node(state.name), "label": state.name, "final": state.final}
    if state.on_enter:
        spec["on_enter"] = list(state.on_enter)
    if state.on_exit:
        spec["on_exit"] = list(state.on_exit)
    return spec


def edge_label(transition: TransitionDef) -> str:
    """``trigger [guards] / effects``: what an arrow of the diagram says."""
    label = transition.trigger
    if transition.guards:
        label += f" [{', '.join(transition.guards)}]"
    if transition.effects:
        label += f" / {', '.join(transition.effects)}"
    return label


def _title(definition: Definition) -> str:
    return f"{definition.name} v{definition.version}"


def _check_highlight(definition: Definition, highlight: str | None, open_steps: frozenset[str] = frozenset()) -> None:
    # Also keeps the cache bounded by the number of states (and of the subsets of the steps leaving each).
    if highlight is not None and highlight not in definition.states:
        raise ValueError(f"'{highlight}' is not a state of workflow '{definition.name}' version {definition.version}")
    if open_steps:
        leaving = {t.trigger for t in definition.transitions_from(highlight)} if highlight is not None else set()
        unknown = sorted(open_steps - leaving)
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: no such step leaves state '{highlight}' of workflow '{definition.name}' version {definition.version}")


def _mark_open_steps(lines: list[str], definition: Definition, highlight: str, open_steps: frozenset[str]) -> list[str]:
    """Append ``OPEN_MARK`` to the labels of the open steps on the arrows leaving ``highlight`` (the library joins the
    labels of the steps between the same two states with `` | ``; each label starts with its trigger)."""
    prefix = f"{_node(highlight)} --> "
    out = []
    for line in lines:
        head, sep, labels = line.partition(": ")
        if sep and head.strip().startswith(prefix):
            labels = " | ".join(label + OPEN_MARK if label.split(" ", 1)[0] in open_steps else label for label in labels.split(" | "))
            line = head + sep + labels
        out.append(line)
    return out


def _draw_mermaid(machine: GraphMachine, definition: Definition, highlight: str | None, open_steps: frozenset[str]) -> str:
    graph = machine.graph_cls(machine)
    if highlight is not None:
        for t in definition.transitions_from(highlight):
            if t.trigger in open_steps and t.dest != highlight:
                graph.set_node_style(_node(t.dest), OPEN_STYLE)
        graph.set_node_style(_node(highlight), ACTIVE_STYLE)
    # The engine writes the title verbatim as front matter between '---' lines: as a YAML mapping it becomes the
    # diagram's title (Mermaid ignores a bare string). Names are identifiers, so nothing needs quoting.
    source = graph.get_graph(title=f"title: {_title(definition)}").draw(None)
    assert source is not None  # with no file name, the Mermaid engine returns the diagram's source
    lines = source.splitlines()
    if highlight is not None and open_steps:
        lines = _mark_open_steps(lines, definition, highlight, open_steps)
    # The flat Mermaid graph ignores final states (only the nested one draws them): add Mermaid's end marker.
    lines.extend(f"  {_node(s.name)} --> [*]" for s in definition.states.values() if s.final)
    return "\n".join(lines) + "\n"


LINE_BREAK = "\\n"  # Mermaid's line break inside a quoted state label (a backslash and an n)
_STATE_LINE = re.compile(r'^(\s*)state "[^"]*" as ' + NODE_PREFIX + r"(\w+)$")
_EDGE_LINE = re.compile(r"^(\s*)" + NODE_PREFIX + r"(\w+) --> (\S+): (.*)$")
_TITLE_LINE = re.compile(r"^title: .*$")


def _plain(text: str) -> str:
    """A title safe inside Mermaid's quotes and labels (quotes, semicolons and entity marks would end or break them)."""
    return text.replace('"', "'").replace(";", ",").replace("#", "").replace("\n", " ")


def in_words(source: str, definition: Definition, lang: str, width: int = 22) -> str:
    """The diagram ``source`` in people's words, for the pages people read: each state's and step's title in ``lang``
    (state titles wrapped every ``width`` characters or so), without the callbacks and guards the developers' page shows.
    The open-step marks, styles and node ids are kept."""
    out = []
    for line in source.splitlines():
        if _TITLE_LINE.match(line):
            line = "title: " + json.dumps(_plain(definition.label(lang)), ensure_ascii=False)
        elif state := _STATE_LINE.match(line):
            found = definition.states.get(state.group(2))
            if found is not None:
                title = _plain(found.title.get(lang) or found.title["en"])
                wrapped = LINE_BREAK.join(textwrap.wrap(title, width)) or title
                line = f'{state.group(1)}state "{wrapped}" as {NODE_PREFIX}{state.group(2)}'
        elif edge := _EDGE_LINE.match(line):
            indent, source_state, target, labels = edge.groups()
            words = []
            for label in labels.split(" | "):
                trigger = label.split(" ", 1)[0]
                step = definition.transition(source_state, trigger)
                mark = OPEN_MARK if label.endswith(OPEN_MARK) else ""
                words.append((_plain(step.title.get(lang) or step.title["en"]) if step is not None else trigger) + mark)
            line = f"{indent}{NODE_PREFIX}{source_state} --> {target}: {' | '.join(words)}"
        out.append(line)
    return "\n".join(out) + "\n"


def mermaid(definition: Definition, highlight: str | None = None, open_steps: Iterable[str] = ()) -> str:
    """Mermaid ``stateDiagram-v2`` source of ``definition``, with state ``highlight`` marked as current (cached).

    ``open_steps`` names the steps leaving ``highlight`` that the person looking may take now: their arrows' labels end
    with ``OPEN_MARK`` and the states they lead to are drawn in the ``open`` style; any other step is drawn as usual."""
    steps = frozenset(open_steps)
    _check_highlight(definition, highlight, steps)
    return _cache.get("mermaid", definition, highlight, _draw_mermaid, steps)


def graphviz_available() -> bool:
    """True when the ``graphviz`` Python package and Graphviz's ``dot`` program are both installed."""
    try:
        import graphviz  # noqa: F401  # optional: only svg() needs it
    except ImportError:
        return False
    return shutil.which("dot") is not None


def _draw_svg(machine: GraphMachine, definition: Definition, highlight: str | None, open_steps: frozenset[str]) -> str | None:
    import graphviz

    graph = machine.graph_cls(machine)
    if highlight is not None:
        graph.set_node_style(_node(highlight), ACTIVE_STYLE)
    digraph = cast(_Digraph, graph.get_graph(title=_title(definition)))
    # The flat Graphviz graph marks neither the initial nor the final states: add UML-like start and end dots.
    digraph.node("__start__", label="", shape="circle", style="filled", fillcolor="black", width="0.2", height="0.2")
    digraph.edge("__start__", _node(definition.initial))
    for s in definition.states.values():
        if s.final:
            digraph.node(f"__end_{s.name}", label="", shape="doublecircle", style="filled", fillcolor="black", width="0.15", height="0.15")
            digraph.edge(_node(s.name), f"__end_{s.name}")
    try:
        return digraph.draw(None, format="svg", prog="dot").decode("utf-8")
    except (graphviz.ExecutableNotFound, graphviz.CalledProcessError, OSError):
        return None


def svg(definition: Definition, highlight: str | None = None) -> str | None:
    """SVG of the state diagram drawn by Graphviz, or None when Graphviz (package or ``dot``) is missing (cached)."""
    _check_highlight(definition, highlight)
    if not graphviz_available():
        return None
    return _cache.get("graphviz", definition, highlight, _draw_svg)


def cache_info() -> CacheInfo:
    """How many graph machines and rendered diagrams the module holds."""
    return _cache.info()


def clear_cache() -> None:
    """Forget every graph machine and rendered diagram (for tests and reloads)."""
    _cache.clear()
