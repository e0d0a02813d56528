"""Every chapter, downloaded as a Jupyter notebook from the site, reads and runs in plain Jupyter.

The build executes each page (in ``book/``, errors fail it) and keeps the executed notebook in
``_build/jupyter_execute/``. The download is that notebook, outputs included, with the MyST
turned into Markdown, plus a first code cell that chooses the implementation. Its code cells
after that one are the cells the build ran, in the same order, so it runs as the build ran it;
that is checked for every chapter, with no MyST role or directive left in its text. One chapter
is also run again from its download, in a fresh kernel, end to end.
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from myst_nb.core.variables import format_plain_text
from nbclient import NotebookClient

from checks.site import HTML, ROOT, toc_pages
from course.style import prose_number

EXECUTED = ROOT / "_build" / "jupyter_execute"
NOTEBOOKS = [p for p in toc_pages() if (HTML / "_sources" / f"{p}.ipynb").exists()]
RUN_AGAIN = "book/news"  # the first chapter: short, and it imports the course like every other
MYST = [
    re.compile(r"\{[a-z]+(?::[a-z]+)?\}`"),  # a role: {glue:text}`x`, {cite:p}`x`, {term}`x`
    re.compile(r"^\s*(`{3,}|:{3,})\{", re.M),  # a directive: :::{admonition}, ```{dropdown}
    re.compile(r"^\([\w-]+\)=\s*$", re.M),  # a target: (chapter-news)=
]

pytestmark = pytest.mark.skipif(
    not NOTEBOOKS, reason="no built site with notebooks: run 'make book' first"
)


def code_cells(notebook: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def error_outputs(notebook: nbformat.NotebookNode) -> list[str]:
    return [
        f"{out.get('ename')}: {out.get('evalue')}"
        for cell in notebook.cells
        for out in cell.get("outputs", [])
        if out.output_type == "error"
    ]


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_downloaded_notebook_is_the_code_the_build_ran(page):
    downloaded = nbformat.read(HTML / "_sources" / f"{page}.ipynb", as_version=4)
    executed = nbformat.read(EXECUTED / f"{page}.ipynb", as_version=4)
    assert downloaded.metadata.get("kernelspec", {}).get("language") == "python"
    chooser, *rest = code_cells(downloaded)
    assert 'impl.use("solutions")' in chooser, (
        f"{page}: the first code cell chooses no implementation"
    )
    assert rest == code_cells(executed), (
        f"{page}: the download's code cells differ from the cells the build executed"
    )
    assert not error_outputs(executed), error_outputs(executed)


def markdown_texts(notebook: nbformat.NotebookNode) -> list[str]:
    """The text a reader sees: Markdown cells and Markdown outputs."""
    texts = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            if "text/markdown" in out.get("data", {}):
                texts.append(out["data"]["text/markdown"])
    return texts


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_downloaded_notebook_reads_in_plain_jupyter(page):
    downloaded = nbformat.read(HTML / "_sources" / f"{page}.ipynb", as_version=4)
    nbformat.validate(downloaded)
    left = [
        m.group(0)
        for text in markdown_texts(downloaded)
        for pattern in MYST
        for m in pattern.finditer(text)
    ]
    assert not left, f"{page}: MyST that plain Jupyter shows raw: {left[:5]}"
    text = "\n".join(markdown_texts(downloaded))
    if any(cell.get("outputs") for cell in nbformat.read(EXECUTED / f"{page}.ipynb", 4).cells):
        assert any(cell.get("outputs") for cell in downloaded.cells), f"{page}: outputs lost"
    source = (ROOT / f"{page}.md").read_text(encoding="utf-8")
    if "{cite:" in source:
        assert downloaded.cells[-1].source.startswith("## References"), f"{page}: no references"
    glue_file = EXECUTED / f"{page}.glue.json"
    glued = json.loads(glue_file.read_text()) if glue_file.is_file() else {}
    for key, spec in re.findall(r"\{glue:text\}`(\w+):?([^`]*)`", source)[:10]:
        value = prose_number(format_plain_text(glued[key]["data"]["text/plain"], spec))
        assert value in text, f"{page}: the glued {key} ({value}) is not in the text"


@pytest.mark.timeout(600)
def test_a_downloaded_notebook_runs_in_a_fresh_kernel():
    notebook = nbformat.read(HTML / "_sources" / f"{RUN_AGAIN}.ipynb", as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT / "book")}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    assert not error_outputs(notebook)
