"""Every chapter, downloaded as a Jupyter notebook from the site, runs top to bottom."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from checks.site import HTML, ROOT, toc_pages

NOTEBOOKS = [p for p in toc_pages() if (HTML / "_sources" / f"{p}.ipynb").exists()]


@pytest.mark.skipif(not NOTEBOOKS, reason="no built site with notebooks: run 'make book' first")
@pytest.mark.parametrize("page", NOTEBOOKS)
@pytest.mark.timeout(600)
def test_downloaded_notebook_runs(page):
    notebook = nbformat.read(HTML / "_sources" / f"{page}.ipynb", as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT / "book")}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    errors = [
        out
        for cell in notebook.cells
        for out in cell.get("outputs", [])
        if out.output_type == "error"
    ]
    assert not errors
