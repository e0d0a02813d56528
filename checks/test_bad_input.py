"""Broken submissions get a one-line message per problem, never a traceback, and the other
topics are still graded. Each case is a real broken file in a copy of solutions/."""

from __future__ import annotations

import shutil
import time

import pytest

from checks.runner import ROOT, graded_topics, run_graded

# These checks start whole pytest runs of every topic: far longer than one graded test.
pytestmark = pytest.mark.timeout(900)

BROKEN = "news"  # the topic whose file each case breaks
OTHERS = [t for t in graded_topics() if t != BROKEN]


def submission(tmp_path, source: str | None):
    """A copy of solutions/ in which news.py is replaced by ``source`` (None: deleted)."""
    folder = tmp_path / "submission"
    shutil.copytree(ROOT / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__"))
    target = folder / f"{BROKEN}.py"
    if source is None:
        target.unlink()
    else:
        target.write_text(source, encoding="utf-8")
    return folder


def assert_clean_report(run, expected: str):
    """Every test of the broken topic fails with ``expected``; the others pass; no traceback."""
    assert run.scores is not None, run.output[-2000:]
    assert "Traceback" not in run.output, run.output[-3000:]
    broken = [t for t in run.scores["tests"] if t["topic"] == BROKEN]
    assert broken and not any(t["passed"] for t in broken)
    for test in broken:
        assert expected in test["message"], test["message"]
        assert len(test["message"].splitlines()) == 1, test["message"]
    others = [t for t in run.scores["tests"] if t["topic"] != BROKEN]
    assert all(t["passed"] for t in others), [t["nodeid"] for t in others if not t["passed"]]
    assert {t["topic"] for t in others} == set(OTHERS)


def test_missing_folder_is_one_line():
    run = run_graded(ROOT / "no-such-folder")
    assert run.code == 4
    assert "--impl" in run.output and "no folder" in run.output
    assert "Traceback" not in run.output and len(run.output.strip().splitlines()) == 1


def test_file_instead_of_folder_is_one_line():
    run = run_graded(ROOT / "solutions" / "news.py")
    assert run.code == 4 and "is a file" in run.output and "Traceback" not in run.output


def test_missing_topic_file(tmp_path):
    run = run_graded(submission(tmp_path, None))
    assert_clean_report(run, f"no file {BROKEN}.py")


def test_syntax_error(tmp_path):
    run = run_graded(submission(tmp_path, "def percent_change(old, new)\n    return 1\n"))
    assert_clean_report(run, f"{BROKEN}.py line 1: syntax error")


def test_raises_on_import(tmp_path):
    run = run_graded(submission(tmp_path, "x = 1\nvalue = 1 / 0\n"))
    assert_clean_report(run, "raised ZeroDivisionError while being imported (line 2)")


def test_exits_on_import(tmp_path):
    run = run_graded(submission(tmp_path, "import sys\nsys.exit(3)\n"))
    assert_clean_report(run, "called exit(3) while being imported")


def test_endless_loop_on_import(tmp_path):
    start = time.monotonic()
    run = run_graded(submission(tmp_path, "while True:\n    pass\n"), extra=("-o", "timeout=2"))
    assert_clean_report(run, "did not finish importing within the time limit")
    assert time.monotonic() - start < 60, "the import should be tried once, not once per test"


def test_endless_loop_in_a_function(tmp_path):
    source = (ROOT / "solutions" / "news.py").read_text(encoding="utf-8")
    source += "\n\ndef active_share(active, total):\n    while True:\n        pass\n"
    run = run_graded(submission(tmp_path, source), extra=("-o", "timeout=2"))
    assert run.scores is not None and "Traceback" not in run.output
    looping = [t for t in run.scores["tests"] if t["exercise"] == "active_share"]
    assert looping and all(
        "did not finish within the 2 s time limit" in t["message"] for t in looping
    )
    assert "Timeout" not in run.output, "pytest-timeout's stack dump should not be shown"
    finished = [t for t in run.scores["tests"] if t["exercise"] != "active_share"]
    assert all(t["passed"] for t in finished)


@pytest.mark.parametrize("impl", ["exercises", "solutions"])
def test_grade_command_prints_a_table(impl):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "grading", "--impl", impl],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "TOTAL" in done.stdout and "Chapter 1" in done.stdout
    expected = "(0%)" if impl == "exercises" else "(100%)"
    assert expected in done.stdout, done.stdout
