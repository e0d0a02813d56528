"""Build the chapters with a learner's implementation: what ``make mine`` runs.

    python scripts/build_mine.py [--impl exercises|solutions|PATH]

Every chapter is executed with the chosen implementation (``course.impl`` loads each topic
through the graders' loader) and built into ``_build/mine/html``; the reference site in
``_build/html`` is not touched. A cell that fails shows a one-line box instead of failing the
build, and a banner on each chapter says which implementation drew it and how many of the
chapter's exercises pass their graded tests (the grader runs once per implementation state).

Each state of the implementation (its topic files, the course code and data) has its own
folder ``_build/mine/<key>/`` with the execution cache, doctrees, scores and pages, so a warm
run executes nothing; ``_build/mine/html`` points to the latest. The command ends with a
summary and exits non-zero only if the build itself broke.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course import impl  # noqa: E402
from course.topics import TOPICS  # noqa: E402
from grading.loader import NAMED_IMPLS, ImplError, resolve_impl  # noqa: E402

MINE = ROOT / "_build" / "mine"
KEEP = 4  # implementation states kept (the oldest beyond this are removed)
GRADE_SECONDS = 600
PAGE_INPUTS = ["course/*.py", "course/data/*", "solutions/*.py", "assets/*.css", "assets/*.js"]


def state_key(spec: str, folder: Path) -> str:
    """A hash of the implementation's topic files and of everything else the pages import."""
    digest = hashlib.sha1(spec.encode())
    files = sorted(folder.glob("*.py"))
    for pattern in PAGE_INPUTS:
        files += sorted(ROOT.glob(pattern))
    files += [ROOT / "_config.yml", Path(__file__)]
    for path in files:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def grade(spec: str, target: Path) -> dict | None:
    """The graded tests' JSON for the implementation (run once per state), or None if it failed.

    The graded tests run as ``make grade`` runs them, each under the suite's time limit, so a
    topic file that loops costs its own tests only.
    """
    if not target.is_file():
        # No --rootdir: with it pytest skips pyproject.toml, and so the per-test time limit.
        command = [
            sys.executable, "-m", "pytest", str(ROOT / "tests"), "--impl", spec,
            "-q", "--tb=no", "-rN", "--no-header", "--no-score-table",
            "-p", "no:cacheprovider", "--grading-json", str(target),
        ]  # fmt: skip
        print(f"==> Grading {spec} once for the banners (the graded tests, as in make grade)")
        try:
            subprocess.run(
                command, cwd=ROOT, timeout=GRADE_SECONDS, capture_output=True, check=False
            )
        except subprocess.TimeoutExpired:
            print(f"    the tests did not finish in {GRADE_SECONDS} s; banners show no scores")
    if not target.is_file():
        return None
    return json.loads(target.read_text(encoding="utf-8"))


def notes(executed: Path) -> dict[str, list[str]]:
    """{page: [the message of each "could not run" box]} from the executed notebooks."""
    import nbformat

    found: dict[str, list[str]] = {}
    for path in sorted(executed.rglob("*.ipynb")):
        messages = [
            out["data"]["text/plain"]
            for cell in nbformat.read(path, as_version=4).cells
            for out in cell.get("outputs", [])
            if "course-impl-note" in str(out.get("data", {}).get("text/html", ""))
        ]
        if messages:
            found[path.relative_to(executed).with_suffix("").as_posix()] = messages
    return found


def prune(keep: str) -> None:
    states = sorted(
        (p for p in MINE.iterdir() if p.is_dir() and not p.is_symlink() and p.name != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in states[KEEP - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--impl", default="exercises", help="exercises (default), solutions or a folder"
    )
    args = parser.parse_args(argv)
    try:
        folder = resolve_impl(args.impl)
    except ImplError as error:
        print(error)
        return 2
    spec = args.impl if args.impl in NAMED_IMPLS else str(folder)
    key = state_key(spec, folder)
    state = MINE / key
    state.mkdir(parents=True, exist_ok=True)
    os.utime(state)
    start = time.monotonic()

    scores = grade(spec, state / "scores.json")
    label = f"{args.impl}/" if args.impl in NAMED_IMPLS else str(folder)
    status = state / "status.json"
    status.write_text(json.dumps({"label": label, "scores": scores}), encoding="utf-8")

    os.environ[impl.ENV] = spec  # read by the kernels that execute the pages
    os.environ["COURSE_MINE_STATUS"] = str(status)  # read by course.sphinx_ext
    import yaml
    from jupyter_book.sphinx import build_sphinx

    # Hidden folders (a learner's .pytest_cache, editor folders) are never pages.
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))

    print(f"==> Building the chapters with {label} into _build/mine/html (state {key})")
    code = build_sphinx(
        ROOT,
        state / "html",
        noconfig=True,
        path_config=ROOT / "_config.yml",
        confoverrides={
            "external_toc_path": str(ROOT / "_toc.yml"),
            "exclude_patterns": [*config.get("exclude_patterns", []), ".*"],
            "latex_individualpages": False,
            "nb_execution_cache_path": str(state / "jupyter_cache"),
            "nb_execution_allow_errors": True,
            "nb_execution_raise_on_error": False,
            "nb_output_stderr": "show",  # a learner's warnings are theirs to see
            "suppress_warnings": ["mystnb.unknown_mime_type", "mystnb.glue"],
        },
        doctreedir=state / "doctrees",
        builder="html",
        keep_going=True,
        quiet=True,
    )
    link = MINE / "html"
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)
    link.symlink_to(Path(key) / "html")
    prune(key)

    print(f"\n==> make mine: {label}, built in {time.monotonic() - start:.0f} s")
    for topic in TOPICS:
        state_ = impl.progress(scores, topic)
        if state_["total"]:
            extra = f"  ({state_['problem']})" if state_["problem"] else ""
            print(
                f"    {topic:<10} {state_['done']:>2} of {state_['total']:>2} exercises done{extra}"
            )
    for page, messages in notes(state / "jupyter_execute").items():
        print(f"    {page}: {len(messages)} cell(s) could not run, first: {messages[0]}")
    if code != 0:
        print("==> The build itself failed (see the messages above).")
        return 1
    print("==> Open _build/mine/html/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
