"""Safe YAML loading that remembers the line of every mapping key and sequence item."""

from __future__ import annotations

import copy
import hashlib
from typing import TYPE_CHECKING, Any

import yaml

from .errors import Problem


class LineDict(dict[str, Any]):
    """A mapping from YAML that knows its own line and the line of each of its keys."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """Return the line of ``key``, or of the mapping itself when the key is absent."""
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A sequence from YAML that knows its own line and the line of each item."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        """Return the line of item ``index``."""
        return self.item_lines[index] if index < len(self.item_lines) else self.line


# libyaml's parser (PyYAML's C extension) when present: the same nodes and marks, parsed ~10x faster. The type
# checker sees the pure-Python SafeLoader, whose constructor methods the C one shares.
if TYPE_CHECKING:
    _Base = yaml.SafeLoader
else:
    _Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):
    """SafeLoader building LineDict/LineList and collecting duplicate keys."""

    def __init__(self, stream: str, file: str, problems: list[Problem]) -> None:
        super().__init__(stream)
        self._file = file
        self._problems = problems

    # Any: PyYAML's stubs type this hook dict[Hashable, Any], which a dict with str keys is not (dict is invariant).
    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> Any:  # noqa: D102 - PyYAML hook
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(None, None, "expected a mapping", node.start_mark)
        result = LineDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int, bool)) or key is None:
                self._problems.append(Problem(self._file, line, "a key must be a plain word"))
                continue
            key = str(key)
            if key in result:
                self._problems.append(Problem(self._file, line, f"key '{key}' appears twice (first on line {result.key_lines[key]})"))
                continue
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = line
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LineList:  # noqa: D102 - PyYAML hook
        result = LineList(self.construct_object(child, deep=True) for child in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_sequence)


# Parsed documents by (file, digest of text): an app built again (tests, `make run`'s reloader, workers) reads the
# same files; each caller gets its own deep copy, so nothing it changes leaks into the next parse.
_PARSED: dict[tuple[str, str], tuple[Any, tuple[Problem, ...]]] = {}
_PARSED_MAX = 256


def load_yaml(text: str, file: str, problems: list[Problem]) -> Any:
    """Parse ``text``; syntax errors and duplicate keys are appended to ``problems`` (returns None on syntax error)."""
    key = (file, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())
    hit = _PARSED.get(key)
    if hit is None:
        found: list[Problem] = []
        hit = (_parse(text, file, found), tuple(found))
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = hit
    problems.extend(hit[1])
    return copy.deepcopy(hit[0])


def _parse(text: str, file: str, problems: list[Problem]) -> Any:
    loader = _Loader(text, file, problems)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem or exc.context or "invalid YAML"
        problems.append(Problem(file, line, f"YAML syntax error: {what}"))
        return None
    except yaml.YAMLError as exc:  # pragma: no cover - other PyYAML errors carry no mark
        problems.append(Problem(file, 1, f"YAML error: {exc}"))
        return None
    finally:
        loader.dispose()
