"""Write the exercise stubs of a topic from its solution: ``python scripts/make_stubs.py TOPIC``.

Public functions keep their signature and docstring; their bodies become
``raise NotImplementedError``. Public classes keep their methods the same way. Private helpers
(names starting with ``_``) are dropped. Imports and module constants stay. The self-check
(``checks/test_contract.py``) verifies that exercises and solutions share one public API.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = (
    "Exercises: replace each `raise NotImplementedError` with your implementation.\n"
    "Check your work with `make grade` or `pytest tests/test_{topic}.py`."
)


def _stub_body(func: ast.FunctionDef, lines: list[str]) -> tuple[int, int, list[str]]:
    """The line range (0-based, end exclusive) after the docstring, and the stub lines."""
    indent = " " * func.body[0].col_offset
    docstring = ast.get_docstring(func) is not None
    start = func.body[0].end_lineno if docstring else func.body[0].lineno - 1
    body = [f"{indent}raise NotImplementedError\n"]
    return start, func.end_lineno, body


def make_stub(source: str, topic: str) -> str:
    """The exercise module for a solution module's source."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, list[str]]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name.startswith("_"):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            edits.append((first, node.end_lineno, []))
        elif isinstance(node, ast.FunctionDef):
            edits.append(_stub_body(node, lines))
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    edits.append(_stub_body(item, lines))
    for start, end, new in sorted(edits, reverse=True):
        lines[start:end] = new
    text = "".join(lines)
    doc = ast.get_docstring(tree)
    if doc:
        header = HEADER.format(topic=topic)
        old = tree.body[0]
        module_lines = text.splitlines(keepends=True)
        module_lines[old.lineno - 1 : old.end_lineno] = [f'"""{doc}\n\n{header}\n"""\n']
        text = "".join(module_lines)
    while "\n\n\n\n" in text:
        text = text.replace("\n\n\n\n", "\n\n\n")
    return text.rstrip("\n") + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("topics", nargs="+")
    args = parser.parse_args()
    for topic in args.topics:
        source = (ROOT / "solutions" / f"{topic}.py").read_text(encoding="utf-8")
        target = ROOT / "exercises" / f"{topic}.py"
        target.write_text(make_stub(source, topic), encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
