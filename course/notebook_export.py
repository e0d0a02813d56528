"""Chapters as plain Jupyter notebooks: executed, with MyST turned into what Jupyter renders.

The site's build executes every chapter and keeps the executed notebook (outputs included) in
``_build/jupyter_execute/``, with the values glued by ``myst_nb.glue`` beside it
(``<page>.glue.json``). ``export`` turns one of these into a notebook that reads well in plain
Jupyter: glued values written into the text, citations as "(Author, year)" with the references
listed at the end, admonitions as block quotes, dropdowns as ``<details>`` blocks, included
solution code written out, cross-references as plain text or links to the sibling notebooks,
and a first code cell that chooses the implementation the notebook runs.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
from myst_nb.core.variables import format_plain_text
from pybtex.database import BibliographyData, parse_file

from course import bibstyle
from course.style import prose_number

CHOOSER = """\
# Which implementation of the exercises this notebook runs: "solutions" (the reference, as on
# the website), "exercises" (your own work in exercises/), or the path of a folder of topic files.
from course import impl

impl.use("{spec}")"""

INTRO = (
    "*This notebook is a chapter of the course **Why was DeepSeek cheap?**, executed when the "
    "site was built. Run it from a clone of the course repository after `make setup`, with the "
    "kernel of the repository's `.venv`; the first code cell chooses whose code it runs.*"
)

FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}\s*(?P<arg>.*)$")
PLAIN_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
ROLE = re.compile(r"\{(?P<role>[a-z]+(?::[a-z]+)?)\}`(?P<content>[^`]*)`")
TARGET = re.compile(r"^\(([\w-]+)\)=\s*$")
TITLES = {"note": "Note", "tip": "Tip", "warning": "Warning", "important": "Important"}


# ---------------------------------------------------------------------------------------------
# Citations


class Citations:
    """Renders ``{cite:p}``/``{cite:t}`` and remembers the keys for the reference list."""

    def __init__(self, bib: BibliographyData) -> None:
        self.bib = bib
        self.labels = bibstyle.labels_by_key(bib.entries.values())
        self.used: list[str] = []

    def cite(self, role: str, content: str) -> str:
        keys = [k.strip() for k in content.split(",") if k.strip()]
        for key in keys:
            if key not in self.used:
                self.used.append(key)
        labels = [self.labels.get(k, k) for k in keys]
        if role == "cite:t":
            return "; ".join(re.sub(r"^(.*), (\S+)$", r"\1 (\2)", label) for label in labels)
        return "(" + "; ".join(labels) + ")"

    def references(self) -> str:
        """A Markdown "References" section for the keys cited so far ('' if none)."""
        entries = [self.bib.entries[k] for k in self.used if k in self.bib.entries]
        if not entries:
            return ""
        lines = ["## References", ""]
        bibstyle.register()
        for entry in bibstyle.CourseStyle().format_entries(entries):
            text = re.sub(r"(?<!\\)\$", r"\\$", entry.text.render_as("text"))
            lines.append(f"- **{self.labels[entry.key]}.** {text}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Markdown


def _pyobject_source(path: Path, name: str) -> str:
    """The source of top-level function or class ``name`` (``A.b`` for a method) in ``path``."""
    text = path.read_text(encoding="utf-8")
    body = ast.parse(text).body
    node = None
    for part in name.split("."):
        node = next(
            n
            for n in body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and n.name == part
        )
        body = node.body
    lines = text.splitlines()
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
    block = lines[start : node.end_lineno]
    indent = len(block[0]) - len(block[0].lstrip())
    return "\n".join(line[indent:] for line in block)


def _literalinclude(arg: str, options: dict[str, str], page_dir: Path) -> str:
    path = (page_dir / arg.strip()).resolve()
    if "pyobject" in options:
        code = _pyobject_source(path, options["pyobject"])
    else:
        lines = path.read_text(encoding="utf-8").splitlines()
        if "start-at" in options:
            lines = lines[next(i for i, s in enumerate(lines) if options["start-at"] in s) :]
        if "end-at" in options:
            lines = lines[: next(i for i, s in enumerate(lines) if options["end-at"] in s) + 1]
        code = "\n".join(lines)
    language = options.get("language", "python")
    return f"```{language}\n{code}\n```"


class MarkdownConverter:
    """MyST Markdown of one page → Markdown that plain Jupyter renders."""

    def __init__(self, glue: dict[str, dict], citations: Citations, page_dir: Path) -> None:
        self.glue = glue
        self.citations = citations
        self.page_dir = page_dir

    # roles ------------------------------------------------------------------------------
    def role(self, match: re.Match) -> str:
        role, content = match["role"], match["content"]
        if role in ("glue:text", "glue", "glue:any", "glue:md"):
            key, _, spec = content.partition(":") if role == "glue:text" else (content, "", "")
            data = self.glue.get(key, {}).get("data", {})
            if role == "glue:md" and "text/markdown" in data:
                return self.inline(data["text/markdown"])
            if "text/plain" not in data:
                return "—"
            return prose_number(format_plain_text(data["text/plain"], spec))
        if role in ("cite:p", "cite:t", "cite"):
            return self.citations.cite(role, content)
        if role == "math":
            return f"${content}$"
        text, target = _split_target(content)
        if role == "doc":
            return f"[{text or target}]({target.split('/')[-1]}.ipynb)"
        return text or target  # term, ref, numref, abbr ...

    def inline(self, text: str) -> str:
        return ROLE.sub(self.role, text)

    # blocks ------------------------------------------------------------------------------
    def convert(self, source: str) -> str:
        return "\n".join(self._lines(source.splitlines()))

    def _lines(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(lines):
            line = lines[i]
            if TARGET.match(line) or line.lstrip().startswith("% "):
                i += 1
                continue
            plain = PLAIN_FENCE.match(line)
            if plain and not FENCE.match(line):
                end = _closing(lines, i + 1, plain.group(1))
                out.extend(lines[i : end + 1])
                i = end + 1
                continue
            fence = FENCE.match(line)
            if not fence:
                out.append(self.inline(line))
                i += 1
                continue
            end = _closing(lines, i + 1, fence["fence"])
            body = lines[i + 1 : end]
            options: dict[str, str] = {}
            while body and re.match(r"^\s*:[\w-]+:", body[0]):
                key, _, value = body.pop(0).strip()[1:].partition(":")
                options[key] = value.strip().strip('"')
            while body and not body[0].strip():
                body.pop(0)
            out.extend(self._directive(fence["name"], fence["arg"], options, body))
            i = end + 1
        return out

    def _directive(
        self, name: str, arg: str, options: dict[str, str], body: list[str]
    ) -> list[str]:
        if name == "literalinclude":
            return _literalinclude(arg, options, self.page_dir).splitlines()
        if name == "math":
            return ["$$", *body, "$$"]
        inner = self._lines(body)
        if name == "dropdown":
            return [f"<details><summary>{self.inline(arg)}</summary>", "", *inner, "", "</details>"]
        title = self.inline(arg) if name == "admonition" else TITLES.get(name, name.title())
        quoted = [f"> {line}" if line.strip() else ">" for line in inner]
        return [f"> **{title}**" if title else ">", ">", *quoted]


def _split_target(content: str) -> tuple[str, str]:
    """``("GPU-hours", "GPU-hour")`` from ``GPU-hours <GPU-hour>``; ``("", x)`` from ``x``."""
    match = re.match(r"^(.*?)\s*<([^>]+)>$", content, flags=re.S)
    if match:
        return match[1], match[2]
    return "", content


def _closing(lines: list[str], start: int, fence: str) -> int:
    for j in range(start, len(lines)):
        if lines[j].strip() == fence:
            return j
    return len(lines) - 1


# ---------------------------------------------------------------------------------------------
# Notebooks


def export(
    executed: Path, page_source: Path, bib: BibliographyData, spec: str = "solutions"
) -> nbformat.NotebookNode:
    """The plain-Jupyter notebook of an executed chapter (``executed``, from ``page_source``)."""
    notebook = nbformat.read(executed, as_version=4)
    glue_file = executed.with_suffix(".glue.json")
    glue = json.loads(glue_file.read_text(encoding="utf-8")) if glue_file.is_file() else {}
    citations = Citations(bib)
    converter = MarkdownConverter(glue, citations, page_source.parent)
    cells = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and not any(c.cell_type == "code" for c in cells):
            cells.append(nbformat.v4.new_markdown_cell(INTRO))
            cells.append(nbformat.v4.new_code_cell(CHOOSER.format(spec=spec)))
        if cell.cell_type == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(converter.convert(cell.source)))
            continue
        if cell.cell_type != "code":
            continue
        cells.append(_plain_code_cell(cell, converter))
        caption = cell.metadata.get("mystnb", {}).get("figure", {}).get("caption")
        if caption:
            cells.append(nbformat.v4.new_markdown_cell(f"*{converter.inline(caption)}*"))
    if citations.used:
        cells.append(nbformat.v4.new_markdown_cell(citations.references()))
    result = nbformat.v4.new_notebook(cells=cells)
    result.metadata = {
        k: v for k, v in notebook.metadata.items() if k in ("kernelspec", "language_info")
    }
    return result


def _plain_code_cell(cell: nbformat.NotebookNode, converter: MarkdownConverter):
    tags = set(cell.metadata.get("tags", []))
    new = nbformat.v4.new_code_cell(cell.source)
    new.execution_count = cell.get("execution_count")
    outputs = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if data and all(k.startswith("application/papermill.record") for k in data):
            continue  # a glued value: written into the text instead
        if "text/markdown" in data:
            output = nbformat.from_dict(json.loads(json.dumps(output)))
            output["data"]["text/markdown"] = converter.convert(data["text/markdown"])
        outputs.append(output)
    new.outputs = outputs
    jupyter = {}
    if tags & {"remove-cell", "remove-input", "hide-input", "hide-cell"}:
        jupyter["source_hidden"] = True
    if tags & {"remove-output", "hide-output"}:
        jupyter["outputs_hidden"] = True
    if jupyter:
        new.metadata["jupyter"] = jupyter
    if tags:
        new.metadata["tags"] = sorted(tags)
    return new


def export_all(
    jupyter_execute: Path, source_root: Path, target_root: Path, spec: str
) -> tuple[list[str], dict[str, str]]:
    """Export every executed page under ``jupyter_execute`` to ``target_root/<page>.ipynb``.

    Returns the pages written and ``{page: reason}`` for those that could not be converted.
    """
    bib = parse_file(str(source_root / "book" / "references.bib"))
    written, failed = [], {}
    for executed in sorted(jupyter_execute.rglob("*.ipynb")):
        page = executed.relative_to(jupyter_execute).with_suffix("")
        source = source_root / page.with_suffix(".md")
        if not source.is_file():
            continue
        try:
            notebook = export(executed, source, bib, spec)
        except Exception as error:  # one odd page must not cost the others their download
            failed[page.as_posix()] = f"{type(error).__name__}: {error}"
            continue
        target = target_root / f"{page}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
        written.append(page.as_posix())
    return written, failed
