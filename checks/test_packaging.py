"""The install, the licences and the GitHub workflows, checked without installing or running them.

- ``requirements-grading.txt`` (what ``make grade`` and Gradescope install) covers every package
  that grading imports; ``requirements.txt`` adds the rest on top of it.
- The licence files are the two licences the README names; ``CITATION.cff`` is valid YAML.
- Every ``run:`` step of a workflow is a Makefile target (or a command the README documents).
"""

from __future__ import annotations

import ast
import re
import shlex
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
LOCAL = {"course", "grading", "solutions", "exercises", "tests", "checks", "conftest"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(path: Path) -> dict[str, str]:
    """Normalised package name → pinned version, from one requirements file (not its ``-r``)."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[_normal(name)] = version.strip()
    return pins


def imported_modules(path: Path) -> set[str]:
    """Every module name a Python file imports, at the top level or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def grading_files() -> list[Path]:
    """The graded tests, the grader, the topic files, and the course modules they reach."""
    todo = [
        *ROOT.glob("tests/*.py"),
        *ROOT.glob("grading/*.py"),
        *ROOT.glob("solutions/*.py"),
        *ROOT.glob("exercises/*.py"),
        ROOT / "conftest.py",
    ]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_modules(path):
            parts = name.split(".")
            if parts[0] == "course" and len(parts) > 1:
                module = ROOT / "course" / f"{parts[1]}.py"
                if module.is_file():
                    todo.append(module)
    return sorted(seen)


def test_grading_requirements_cover_what_grading_imports():
    distributions = metadata.packages_distributions()
    light = pinned(ROOT / "requirements-grading.txt")
    needed = {}
    for path in grading_files():
        for name in imported_modules(path):
            top = name.split(".")[0]
            if top in LOCAL or top in sys.stdlib_module_names:
                continue
            for dist in distributions.get(top, [top]):
                needed.setdefault(_normal(dist), set()).add(path.relative_to(ROOT).as_posix())
    missing = {name: sorted(files) for name, files in needed.items() if name not in light}
    assert not missing, f"imported by grading but not in requirements-grading.txt: {missing}"
    assert {"numpy", "torch", "ml-dtypes", "pyyaml", "pytest", "pytest-timeout"} <= set(light)
    assert not set(light) & {"matplotlib", "jupyter-book", "sphinx", "jupyterlab", "playwright"}
    # course modules that need the site's toolchain are not reached from grading
    assert ROOT / "course" / "style.py" not in grading_files()


def test_full_requirements_add_to_the_grading_ones():
    full_text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    assert "-r requirements-grading.txt" in full_text.splitlines()
    light, full = pinned(ROOT / "requirements-grading.txt"), pinned(ROOT / "requirements.txt")
    assert not set(light) & set(full), "a package is pinned in both files"
    assert {"jupyter-book", "jupyterlab", "jupytext", "matplotlib", "ruff", "playwright"} <= set(
        full
    )
    assert full["jupyterlab"] == "4.6.6"
    # pyproject: the dependencies are the grading packages, the extras come from requirements.txt
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(specs):
        return {_normal(re.split(r"[ <>=!~\[;]", spec, maxsplit=1)[0]) for spec in specs}

    assert names(project["dependencies"]) <= set(light)
    extras = set().union(*(names(v) for v in project["optional-dependencies"].values()))
    assert extras <= set(full)


def test_licences_and_citation():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Text CC BY 4.0, code MIT" in readme
    mit = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert mit.startswith("MIT License") and "Permission is hereby granted" in mit
    cc = (ROOT / "LICENSE-CC-BY-4.0").read_text(encoding="utf-8")
    assert cc.startswith("Attribution 4.0 International") and "Section 8 -- Interpretation." in cc
    for name in ("LICENSE", "LICENSE-CC-BY-4.0", "CITATION.cff"):
        assert f"`{name}`" in readme
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0" and citation["title"] and citation["authors"]
    assert set(citation["license"]) == {"MIT", "CC-BY-4.0"}


def makefile_targets_and_variables() -> tuple[set[str], set[str]]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):(?!=)", text, flags=re.MULTILINE))
    variables = set(re.findall(r"^([A-Z_]+)\s*[:?]?=", text, flags=re.MULTILINE))
    variables |= set(re.findall(r"\$\((?:or )?\$\(([A-Z_]+)\)", text))
    variables |= set(re.findall(r"\$\(([A-Z_]+)\)", text))
    return targets, variables


def documented_commands() -> set[str]:
    """The lines of the README's and CONTRIBUTING's shell blocks, without their comments."""
    lines = set()
    for name in ("README.md", "CONTRIBUTING.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
            lines |= {line.split("#")[0].strip() for line in block.splitlines() if line.strip()}
    return lines


WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def workflow_steps(path: Path) -> list[dict]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data.get("name") and data.get("jobs"), f"{path.name}: a name and jobs"
    assert "on" in data or True in data, f"{path.name}: no trigger (`on:`)"
    steps = []
    for job_name, job in data["jobs"].items():
        assert job.get("runs-on") and job.get("steps"), f"{path.name}: job {job_name}"
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), f"{path.name}: {step}"
            steps.append(step)
    return steps


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_workflow_steps_call_the_makefile(path):
    targets, variables = makefile_targets_and_variables()
    documented = documented_commands()
    for step in workflow_steps(path):
        for line in step.get("run", "").splitlines():
            line = line.strip()
            if not line or line in documented:
                continue
            words = shlex.split(line)
            assert words[0] == "make", f"{path.name}: `{line}` is neither make nor documented"
            for word in words[1:]:
                if "=" in word:
                    assert word.split("=")[0] in variables, f"{path.name}: unknown {word}"
                else:
                    assert word in targets, f"{path.name}: no Makefile target {word!r}"
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]), step["uses"]


def test_pages_and_classroom_workflows():
    names = {p.name for p in WORKFLOWS}
    assert {"pages.yml", "classroom.yml"} <= names
    pages = workflow_steps(ROOT / ".github" / "workflows" / "pages.yml")
    runs = [s["run"] for s in pages if "run" in s]
    assert any(r.startswith("make book") for r in runs)
    uploads = [s for s in pages if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert uploads and uploads[0]["with"]["path"] == "_build/html"
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in pages)
    data = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text())
    assert data["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    classroom = workflow_steps(ROOT / ".github" / "workflows" / "classroom.yml")
    assert any(s.get("run", "").startswith("make grade") for s in classroom)
    on = yaml.safe_load((ROOT / ".github" / "workflows" / "classroom.yml").read_text())
    assert "push" in on.get("on", on.get(True))
