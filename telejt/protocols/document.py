"""Read a protocol file's YAML into plain data, remembering the line of every value.

Protocol authors need errors that point at a line, so the file is composed into
PyYAML's node tree (safe tags only) and turned into dicts, lists and scalars by
hand, recording for each field path (``("phases", 1, "sessions", 0, "minutes")``)
the line of its value and of its key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

#: where a value sits in the document: mapping keys (str) and list indexes (int)
FieldPath = tuple[str | int, ...]

_MERGE_TAG = "tag:yaml.org,2002:merge"


class Finding(NamedTuple):
    """One problem found in a document: the field path as text, its line, what is wrong."""

    field: str
    line: int | None
    message: str


class YamlSyntaxError(Exception):
    """The file is not well-formed YAML; nothing past the error can be read."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class Document:
    """A protocol file's data with the line of every value and key."""

    data: Any = None
    value_lines: dict[FieldPath, int] = field(default_factory=dict)
    key_lines: dict[FieldPath, int] = field(default_factory=dict)
    #: the source text of unquoted scalars, so that ``at: 19:00`` (which YAML 1.1
    #: reads as the sexagesimal number 1140) can still be read as a time
    plain_text: dict[FieldPath, str] = field(default_factory=dict)
    #: what YAML accepts but a protocol must not hold (duplicate keys, unknown tags)
    problems: list[Finding] = field(default_factory=list)

    def line(self, path: FieldPath, *, of_key: bool = False) -> int | None:
        """The line of a field's value (or key), else of its nearest existing parent."""
        if of_key and path in self.key_lines:
            return self.key_lines[path]
        while path not in self.value_lines:
            if not path:
                return None
            path = path[:-1]
        return self.value_lines[path]


def format_path(path: FieldPath) -> str:
    """``("phases", 1, "sessions", 0, "minutes")`` as ``phases[1].sessions[0].minutes``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def read_document(text: str) -> Document:
    """Parse YAML text into a Document; YamlSyntaxError if it is not well-formed."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise YamlSyntaxError(*_describe_yaml_error(exc)) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(None, f"invalid YAML: {exc}") from None
    document = Document()
    if root is not None:
        document.data = _Builder(document).build(root, (), frozenset())
    return document


def _describe_yaml_error(exc: yaml.MarkedYAMLError) -> tuple[int | None, str]:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    problem = exc.problem or "malformed"
    if exc.context and exc.context_mark and exc.context_mark is not mark:
        where = f"line {exc.context_mark.line + 1}"
        if problem.startswith("but "):
            return line, f"invalid YAML: {exc.context} (from {where}), {problem}"
        return line, f"invalid YAML: {problem} ({exc.context} at {where})"
    return line, f"invalid YAML: {problem}"


class _Builder:
    """Turns composed nodes into plain values, filling a Document's line maps."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.constructor = SafeConstructor()
        self.checked_mappings: set[int] = set()

    def build(self, node: yaml.Node, path: FieldPath, open_nodes: frozenset[int]) -> Any:
        self.document.value_lines[path] = node.start_mark.line + 1
        if id(node) in open_nodes:
            self._problem(path, node, "an alias may not refer to the value that contains it")
            return None
        if isinstance(node, yaml.ScalarNode):
            if node.style is None:
                self.document.plain_text[path] = str(node.value)
            try:
                return self.constructor.construct_object(node, deep=True)
            except ConstructorError as exc:
                self._problem(path, node, f"invalid value: {exc.problem}")
                return None
        inside = open_nodes | {id(node)}
        if isinstance(node, yaml.SequenceNode):
            return [
                self.build(child, (*path, index), inside) for index, child in enumerate(node.value)
            ]
        if isinstance(node, yaml.MappingNode):
            return self._build_mapping(node, path, inside)
        self._problem(path, node, "unsupported YAML node")  # pragma: no cover
        return None

    def _build_mapping(
        self, node: yaml.MappingNode, path: FieldPath, open_nodes: frozenset[int]
    ) -> dict[str, Any]:
        if id(node) not in self.checked_mappings:
            # Duplicates are checked before merge keys (<<) are folded in, which may
            # legitimately be overridden; and only once when an alias repeats a mapping.
            self.checked_mappings.add(id(node))
            self._check_duplicate_keys(node, path)
            try:
                self.constructor.flatten_mapping(node)
            except ConstructorError as exc:
                self._problem(path, node, f"invalid merge (<<): {exc.problem}")
                node.value = [(k, v) for k, v in node.value if k.tag != _MERGE_TAG]
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(path, key_node, "a key must be plain text")
                continue
            # Keys are read as written: no protocol key is a number or a boolean.
            key = str(key_node.value)
            child = (*path, key)
            self.document.key_lines[child] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, child, open_nodes)
        return result

    def _check_duplicate_keys(self, node: yaml.MappingNode, path: FieldPath) -> None:
        first_lines: dict[str, int] = {}
        for key_node, _value in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first_lines:
                message = f"duplicate key (first at line {first_lines[key]})"
                self.document.problems.append(Finding(format_path((*path, key)), line, message))
            else:
                first_lines[key] = line

    def _problem(self, path: FieldPath, node: yaml.Node, message: str) -> None:
        line = node.start_mark.line + 1
        self.document.problems.append(Finding(format_path(path), line, message))
