"""The course's small Sphinx extension (listed in ``_config.yml`` under ``extra_extensions``).

1. Offline: Jupyter Book 1 always loads ``sphinx_thebe``, which writes an inline script naming a
   CDN copy of thebe into every page (twice, on some builds). The course has no live code cells,
   so that script injection is disconnected.
2. Notebook downloads: every chapter written as a MyST notebook is also offered as a Jupyter
   notebook (``.ipynb``) from the page's download menu.
3. Fresh assets: Sphinx skips copying static files when no page is out of date, so a change to
   ``assets/`` alone would not reach the site; such builds copy them anyway.
4. Glued numbers: every number a ``{glue:text}`` role pastes goes through
   ``course.style.prose_number`` ("1.2e-07" → "1.2 × 10⁻⁷", "-20.4" → "−20.4"), and a "$" typed
   just before it, or a "%", "×", "million"/"billion"/"trillion" or a k/M/B/T suffix just after
   it, moves inside its span, so the number is read (and highlighted) with its unit.
5. Citations: the author–year styles of ``course/bibstyle.py`` ("DeepSeek-AI, 2024a" in the text
   and in the bibliography), which ``_config.yml`` names.
6. Plain-Jupyter downloads: after the build, each chapter's download is replaced by its executed
   notebook with the MyST turned into Markdown (``course.notebook_export``).
7. ``make mine`` (``$COURSE_MINE_STATUS`` set): a banner on each chapter says which
   implementation drew it and how many exercises are done, and a glued value that a failed cell
   never computed shows as "—" instead of failing the build.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import jupytext
import nbformat
from docutils import nodes
from myst_nb.ext.glue.roles import PasteMarkdownRole, PasteRoleAny, PasteTextRole
from sphinx.application import Sphinx
from sphinx.util import logging

from course import bibstyle, impl, style

LOGGER = logging.getLogger(__name__)

NOTEBOOK_NOTE = (
    "This notebook is a chapter of the course *Why was DeepSeek cheap?*. Run it from a clone of "
    "the course repository after `make setup`, with the kernel of the repository's `.venv`, so "
    "that `course` and `solutions` can be imported."
)


def _drop_thebe_scripts(app: Sphinx) -> None:
    for listener in list(app.events.listeners.get("env-before-read-docs", [])):
        if getattr(listener.handler, "__name__", "") == "init_thebe_core":
            app.disconnect(listener.id)


def notebook_from_myst(source: Path) -> nbformat.NotebookNode | None:
    """The Jupyter notebook for a MyST notebook page, or None for a plain Markdown page."""
    text = source.read_text(encoding="utf-8")
    notebook = jupytext.reads(text, fmt="md:myst")
    if "kernelspec" not in notebook.metadata:
        return None
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell(NOTEBOOK_NOTE))
    return notebook


def _offer_notebook(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Write ``_sources/<page>.ipynb`` and tell the book theme to list it under "download"."""
    if doctree is None or pagename not in app.env.found_docs:
        return
    source = Path(app.env.doc2path(pagename))
    if source.suffix != ".md":
        return
    notebook = notebook_from_myst(source)
    if notebook is None:
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def _note_page_written(app: Sphinx, *args: Any) -> None:
    app.course_pages_written = True  # type: ignore[attr-defined]


def _copy_assets_if_nothing_was_written(app: Sphinx, exception: Exception | None) -> None:
    """Copy changed files of ``html_static_path`` into ``_static/`` after a build that wrote no page."""
    if exception is not None or app.builder.format != "html":
        return
    if getattr(app, "course_pages_written", False):
        return
    target_root = Path(app.outdir) / "_static"
    for folder in app.config.html_static_path:
        source_root = Path(app.confdir) / folder
        for source in source_root.rglob("*"):
            target = target_root / source.relative_to(source_root)
            if source.is_file() and (
                not target.exists() or source.stat().st_mtime > target.stat().st_mtime
            ):
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)


UNIT_AFTER = re.compile(r"^(?:%|×| (?:thousand|million|billion|trillion)\b|[kMBT](?![\w-]))")


