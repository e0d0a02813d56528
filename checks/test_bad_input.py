"""Broken submissions get a one-line message per problem, never a traceback, and the other
topics are still graded. Each case is a real broken file in a copy of solutions/."""

from __future__ import annotations

import shutil
import time

import pytest

from checks.runner import ROOT, graded_topics, instructor_tree, run_graded

# These checks start whole pytest runs of every topic: far longer than one graded test.
pytestmark = pytest.mark.timeout(900)

BROKEN = "news"  # the topic whose file each case breaks
# One other topic stands for the rest: its tests must still run and pass. (Every topic's tests
# run on the solutions and on the stubs in checks/test_contract.py.)
OTHERS = [next(t for t in graded_topics() if t != BROKEN)]
TARGETS = tuple(f"tests/test_{t}.py" for t in (BROKEN, *OTHERS))


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
    run = run_graded(submission(tmp_path, None), *TARGETS)
    assert_clean_report(run, f"no file {BROKEN}.py")


def test_syntax_error(tmp_path):
    run = run_graded(submission(tmp_path, "def percent_change(old, new)\n    return 1\n"), *TARGETS)
    assert_clean_report(run, f"{BROKEN}.py line 1: syntax error")


def test_raises_on_import(tmp_path):
    run = run_graded(submission(tmp_path, "x = 1\nvalue = 1 / 0\n"), *TARGETS)
    assert_clean_report(run, "raised ZeroDivisionError while being imported (line 2)")


def test_exits_on_import(tmp_path):
    run = run_graded(submission(tmp_path, "import sys\nsys.exit(3)\n"), *TARGETS)
    assert_clean_report(run, "called exit(3) while being imported")


def test_endless_loop_on_import(tmp_path):
    start = time.monotonic()
    run = run_graded(
        submission(tmp_path, "while True:\n    pass\n"), *TARGETS, extra=("-o", "timeout=3")
    )
    assert_clean_report(run, "did not finish importing within the time limit")
    assert time.monotonic() - start < 60, "the import should be tried once, not once per test"


def test_endless_loop_in_a_function(tmp_path):
    source = (ROOT / "solutions" / "news.py").read_text(encoding="utf-8")
    source += "\n\ndef active_share(active, total):\n    while True:\n        pass\n"
    run = run_graded(submission(tmp_path, source), *TARGETS, extra=("-o", "timeout=3"))
    assert run.scores is not None and "Traceback" not in run.output
    looping = [t for t in run.scores["tests"] if t["exercise"] == "active_share"]
    assert looping and all(
        "did not finish within the 3 s time limit" in t["message"] for t in looping
    )
    assert "Timeout" not in run.output, "pytest-timeout's stack dump should not be shown"
    finished = [t for t in run.scores["tests"] if t["exercise"] != "active_share"]
    assert all(t["passed"] for t in finished)


@pytest.mark.parametrize(("impl", "topics"), [("exercises", []), ("solutions", ["news"])])
def test_grade_command_prints_a_table(impl, topics):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "grading", "--impl", impl, *topics],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "TOTAL" in done.stdout and "Chapter 1" in done.stdout
    expected = "(0%)" if impl == "exercises" else "(100%)"
    assert expected in done.stdout, done.stdout


# --- bad submissions in an isolated batch: a one-line reason and a zero report each -----------


def _zip(path, members):
    """A zip of ``members``: name → text, or name → (text, mode) for links and device files."""
    import stat
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, value in members.items():
            text, mode = value if isinstance(value, tuple) else (value, stat.S_IFREG | 0o644)
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, text)
    return path


def test_bad_submissions_in_a_batch_get_a_reason_and_zero(tmp_path):
    import csv
    import os
    import stat
    import subprocess
    import sys

    news = (ROOT / "solutions" / "news.py").read_text(encoding="utf-8")
    batch = tmp_path / "batch"
    shutil.copytree(ROOT / "solutions", batch / "good", ignore=shutil.ignore_patterns("__*"))
    (batch / "notes.txt").write_text("not a submission")
    os.mkfifo(batch / "a-pipe")
    _zip(batch / "bomb.zip", {"news.py": news, "padding.bin": "\0" * (60 * 2**20)})
    _zip(batch / "link.zip", {"news.py": ("../../solutions/news.py", stat.S_IFLNK | 0o777)})
    _zip(batch / "device.zip", {"news.py": news, "tty": ("", stat.S_IFCHR | 0o666)})
    _zip(batch / "odd-names.zip", {"news.py": news, "evil\x01name\n.py": "x = 1\n"})
    _zip(batch / "many.zip", {f"f{i}.txt": "" for i in range(10_000)})
    many = batch / "many-files"
    many.mkdir()
    (many / "news.py").write_text(news)
    for i in range(10_000):
        (many / f"f{i}.txt").touch()
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "grading.autograde", str(batch), "--out", str(out), "--unsafe",
         "--quiet", "--tree", str(instructor_tree(BROKEN, *OTHERS))],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    with open(out / "gradebook.csv", newline="") as file:
        rows = {row["submission"]: row for row in csv.DictReader(file)}
    assert float(rows["good"]["total"]) == float(rows["good"]["max_score"]) > 0
    expected = {
        "notes.txt": "is neither a folder nor a .zip file",
        "a-pipe": "is neither a folder nor a .zip file",
        "bomb": "MB once unpacked",
        "link": "is a symbolic link",
        "device": "is a special file",
        "odd-names": "control characters",
        "many": "10000 entries (at most 2000)",
        "many-files": "more than 2000 files",
    }
    for name, reason in expected.items():
        row = rows[name]
        assert float(row["total"]) == 0, (name, row["total"])
        assert reason in row["notes"], (name, row["notes"])
        assert "\n" not in row["notes"], (name, row["notes"])
        assert (out / name / "results.json").is_file()
