"""A sweep file's YAML as data plus the line of every key, with keys given twice in one mapping refused.

PyYAML's ``safe_load`` keeps the last of two equal keys without a word: a second ``seed:`` in ``grid`` silently
replaces the first, and the grid shrinks. :func:`read_yaml` refuses that, naming the key, its mapping and both lines,
and keeps the line of every key (``("grid", "seed")`` → 22) so that later checks can say where a setting was written.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from acadp.errors import SpecError

KeyPath = tuple[str | int, ...]
MERGE_TAG = "tag:yaml.org,2002:merge"  # `<<: *anchor` merges a mapping; a key after it may override a merged one


def dotted(path: KeyPath) -> str:
    """``("datasets", "mnist5k", "recipes", 0, "lr")`` → ``datasets.mnist5k.recipes[0].lr``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + part
    return text or "(top level)"


@dataclass(frozen=True)
class YamlSource:
    """A parsed YAML document and the 1-based line of each mapping key, by its path of keys and list indices."""

    data: Any
    lines: Mapping[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int | None:
        return self.lines.get(path)


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, path: KeyPath, *, line: int, first: int) -> None:
        super().__init__(f"{dotted(path)} given twice")
        self.path, self.line, self.first = path, line, first


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a key given twice in one mapping (merged keys ``<<`` may be overridden).

    ``paths`` maps each mapping node (by id) to its key path, for the message."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.paths: dict[int, KeyPath] = {}

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[Hashable, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # PyYAML's own construction reports an unhashable key
            line = key_node.start_mark.line + 1
            if key in seen:
                path = (*self.paths.get(id(node), ()), _path_part(key))
                raise _DuplicateKey(path, line=line, first=seen[key])
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _path_part(key: Any) -> str | int:
    return key if isinstance(key, int) and not isinstance(key, bool) else str(key)


def _walk(node: Node, path: KeyPath, lines: dict[KeyPath, int], paths: dict[int, KeyPath]) -> None:
    """Record the line of every key under ``node`` (at ``path``) and the path of every mapping node."""
    if isinstance(node, MappingNode):
        paths[id(node)] = path
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == MERGE_TAG:
                continue
            child = (*path, key_node.value)
            lines.setdefault(child, key_node.start_mark.line + 1)  # a duplicate is refused when constructed
            _walk(value_node, child, lines, paths)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, paths)


def read_yaml(text: str, *, source: str) -> YamlSource:
    """Parse one YAML document; ``source`` names the file in errors.

    Raises :class:`SpecError` (one line, with the line number) for a key given twice in one mapping; other YAML
    errors propagate as :class:`yaml.YAMLError` for the caller to word."""
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlSource(data=None)
        lines: dict[KeyPath, int] = {}
        _walk(node, (), lines, loader.paths)
        data = loader.construct_document(node)
    except _DuplicateKey as error:
        raise SpecError(
            f"{source}: line {error.line}: {dotted(error.path)} is given twice (first on line {error.first}); "
            "YAML would keep only the last one: remove one of them"
        ) from None
    finally:
        loader.dispose()
    return YamlSource(data=data, lines=lines)
