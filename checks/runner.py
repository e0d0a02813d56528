"""Run the graded tests in a separate pytest process and read back the scores (for self-checks)."""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from course.topics import TOPICS
from grading.isolation import TREE_PARTS

ROOT = Path(__file__).resolve().parents[1]


def graded_topics() -> list[str]:
    """Topics that have a graded test file, in chapter order."""
    return [t for t in TOPICS if (ROOT / "tests" / f"test_{t}.py").is_file()]


@functools.cache
def instructor_tree(*topics: str) -> Path:
    """A copy of the instructor's tree whose tests/ holds only the tests of ``topics``."""
    tree = Path(tempfile.mkdtemp(prefix="-".join(topics) + "-only-"))
    atexit.register(shutil.rmtree, tree, ignore_errors=True)
    for part in TREE_PARTS:
        source = ROOT / part
        if part == "tests":
            (tree / "tests").mkdir()
            for topic in topics:
                name = f"test_{topic}.py"
                shutil.copyfile(source / name, tree / "tests" / name)
        elif source.is_dir():
            shutil.copytree(source, tree / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(source, tree / part)
    return tree


@dataclass
class Run:
    """The outcome of one pytest process: exit code, combined output and the JSON scores."""

    code: int
    output: str
    scores: dict | None


def run_graded(
    impl: str | Path, *targets: str, extra: tuple[str, ...] = (), timeout: float = 300
) -> Run:
    """Run ``pytest --impl IMPL TARGETS`` (default: all graded tests) in a fresh process."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "scores.json"
        command = [
            sys.executable, "-m", "pytest", *(targets or ["tests"]), "--impl", str(impl),
            "-q", "--no-header", "-p", "no:cacheprovider", "--grading-json", str(report), *extra,
        ]  # fmt: skip
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
        scores = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
    return Run(done.returncode, done.stdout + done.stderr, scores)
