"""YAML reading for the course's data files: YAML 1.2 numbers and no duplicate keys.

PyYAML follows YAML 1.1, where ``5.5e6`` (no sign in the exponent) is a string, and a key that
appears twice silently keeps its last value. Both would be quiet bugs in a file of figures.
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class CourseLoader(yaml.SafeLoader):
    """A safe loader that reads ``1e9`` and ``5.5e6`` as numbers and rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# Floats with an exponent but no sign or no dot (YAML 1.2), e.g. 5.5e6, 2e9.
CourseLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d[\d_]*\.\d*|\.\d+|\d[\d_]*)(?:[eE][-+]?\d+)$|^[-+]?\d[\d_]*\.\d*$"),
    list("-+0123456789."),
)


def load(text: str) -> Any:
    """Parse a course data file."""
    return yaml.load(text, Loader=CourseLoader)  # CourseLoader is a SafeLoader
