"""YAML parsing that keeps the file, line and column of every node.

PyYAML's composer gives positioned nodes but its constructor throws the positions away; we
walk the composed tree ourselves so that every later error can name ``file:line:col``.
Duplicate keys, which PyYAML silently accepts (last one wins), are reported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml


@dataclass(frozen=True)
class Mark:
    """A position in a configuration file, 1-based as editors show it."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class YScalar:
    """A scalar with its constructed Python value (str, int, float, bool, None, date...)."""

    value: Any
    mark: Mark
    quoted: bool = False


@dataclass(frozen=True)
class YSeq:
    """A YAML sequence."""

    items: tuple[YNode, ...]
    mark: Mark


@dataclass(frozen=True)
class YMap:
    """A YAML mapping; keys are scalars, kept in file order."""

    items: tuple[tuple[YScalar, YNode], ...]
    mark: Mark
    duplicates: tuple[YScalar, ...] = field(default=())

    def keys(self) -> list[str]:
        """Key names as strings."""
        return [str(k.value) for k, _ in self.items]

    def get(self, key: str) -> YNode | None:
        """The node of ``key`` or None."""
        for k, v in self.items:
            if str(k.value) == key:
                return v
        return None


YNode = YScalar | YSeq | YMap


class YamlSyntaxError(Exception):
    """The text is not YAML; carries the position the parser reported."""

    def __init__(self, mark: Mark, message: str) -> None:
        super().__init__(f"{mark}: {message}")
        self.mark = mark
        self.message = message


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _mark(file: str, node: yaml.Node) -> Mark:
    m = node.start_mark
    return Mark(file, m.line + 1, m.column + 1)


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node) -> YNode:
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_TAGS:
            # Safe loading would refuse these too; say so instead of silently dropping the tag.
            raise YamlSyntaxError(
                _mark(self.file, node), f"invalid YAML: tag {node.tag} is not allowed here"
            )
        if isinstance(node, yaml.MappingNode):
            # Resolves YAML merge keys (<<: *anchor) in place, as the safe loader would.
            self.constructor.flatten_mapping(node)
            items: list[tuple[YScalar, YNode]] = []
            seen: set[str] = set()
            dups: list[YScalar] = []
            for key_node, value_node in node.value:
                key = self.build(key_node)
                if not isinstance(key, YScalar):
                    raise YamlSyntaxError(
                        key.mark, "invalid YAML: keys must be plain values, not lists or mappings"
                    )
                name = str(key.value)
                if name in seen:
                    dups.append(key)
                seen.add(name)
                items.append((key, self.build(value_node)))
            return YMap(tuple(items), _mark(self.file, node), tuple(dups))
        if isinstance(node, yaml.SequenceNode):
            return YSeq(tuple(self.build(n) for n in node.value), _mark(self.file, node))
        assert isinstance(node, yaml.ScalarNode)
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise YamlSyntaxError(_mark(self.file, node), f"invalid YAML: {exc.problem}") from None
        return YScalar(value, _mark(self.file, node), quoted=node.style in ("'", '"'))


def parse_yaml(text: str, file: str) -> YNode | None:
    """Parse one YAML document into positioned nodes; None for an empty document."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        m = exc.problem_mark or exc.context_mark
        mark = Mark(file, m.line + 1, m.column + 1) if m else Mark(file, 1, 1)
        message = f"invalid YAML: {exc.problem or exc.context}"
        ctx = exc.context_mark
        if exc.problem and exc.context and ctx is not None and m is not None and ctx.line != m.line:
            message += f" ({exc.context} at line {ctx.line + 1})"
        raise YamlSyntaxError(mark, message) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(Mark(file, 1, 1), f"invalid YAML: {exc}") from None
    if root is None:
        return None
    return _Builder(file).build(root)


def to_plain(node: YNode) -> Any:
    """Strip positions: plain dicts, lists and scalars."""
    if isinstance(node, YMap):
        return {str(k.value): to_plain(v) for k, v in node.items}
    if isinstance(node, YSeq):
        return [to_plain(i) for i in node.items]
    return node.value
