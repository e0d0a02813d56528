"""Code and printed output on the pages fit a desktop column: no line over 70 characters.

A code box that cuts lines off at the right edge hides what the prose discusses. The book's text
column holds about 70 characters of code at desktop width, so:

- every line of a code cell in ``book/*.md`` is at most ``WIDTH`` characters (run
  ``jupytext --pipe "ruff format --line-length 70 --stdin-filename cell.py" book/PAGE.md`` to
  wrap the code, then shorten what ruff leaves long: strings and comments);
- every line a cell prints (stream output and plain-text results) in the executed notebooks of
  the last build, ``_build/jupyter_execute/book/*.ipynb``, is at most ``WIDTH`` characters.
  These are checked only when a build is there; so are the printed lines of the built HTML
  pages, ``_build/html/book/*.html``, since a build that takes a page from the execution cache
  can leave its executed notebook without outputs.

The cells' metadata (figure captions, alt text, tags) is not code and is not checked. Reads files
only: a second or two.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
EXECUTED = ROOT / "_build" / "jupyter_execute" / "book"
WIDTH = 70

CELL_START = re.compile(r"^(?P<fence>`{3,})\{code-cell\}")


def code_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) for every source line of the ``{code-cell}`` blocks of a MyST page.

    A cell's leading metadata (a ``---`` ... ``---`` YAML block or ``:key: value`` lines) is
    left out: it is not shown as code.
    """
    out: list[tuple[int, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = CELL_START.match(lines[i])
        i += 1
        if not match:
            continue
        fence = match.group("fence")
        if i < len(lines) and lines[i].strip() == "---":
            i += 1
            while i < len(lines) and lines[i].strip() != "---":
                i += 1
            i += 1
        while i < len(lines) and re.match(r"^:[\w-]+:", lines[i]):
            i += 1
        while i < len(lines) and lines[i].rstrip() != fence:
            out.append((i + 1, lines[i]))
            i += 1
        i += 1
    return out


def output_lines(notebook: dict) -> list[tuple[int, str]]:
    """(cell index, line) for every printed line of an executed notebook (JSON as a dict).

    Stream output and ``text/plain`` results count; a result that also has an image, HTML or
    Markdown form is shown in that form, so its plain text is not checked; nor are the outputs
    of cells tagged ``remove-cell`` or ``remove-output``, which the page does not show.
    """
    out: list[tuple[int, str]] = []
    for index, cell in enumerate(notebook.get("cells", [])):
        tags = cell.get("metadata", {}).get("tags", [])
        if "remove-cell" in tags or "remove-output" in tags:
            continue  # not shown on the page
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text = output.get("text", "")
            elif output.get("output_type") in ("execute_result", "display_data"):
                data = output.get("data", {})
                shown_otherwise = any(
                    key.startswith("image/") or key in ("text/html", "text/markdown")
                    for key in data
                )
                text = "" if shown_otherwise else data.get("text/plain", "")
            else:
                continue
            text = "".join(text) if isinstance(text, list) else text
            out.extend((index, line) for line in text.splitlines())
    return out


OUTPUT_PRE = re.compile(
    r'<div class="output (?:stream|text_plain)[^"]*"><div class="highlight"><pre>(.*?)</pre>',
    re.DOTALL,
)


def html_output_lines(page: str) -> list[tuple[int, str]]:
    """(output number, line) for every printed line a built HTML page shows (stream and plain
    text outputs of its cells)."""
    out: list[tuple[int, str]] = []
    for index, block in enumerate(OUTPUT_PRE.findall(page)):
        text = html.unescape(re.sub(r"<[^>]+>", "", block))
        out.extend((index, line) for line in text.splitlines())
    return out


def too_long(lines: list[tuple[int, str]]) -> list[str]:
    return [
        f"{where}: {len(line)} chars: {line.strip()[:60]}"
        for where, line in lines
        if len(line) > WIDTH
    ]


PAGES = sorted(p for p in BOOK.glob("*.md") if "kernelspec:" in p.read_text(encoding="utf-8"))
BUILT = sorted(EXECUTED.glob("*.ipynb")) if EXECUTED.exists() else []
SITE = ROOT / "_build" / "html" / "book"
HTML_PAGES = sorted(SITE.glob("*.html")) if SITE.exists() else []


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_code_lines_fit(page):
    long = too_long(code_lines(page.read_text(encoding="utf-8")))
    assert not long, (
        f"{page.name}: code lines over {WIDTH} characters (line number: length: start):\n"
        + "\n".join(long)
    )


@pytest.mark.skipif(not BUILT, reason="no executed notebooks: build the book first")
@pytest.mark.parametrize("notebook", BUILT, ids=[p.name for p in BUILT])
def test_printed_lines_fit(notebook):
    long = too_long(output_lines(json.loads(notebook.read_text(encoding="utf-8"))))
    assert not long, (
        f"{notebook.name}: printed lines over {WIDTH} characters (cell index: length: start):\n"
        + "\n".join(long)
    )


@pytest.mark.skipif(not HTML_PAGES, reason="no built site: build the book first")
@pytest.mark.parametrize("page", HTML_PAGES, ids=[p.name for p in HTML_PAGES])
def test_shown_output_fits(page):
    """The same on the built pages (a build that takes a page from the execution cache may
    write its executed notebook without outputs)."""
    long = too_long(html_output_lines(page.read_text(encoding="utf-8")))
    assert not long, (
        f"{page.name}: printed lines over {WIDTH} characters (output number: length: start):\n"
        + "\n".join(long)
    )


def test_the_scanners_themselves():
    page = (
        "# Title\n\n```python\n" + "x" * 90 + "\n```\n\n"
        "```{code-cell} ipython3\n---\nmystnb:\n  figure:\n    caption: '" + "c" * 90 + "'\n---\n"
        "short = 1\n" + "y" * 71 + "\n```\n\n"
        "```{code-cell} ipython3\n:tags: [remove-input]\n\nz = 2\n```\n"
    )
    lines = code_lines(page)
    assert [line for _, line in lines] == ["short = 1", "y" * 71, "", "z = 2"]
    assert [n for n, _ in lines] == [13, 14, 19, 20]
    assert too_long(lines) == [f"14: 71 chars: {'y' * 60}"]
    notebook = {
        "cells": [
            {"outputs": [{"output_type": "stream", "text": ["ok\n", "w" * 71 + "\n"]}]},
            {
                "metadata": {"tags": ["remove-cell"]},
                "outputs": [{"output_type": "stream", "text": "h" * 90}],
            },
            {
                "outputs": [
                    {"output_type": "execute_result", "data": {"text/plain": "v" * 80}},
                    {
                        "output_type": "display_data",
                        "data": {"text/plain": "<Figure " + "f" * 80 + ">", "image/png": ""},
                    },
                ]
            },
        ]
    }
    assert [len(line) for _, line in output_lines(notebook)] == [2, 71, 80]
    page = (
        '<div class="output stream highlight-myst-ansi notranslate"><div class="highlight">'
        "<pre><span></span>a &lt; b\n" + "x" * 71 + "\n</pre></div>"
        '<div class="highlight"><pre>' + "c" * 90 + "</pre></div>"
    )
    assert [len(line) for _, line in html_output_lines(page)] == [5, 71]
