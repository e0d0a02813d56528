"""Isolated grading survives malicious and broken submissions (``grading.isolation``).

Each case writes a real submission: a copy of solutions/ whose news.py does something bad.
Every case checks that the report is complete (every graded test has a result and a reason)
and that the parts the submission did not break keep their points. The cases that call the
driver directly grade against an instructor's tree holding only the ``news`` tests, so that
each case exercises one mechanism (and the CPU and time limits meet only news.py); the cases
that run the command grade every topic.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from checks.runner import ROOT
from grading import isolation
from grading.isolation import Grade, Limits

# Each case grades a whole submission, some with loops that run into the limits on purpose.
pytestmark = pytest.mark.timeout(240)

SOLUTION = (ROOT / "solutions" / "news.py").read_text(encoding="utf-8")
FAST = Limits(test_timeout_s=5, wall_s=90, cpu_s=60, restarts=5)
NEWS_POINTS = 10  # the points of tests/test_news.py


@functools.cache
def news_tree() -> Path:
    """A copy of the instructor's tree whose tests/ holds only the news tests."""
    tree = Path(tempfile.mkdtemp(prefix="news-only-"))
    for part in isolation.TREE_PARTS:
        source = ROOT / part
        if part == "tests":
            (tree / "tests").mkdir()
            shutil.copyfile(source / "test_news.py", tree / "tests" / "test_news.py")
        elif source.is_dir():
            shutil.copytree(source, tree / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(source, tree / part)
    return tree


def grade_folder(folder: Path, name: str, *, limits: Limits) -> Grade:
    """Grade ``folder`` in isolation against the news tests only."""
    return isolation.grade_folder(folder, name, limits=limits, instructor=news_tree())


@functools.cache
def clean_grade() -> Grade:
    """The grade of the untouched solutions on the news tests."""
    return grade_folder(ROOT / "solutions", "solutions", limits=FAST)


def submission(folder: Path, source: str) -> Path:
    """A copy of solutions/ whose news.py is ``source``."""
    shutil.copytree(ROOT / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "news.py").write_text(source, encoding="utf-8")
    return folder


def solution_with(extra: str) -> str:
    """The solution with ``extra`` appended (a later definition replaces an exercise)."""
    return f"{SOLUTION}\n\n{extra}\n"


def by_exercise(grade: Grade) -> dict[str, list]:
    """The tests of the ``news`` topic by exercise; other topics' tests under "(other topics)"."""
    tests: dict[str, list] = {}
    for test in grade.tests:
        key = test.exercise if test.topic == "news" else "(other topics)"
        tests.setdefault(key, []).append(test)
    return tests


def assert_complete(grade: Grade) -> None:
    """Every collected test has a result; every lost point has a reason; no tracebacks."""
    assert {t.nodeid for t in grade.tests} == {t.nodeid for t in clean_grade().tests}, (
        grade.problems
    )
    for test in grade.tests:
        assert test.done
        assert test.passed or test.message.strip(), test
        assert "Traceback" not in test.message, test.message


def assert_only_lost(grade: Grade, exercise: str, reason: str) -> None:
    """``exercise`` lost every test with ``reason`` in the message; every other test passed."""
    assert_complete(grade)
    for name, tests in by_exercise(grade).items():
        if name == exercise:
            assert not any(t.passed for t in tests), tests
            assert all(reason in t.message for t in tests), [t.message for t in tests]
        else:
            assert all(t.passed for t in tests), [(t.nodeid, t.message) for t in tests]


def test_a_correct_submission_gets_every_point(tmp_path):
    grade = grade_folder(submission(tmp_path / "s", SOLUTION), "s", limits=FAST)
    assert_complete(grade)
    assert all(t.passed for t in grade.tests) and not grade.problems
    assert grade.attempts == 1


def test_syntax_error(tmp_path):
    grade = grade_folder(submission(tmp_path / "s", "def f(:\n"), "s", limits=FAST)
    assert_complete(grade)
    assert all("syntax error" in t.message for t in by_exercise(grade)["percent_change"])


def test_raises_on_import(tmp_path):
    grade = grade_folder(
        submission(tmp_path / "s", "raise RuntimeError('boom')\n"), "s", limits=FAST
    )
    assert_complete(grade)
    news = [t for t in grade.tests if t.topic == "news"]
    assert all("raised RuntimeError while being imported" in t.message for t in news)


def test_os_exit_on_import_costs_the_topic_only_once(tmp_path):
    grade = grade_folder(submission(tmp_path / "s", "import os\nos._exit(9)\n"), "s", limits=FAST)
    assert_complete(grade)
    news = [t for t in grade.tests if t.topic == "news"]
    assert all("ended while importing news.py" in t.message and "code 9" in t.message for t in news)
    assert all(t.passed for t in grade.tests if t.topic != "news")
    assert grade.attempts == 1  # the topic is lost once, not test by test


def test_endless_loop_in_a_function(tmp_path):
    source = solution_with("def active_share(active, total):\n    while True:\n        pass\n")
    grade = grade_folder(submission(tmp_path / "s", source), "s", limits=FAST)
    assert_only_lost(grade, "active_share", "did not finish within the 5 s time limit")


def test_loop_that_swallows_the_time_limit_is_stopped_by_the_driver(tmp_path):
    source = solution_with(
        "def active_share(active, total):\n"
        "    while True:\n"
        "        try:\n"
        "            while True:\n"
        "                pass\n"
        "        except BaseException:\n"
        "            pass\n"
    )
    limits = Limits(test_timeout_s=5, grace_s=2, wall_s=90, cpu_s=60)
    grade = grade_folder(submission(tmp_path / "s", source), "s", limits=limits)
    assert_only_lost(grade, "active_share", "did not stop when told to")


def test_cpu_time_limit(tmp_path):
    source = solution_with(
        "import signal\n"
        "def active_share(active, total):\n"
        "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "    while True:\n"
        "        pass\n"
    )
    limits = Limits(test_timeout_s=0, wall_s=60, cpu_s=2, restarts=5)
    grade = grade_folder(submission(tmp_path / "s", source), "s", limits=limits)
    assert_only_lost(grade, "active_share", "CPU-time limit of 2 s")


def test_whole_submission_wall_clock_limit(tmp_path):
    source = solution_with("import time\ndef active_share(active, total):\n    time.sleep(3600)\n")
    limits = Limits(test_timeout_s=0, wall_s=4, cpu_s=30)
    start = time.monotonic()
    grade = grade_folder(submission(tmp_path / "s", source), "s", limits=limits)
    assert time.monotonic() - start < 30
    assert_complete(grade)
    stopped = [t for t in grade.tests if "whole-submission time limit of 4 s" in t.message]
    assert stopped and all(not t.passed for t in stopped)
    assert all(
        t.passed for t in grade.tests if t.exercise in ("percent_change", "implied_market_value")
    )


def test_unbounded_allocation(tmp_path):
    source = solution_with(
        "def active_share(active, total):\n"
        "    hoard = []\n"
        "    while True:\n"
        "        hoard.append(bytearray(50 * 2**20))\n"
    )
    limits = Limits(test_timeout_s=20, wall_s=120, memory_mb=1024)
    grade = grade_folder(submission(tmp_path / "s", source), "s", limits=limits)
    assert_only_lost(grade, "active_share", "ran out of memory")


def test_sys_exit_in_a_function(tmp_path):
    source = solution_with("import sys\ndef times_cheaper(cheap, expensive):\n    sys.exit(3)\n")
    grade = grade_folder(submission(tmp_path / "s", source), "s", limits=FAST)
    assert_only_lost(grade, "times_cheaper", "called sys.exit(3)")


def test_os_exit_in_a_function_costs_that_test_only(tmp_path):
    source = solution_with("import os\ndef training_cost(gpu_hours, usd):\n    os._exit(7)\n")
    grade = grade_folder(submission(tmp_path / "s", source), "s", limits=FAST)
    assert_only_lost(grade, "training_cost", "exited with code 7")
    assert grade.attempts == 4  # one crash per training_cost test, then the rest


def test_printing_megabytes(tmp_path):
    source = solution_with(
        "def active_share(active, total):\n"
        "    for _ in range(100):\n"
        "        print('x' * 2**20)\n"
        "    return active / total\n"
    )
    limits = Limits(test_timeout_s=20, wall_s=120, file_mb=8)
    grade = grade_folder(submission(tmp_path / "s", source), "s", limits=limits)
    assert_only_lost(grade, "active_share", "8 MB file-size limit")


def digest(folder: Path) -> str:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


def test_deleting_and_rewriting_files(tmp_path):
    """news.py rewrites every test file it can find as a passing fake, deletes the rest of the
    grading copy, and crashes in percent_change so that the other tests are run again."""
    before = digest(ROOT / "tests") + digest(ROOT / "grading")
    rewritten = tmp_path / "rewritten"
    source = solution_with(
        "import os, pathlib, shutil\n"
        "_scratch = pathlib.Path.cwd().parent\n"
        "for _path in _scratch.rglob('test_*.py'):\n"
        "    _path.write_text('def test_fake():\\n    pass\\n')\n"
        f"    open({str(rewritten)!r}, 'a').write(_path.name + '\\n')\n"
        "for _path in _scratch.rglob('*'):\n"
        "    if _path.is_dir() and _path.name in ('grading', 'course'):\n"
        "        shutil.rmtree(_path, ignore_errors=True)\n"
        "def percent_change(old, new):\n"
        "    os._exit(1)\n"
    )
    grade = grade_folder(submission(tmp_path / "s", source), "s", limits=FAST)
    assert_only_lost(grade, "percent_change", "exited with code 1")
    assert "test_news.py" in rewritten.read_text(), "the attack did not run"
    assert before == digest(ROOT / "tests") + digest(ROOT / "grading")
    assert (tmp_path / "s" / "news.py").read_text(encoding="utf-8") == source


def test_forks_are_ended(tmp_path):
    """A Python-level fork's child ends at once; a spawned process ends with the grading."""
    marker = tmp_path / "markers"
    marker.mkdir()
    source = solution_with(
        "import os, subprocess, time\n"
        f"_MARKERS = {str(marker)!r}\n"
        "def active_share(active, total):\n"
        "    sleeper = subprocess.Popen(['sleep', '300'])\n"
        "    open(os.path.join(_MARKERS, 'sleeper'), 'w').write(str(sleeper.pid))\n"
        "    if os.fork() == 0:\n"
        "        open(os.path.join(_MARKERS, 'child-ran'), 'w').write('yes')\n"
        "        time.sleep(300)\n"
        "    return active / total\n"
    )
    grade = grade_folder(submission(tmp_path / "s", source), "s", limits=FAST)
    assert_complete(grade)
    assert all(t.passed for t in grade.tests)
    assert not (marker / "child-ran").exists(), "the forked child ran submission code"
    sleeper = int((marker / "sleeper").read_text())
    time.sleep(0.2)
    assert not Path(f"/proc/{sleeper}").exists() or "Z" in _state(sleeper), "sleep 300 survived"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return "Z"


def test_test_files_and_conftest_in_the_submission_are_ignored(tmp_path):
    folder = submission(tmp_path / "s", (ROOT / "exercises" / "news.py").read_text())
    (folder / "tests").mkdir()
    (folder / "tests" / "test_news.py").write_text("def test_everything():\n    pass\n")
    (folder / "conftest.py").write_text(
        "import pytest\n"
        "@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n"
        "    outcome = yield\n"
        "    outcome.get_result().outcome = 'passed'\n"
    )
    (folder / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = '-p no:grading'\n")
    grade = grade_folder(folder, "s", limits=FAST)
    assert_complete(grade)
    news = [t for t in grade.tests if t.topic == "news"]
    assert not any(t.passed for t in news)
    assert all("not implemented yet" in t.message for t in news)


@pytest.mark.parametrize("package", ["solutions", "exercises"])
def test_importing_the_solutions_is_refused(tmp_path, package):
    source = f"from {package}.news import *  # noqa\n"
    grade = grade_folder(submission(tmp_path / "s", source), "s", limits=FAST)
    assert_complete(grade)
    news = [t for t in grade.tests if t.topic == "news"]
    assert not any(t.passed for t in news)
    assert all(f"importing '{package}" in t.message for t in news), news[0].message


def test_no_solutions_folder_in_the_grading_copy(tmp_path):
    source = solution_with(
        "import pathlib\n"
        "def active_share(active, total):\n"
        "    found = [p for p in pathlib.Path.cwd().parent.rglob('*') if p.name == 'solutions']\n"
        "    assert not found, found\n"
        "    return active / total\n"
    )
    grade = grade_folder(submission(tmp_path / "s", source), "s", limits=FAST)
    assert_complete(grade)
    assert all(t.passed for t in grade.tests), [t.message for t in grade.tests if not t.passed]


# The command: a batch in parallel, bad input, reports.


def autograde(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grading.autograde", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def zip_of(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, text in members.items():
            bundle.writestr(name, text)
    return path


def test_batch_grades_each_submission_on_its_own(tmp_path):
    batch = tmp_path / "batch"
    submission(batch / "good", SOLUTION)
    submission(batch / "crashes", "import os\nos._exit(1)\n")
    submission(
        batch / "loops", solution_with("def percent_change(old, new):\n    while True: pass\n")
    )
    zip_of(batch / "zipped.zip", {"work/news.py": SOLUTION, "__MACOSX/._news.py": "x"})
    (batch / "corrupt.zip").write_bytes(b"not a zip")
    zip_of(batch / "escapes.zip", {"../../evil.py": "print('x')", "news.py": SOLUTION})
    out = tmp_path / "out"
    done = autograde(str(batch), "--out", str(out), "--workers", "2", "--timeout", "5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "evil.py").exists() and not (batch.parent.parent / "evil.py").exists()
    rows = (out / "gradebook.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert header[0] == "submission" and header[-3:] == ["total", "max_score", "notes"]
    assert "news.percent_change" in header
    totals = {row.split(",")[0]: float(row.split(",")[header.index("total")]) for row in rows[1:]}
    full = full_points()
    assert totals == {
        "good": full, "crashes": full - NEWS_POINTS, "loops": full - 2,
        "zipped": NEWS_POINTS,  # the zip holds news.py only
        "corrupt": 0, "escapes": 0,
    }  # fmt: skip
    notes = {row.split(",")[0]: row for row in rows[1:]}
    assert "not a readable .zip file" in notes["corrupt"]
    assert "points outside the archive" in notes["escapes"]
    results = json.loads((out / "loops" / "results.json").read_text())
    assert {"score", "execution_time", "output", "tests"} <= set(results)
    assert results["score"] == full - 2
    for test in results["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(test)
        assert test["status"] in ("passed", "failed") and test["visibility"] == "visible"
    lost = [t for t in results["tests"] if t["status"] == "failed"]
    assert len(lost) == 1 and "time limit" in lost[0]["output"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["no/such/folder"], "no such file or folder"),
        (["README.md"], "a submission is a folder or a .zip file"),
        (["solutions", "--extra-tests", "no/such/folder"], "--extra-tests"),
    ],
)
def test_bad_input_is_one_line(args, expected):
    done = autograde(*args)
    assert done.returncode == 2
    assert expected in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


EXTRA_TESTS = """
import pytest
from grading import check, topic_fixture

TOPIC = "news"
POINTS = {"percent_change_no_change": 1}
news = topic_fixture(TOPIC)


@pytest.mark.exercise("percent_change_no_change")
def test_no_change_is_zero_percent(news):
    check.close(news.percent_change(7.0, 7.0), 0.0, what="percent_change(7.0, 7.0)")
"""


def test_extra_tests_are_graded_with_their_own_visibility(tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "test_news.py").write_text(EXTRA_TESTS)  # same file name as the public tests
    results = tmp_path / "results.json"
    done = autograde(
        "solutions", "--extra-tests", str(extra), "--extra-visibility", "hidden",
        "--results", str(results),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(results.read_text())
    assert data["score"] == data_max(data) and data_max(data) == full_points() + 1
    hidden = [t for t in data["tests"] if t["visibility"] == "hidden"]
    assert [t["name"] for t in hidden] == ["news.percent_change_no_change (1/1 tests)"]
    assert "TOTAL" in done.stdout and "(100%)" in done.stdout


def test_autograder_bundle_runs_on_a_local_layout(tmp_path):
    bundle = tmp_path / "autograder.zip"
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "test_news_extra.py").write_text(EXTRA_TESTS)
    built = subprocess.run(
        [sys.executable, "-m", "grading.bundle", "--out", str(bundle), "--extra-tests", str(extra)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        root = tmp_path / "autograder"
        archive.extractall(root / "source")
    assert {"setup.sh", "run_autograder", "tests/test_news.py", "grading/autograde.py"} <= set(
        names
    )
    assert "extra_tests/test_news_extra.py" in names
    assert not [n for n in names if n.split("/")[0] in ("solutions", "exercises", "checks")]
    submission(root / "submission", SOLUTION)
    (root / "results").mkdir()
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    ran = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["score"] == data_max(data) == full_points() + 1  # every topic, plus the extra test
    assert {t["visibility"] for t in data["tests"]} == {"visible", "after_due_date"}


def full_points() -> float:
    """The maximum score of the public tests: the sum of every graded test file's POINTS."""
    total = 0.0
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        spec = importlib.util.spec_from_file_location(f"_points_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        total += sum(module.POINTS.values())
    return total


def data_max(results: dict) -> float:
    """The maximum score of a results.json."""
    return sum(t["max_score"] for t in results["tests"])


def test_an_empty_submission_still_gets_results(tmp_path):
    (tmp_path / "submission").mkdir()
    results = tmp_path / "results.json"
    done = autograde(str(tmp_path / "submission"), "--results", str(results), "--quiet")
    assert done.returncode == 0, done.stderr
    data = json.loads(results.read_text())
    assert data["score"] == 0 and data["tests"]
    assert all("no file" in t["output"] for t in data["tests"])