def tidy_glued_number(before: str, text: str, after: str) -> tuple[str, str, str]:
    """(text before, glued number, text after) with the number written for the prose.

    The number goes through ``style.prose_number``; a "$" that ends ``before`` and a unit that
    starts ``after`` (see ``UNIT_AFTER``) move into it.
    """
    text = style.prose_number(text)
    if before.endswith("$"):
        before, text = before[:-1], "$" + text
    unit = UNIT_AFTER.match(after)
    if unit:
        text, after = text + unit.group(0), after[unit.end() :]
    return before, text, after


def _tidy_glued_numbers(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    for node in list(doctree.findall(nodes.inline)):
        if "pasted-text" not in node.get("classes", []) or node.parent is None:
            continue
        parent, index = node.parent, node.parent.index(node)
        previous = parent[index - 1] if index > 0 else None
        following = parent[index + 1] if index + 1 < len(parent) else None
        before = str(previous) if isinstance(previous, nodes.Text) else ""
        after = str(following) if isinstance(following, nodes.Text) else ""
        new_before, text, new_after = tidy_glued_number(before, node.astext(), after)
        if new_before != before:
            parent.replace(previous, nodes.Text(new_before))
        if new_after != after:
            parent.replace(following, nodes.Text(new_after))
        if text != node.astext():
            node.children = []
            node += nodes.Text(text)


def _export_notebooks(app: Sphinx, exception: Exception | None) -> None:
    """Replace each chapter's ``_sources/<page>.ipynb`` by its executed, plain-Jupyter notebook."""
    if exception is not None or app.builder.format != "html":
        return
    from course.notebook_export import export_all

    executed = Path(app.outdir).parent / "jupyter_execute"
    if not executed.is_dir():
        return
    spec = impl.chosen() if os.environ.get("COURSE_MINE_STATUS") else impl.REFERENCE
    written, failed = export_all(executed, Path(app.srcdir), Path(app.outdir) / "_sources", spec)
    LOGGER.info(f"plain-Jupyter notebooks written for {len(written)} pages")
    for page, reason in failed.items():
        LOGGER.warning(f"{page}: no plain-Jupyter notebook ({reason})")


def _dash_if_missing(role_class: type) -> type:
    """A glue role that shows "—" where the value was never glued (a cell failed before it)."""

    class Role(role_class):
        def run(self):
            result, messages = super().run()
            if result or not messages:
                return result, messages
            return [nodes.inline("—", "—", classes=["pasted-text", "glue-missing"])], []

    return Role


def _mine_banner(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    if doctree is None or "body" not in context or pagename not in app.env.found_docs:
        return
    source = Path(app.env.doc2path(pagename))
    topics = impl.topics_of_page(source.read_text(encoding="utf-8")) if source.is_file() else []
    status = json.loads(Path(os.environ["COURSE_MINE_STATUS"]).read_text(encoding="utf-8"))
    banner = impl.banner_html(status["label"], topics, status.get("scores"))
    context["body"] = banner + context["body"]


def setup(app: Sphinx) -> dict[str, bool]:
    bibstyle.register()
    # ``make mine`` sets $COURSE_MINE_STATUS to a JSON file: {"label", "scores" (grader JSON)}.
    if not os.environ.get("COURSE_MINE_STATUS"):
        # The site is always drawn by the reference, whatever the shell says.
        os.environ.pop(impl.ENV, None)
    else:
        for name, role_class in (
            ("text", PasteTextRole),
            ("md", PasteMarkdownRole),
            ("any", PasteRoleAny),
            ("", PasteRoleAny),
        ):
            app.add_role_to_domain("glue", name, _dash_if_missing(role_class)(), override=True)
        app.connect("html-page-context", _mine_banner)
    app.setup_extension("sphinx_thebe")
    _drop_thebe_scripts(app)
    # Before sphinx-book-theme builds its header buttons (priority 501), so the download menu
    # lists the notebook; and again after its launch buttons, which copy a notebook of their
    # own to the same place.
    app.connect("html-page-context", _offer_notebook, priority=400)
    app.connect("html-page-context", _offer_notebook, priority=600)
    app.connect("html-page-context", _note_page_written)
    app.connect("build-finished", _copy_assets_if_nothing_was_written)
    app.connect("doctree-resolved", _tidy_glued_numbers)
    app.connect("build-finished", _export_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
