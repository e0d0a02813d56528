"""Every chapter, downloaded as a Jupyter notebook from the site, runs top to bottom.

The build executes each page (in ``book/``, errors fail it) and keeps the executed notebook in
``_build/jupyter_execute/``. A downloaded notebook whose code cells are those same cells, in
the same order, therefore runs as the build ran it; that is checked for every chapter. One
chapter is also run again from its download, in a fresh kernel, end to end.
"""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from checks.site import HTML, ROOT, toc_pages

EXECUTED = ROOT / "_build" / "jupyter_execute"
NOTEBOOKS = [p for p in toc_pages() if (HTML / "_sources" / f"{p}.ipynb").exists()]
RUN_AGAIN = "book/news"  # the first chapter: short, and it imports the course like every other

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
    assert code_cells(downloaded) == code_cells(executed), (
        f"{page}: the download's code cells differ from the cells the build executed"
    )
    assert not error_outputs(executed), error_outputs(executed)


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
