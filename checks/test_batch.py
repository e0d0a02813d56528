"""Isolated grading survives broken and hostile submissions (``grading.isolation``).

Each case writes a real submission: a copy of solutions/ (or of the untouched stubs) whose
news.py does something bad. Every case checks that the report is complete (every graded test
has a result and a reason for each lost point) and that the parts the submission did not
break keep their points. The cases that call the driver directly grade against an
instructor's tree holding only the ``news`` tests, so that each case exercises one mechanism;
the cases that run the command grade the ``news`` and ``floats`` tests (the topic they break
and one they leave alone), and the Gradescope bundle case grades every topic.

Where this machine cannot give workers namespaces of their own (no bwrap, or the kernel
refuses user namespaces), the cases run with ``unsafe``: the trusted split still decides every
score and is checked all the same; only the assertions that need the namespaces are skipped,
each with its reason.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from checks.runner import ROOT, instructor_tree
from grading import isolation
from grading.isolation import Grade, Limits

pytestmark = pytest.mark.timeout(300)

SOLUTION = (ROOT / "solutions" / "news.py").read_text(encoding="utf-8")
STUBS = (ROOT / "exercises" / "news.py").read_text(encoding="utf-8")
FAST = Limits(test_timeout_s=3, wall_s=90, cpu_s=60)
NEWS_POINTS = 10  # the points of tests/test_news.py


def news_tree() -> Path:
    """The instructor's tree with the news tests only: each driver case tests one mechanism."""
    return instructor_tree("news")


def command_tree() -> Path:
    """The tree the command cases grade against: news (the topic they break) and floats (one
    topic they leave alone, which must keep its points)."""
    return instructor_tree("news", "floats")


def grade_folder(folder: Path, name: str, *, limits: Limits = FAST) -> Grade:
    """Grade ``folder`` in isolation against the news tests only."""
    return isolation.grade_folder(folder, name, limits=limits, instructor=news_tree(), unsafe=True)


def isolated(limits: Limits = FAST) -> bool:
    """Whether workers get namespaces of their own on this machine."""
    return isolation.shared_grader(news_tree(), None, limits, True).server.isolated


def need_namespaces(limits: Limits = FAST) -> None:
    """Skip the rest of a case that only namespaces can make true, saying why."""
    grader = isolation.shared_grader(news_tree(), None, limits, True)
    if not grader.server.isolated:
        pytest.skip(f"needs worker namespaces, unavailable here: {grader.note}")


@functools.cache
def clean_grade() -> Grade:
    """The grade of the untouched solutions on the news tests."""
    return grade_folder(ROOT / "solutions", "solutions")


def submission(folder: Path, source: str, base: str = "solutions") -> Path:
    """A copy of ``base`` (solutions/ or exercises/) whose news.py is ``source``."""
    shutil.copytree(ROOT / base, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "news.py").write_text(source, encoding="utf-8")
    return folder


def solution_with(extra: str) -> str:
    """The solution with ``extra`` appended (a later definition replaces an exercise)."""
    return f"{SOLUTION}\n\n{extra}\n"


def stubs_with(extra: str) -> str:
    """The untouched stubs with ``extra`` appended: a submission that implements nothing."""
    return f"{STUBS}\n\n{extra}\n"


def by_exercise(grade: Grade) -> dict[str, list]:
    tests: dict[str, list] = {}
    for test in grade.tests:
        tests.setdefault(test.exercise, []).append(test)
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


def assert_zero(grade: Grade) -> None:
    """A submission that implements nothing scores 0, with a reason for every test."""
    assert_complete(grade)
    assert not [t.nodeid for t in grade.tests if t.passed]


def survivors(marker: str, wait_s: float = 5.0) -> list[int]:
    """Processes on this machine whose command line holds ``marker`` (after up to ``wait_s``)."""
    deadline = time.monotonic() + wait_s
    while True:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and entry.name != str(os.getpid()):
                try:
                    if marker.encode() in (entry / "cmdline").read_bytes():
                        found.append(int(entry.name))
                except OSError:
                    continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def digest(folder: Path) -> str:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


# --- the ordinary failures ------------------------------------------------------------------


def test_a_correct_submission_gets_every_point(tmp_path):
    grade = grade_folder(submission(tmp_path / "s", SOLUTION), "s")
    assert_complete(grade)
    assert all(t.passed for t in grade.tests) and not grade.problems


def test_the_stubs_score_zero_with_a_reason_each(tmp_path):
    grade = grade_folder(submission(tmp_path / "s", STUBS), "s")
    assert_zero(grade)
    for test in grade.tests:  # one line each, naming the file as the learner knows it
        expected = f"not implemented yet: {test.exercise}() in news.py still raises"
        assert test.message.startswith(expected) and "\n" not in test.message, test.message


def test_syntax_error(tmp_path):
    grade = grade_folder(submission(tmp_path / "s", "def f(:\n"), "s")
    assert_zero(grade)
    assert all("news.py line 1: syntax error" in t.message for t in grade.tests)


def test_raises_on_import(tmp_path):
    grade = grade_folder(submission(tmp_path / "s", "raise RuntimeError('boom')\n"), "s")
    assert_zero(grade)
    assert all("raised RuntimeError while being imported" in t.message for t in grade.tests)


def test_os_exit_on_import_costs_the_topic(tmp_path):
    grade = grade_folder(submission(tmp_path / "s", "import os\nos._exit(9)\n"), "s")
    assert_zero(grade)
    assert all(
        "ended while importing news.py" in t.message and "code 9" in t.message for t in grade.tests
    )


def test_endless_loop_in_a_function(tmp_path):
    source = solution_with("def active_share(active, total):\n    while True:\n        pass\n")
    grade = grade_folder(submission(tmp_path / "s", source), "s")
    assert_only_lost(grade, "active_share", "did not finish within the 3 s time limit")


def test_an_exercise_that_keeps_looping_costs_two_time_limits(tmp_path):
    """After two tests of one exercise run out of time, its other tests are not run (each
    with the reason), so an endless loop cannot use up the whole submission's time."""
    folder = submission(tmp_path / "s", SOLUTION)
    parallel = (ROOT / "solutions" / "parallel.py").read_text(encoding="utf-8")
    loop = "def simulate_pipeline(*args, **kwargs):\n    while True:\n        pass\n"
    (folder / "parallel.py").write_text(f"{parallel}\n\n{loop}", encoding="utf-8")
    start = time.monotonic()
    grade = isolation.grade_folder(
        folder, "s", limits=FAST, instructor=instructor_tree("parallel"), unsafe=True
    )
    assert time.monotonic() - start < 30
    lost = [t for t in grade.tests if t.exercise == "simulate_pipeline"]
    timed_out = [t for t in lost if t.message.startswith("did not finish within the 3 s")]
    skipped = [t for t in lost if t.message.startswith("not run: 2 earlier tests of")]
    assert len(timed_out) == 2 and len(skipped) == len(lost) - 2 > 5
    assert not any(t.passed for t in lost)
    assert all(t.passed for t in grade.tests if t.exercise != "simulate_pipeline")


def test_loop_that_swallows_every_exception_is_stopped(tmp_path):
    source = solution_with(
        "import signal\n"
        "def active_share(active, total):\n"
        "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "    while True:\n"
        "        try:\n"
        "            while True:\n"
        "                pass\n"
        "        except BaseException:\n"
        "            pass\n"
    )
    grade = grade_folder(submission(tmp_path / "s", source), "s")
    assert_only_lost(grade, "active_share", "did not finish within the 3 s time limit")


def test_cpu_time_limit(tmp_path):
    source = solution_with("def active_share(active, total):\n    while True:\n        pass\n")
    limits = Limits(test_timeout_s=0, wall_s=60, cpu_s=2)
    grade = grade_folder(submission(tmp_path / "s", source), "s", limits=limits)
    assert_only_lost(grade, "active_share", "CPU-time limit of 2 s")


def test_whole_submission_wall_clock_limit(tmp_path):
    source = solution_with("import time\ndef active_share(active, total):\n    time.sleep(3600)\n")
    limits = Limits(test_timeout_s=0, wall_s=6, cpu_s=30)
    start = time.monotonic()
    grade = grade_folder(submission(tmp_path / "s", source), "s", limits=limits)
    assert time.monotonic() - start < 40
    assert_complete(grade)
    stopped = [t for t in grade.tests if "whole-submission time limit of 6 s" in t.message]
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
    limits = Limits(test_timeout_s=20, wall_s=120, memory_mb=1536)
    grade = grade_folder(submission(tmp_path / "s", source), "s", limits=limits)
    assert_only_lost(grade, "active_share", "ran out of memory")


def test_sys_exit_in_a_function(tmp_path):
    source = solution_with("import sys\ndef times_cheaper(cheap, expensive):\n    sys.exit(3)\n")
    grade = grade_folder(submission(tmp_path / "s", source), "s")
    assert_only_lost(grade, "times_cheaper", "called sys.exit(3)")


def test_os_exit_in_a_function_costs_that_test_only(tmp_path):
    source = solution_with("import os\ndef training_cost(gpu_hours, usd):\n    os._exit(7)\n")
    grade = grade_folder(submission(tmp_path / "s", source), "s")
    assert_only_lost(grade, "training_cost", "exited with code 7")


def test_one_worker_per_submission_a_crash_costs_one_test_and_topics_load_again(tmp_path):
    """A submission's topics share one worker: a crash in a floats test (graded first) costs
    that test only, and news loads into the fresh worker and keeps every point."""
    folder = submission(tmp_path / "s", SOLUTION)
    floats = (ROOT / "solutions" / "floats.py").read_text(encoding="utf-8")
    crash = "import os\ndef ulp(fmt, x):\n    os._exit(5)\n"
    (folder / "floats.py").write_text(f"{floats}\n\n{crash}", encoding="utf-8")
    grade = isolation.grade_folder(folder, "s", limits=FAST, instructor=command_tree(), unsafe=True)
    lost = [t for t in grade.tests if not t.passed]
    assert lost and all(t.exercise == "ulp" and "exited with code 5" in t.message for t in lost)
    assert all(t.passed for t in grade.tests if t.exercise != "ulp")
    assert any(t.topic == "news" for t in grade.tests)


def test_a_topic_that_ends_its_worker_on_import_costs_that_topic_only(tmp_path):
    folder = submission(tmp_path / "s", SOLUTION)
    (folder / "floats.py").write_text("import os\nos._exit(9)\n", encoding="utf-8")
    grade = isolation.grade_folder(folder, "s", limits=FAST, instructor=command_tree(), unsafe=True)
    floats = [t for t in grade.tests if t.topic == "floats"]
    assert floats and all("ended while importing floats.py" in t.message for t in floats)
    assert all(t.passed for t in grade.tests if t.topic == "news")


ZEROING = """
import numpy as _np


def _zero_the_arguments(*args, **kwargs):
    for value in [*args, *kwargs.values()]:
        if isinstance(value, _np.ndarray) and value.flags.writeable:
            value[...] = 0
    first = next((v for v in args if isinstance(v, _np.ndarray)), _np.zeros(1))
    return _np.zeros_like(first)
"""


def test_overwriting_the_arguments_earns_nothing(tmp_path):
    """Every fp8 function overwrites its array arguments with zeros and returns zeros. Tests
    that build their expected values from the arrays they pass (or from module-level arrays
    passed earlier) would then compare zeros with zeros; the call fails its test instead."""
    folder = submission(tmp_path / "s", SOLUTION)
    stubs = importlib.import_module("exercises.fp8")
    names = [
        name for name, value in vars(stubs).items()
        if callable(value) and getattr(value, "__module__", "") == stubs.__name__
        and not name.startswith("_")
    ]  # fmt: skip
    overrides = "".join(f"\n{name} = _zero_the_arguments\n" for name in names)
    (folder / "fp8.py").write_text(f"{ZEROING}{overrides}", encoding="utf-8")
    grade = isolation.grade_folder(
        folder, "s", limits=FAST, instructor=instructor_tree("fp8"), unsafe=True
    )
    assert grade.tests and not [t.nodeid for t in grade.tests if t.passed]
    assert any("changed its argument 1 in place" in t.message for t in grade.tests)


def test_printing_and_writing_floods(tmp_path):
    """Printing goes nowhere; a huge file hits the file-size limit and costs that test."""
    source = solution_with(
        "import tempfile\n"
        "def active_share(active, total):\n"
        "    for _ in range(200):\n"
        "        print('x' * 2**20)\n"
        "    return active / total\n"
        "def times_cheaper(cheap, expensive):\n"
        "    with tempfile.TemporaryFile() as f:\n"
        "        for _ in range(100):\n"
        "            f.write(b'x' * 2**20)\n"
        "    return expensive / cheap\n"
    )
    limits = Limits(test_timeout_s=20, wall_s=120, file_mb=8)
    grade = grade_folder(submission(tmp_path / "s", source), "s", limits=limits)
    assert_only_lost(grade, "times_cheaper", "8 MB file-size limit")


def test_deleting_and_rewriting_files(tmp_path):
    """news.py rewrites every test file it can find as a passing fake and deletes every
    grading and course folder it can reach; the instructor's tree and the grade are unharmed."""
    before = digest(ROOT / "tests") + digest(ROOT / "grading") + digest(news_tree())
    source = solution_with(
        "import os, shutil\n"
        "_SKIP = {'usr', 'proc', 'sys', 'dev', 'site-packages', 'lib', 'lib64', '.pyenv'}\n"
        "for _top, _dirs, _files in os.walk('/'):\n"
        "    _dirs[:] = [d for d in _dirs if d not in _SKIP]\n"
        "    for _name in _files:\n"
        "        if _name.startswith('test_') and _name.endswith('.py'):\n"
        "            try:\n"
        "                with open(os.path.join(_top, _name), 'w') as _f:\n"
        "                    _f.write('def test_fake():\\n    pass\\n')\n"
        "            except OSError:\n"
        "                pass\n"
        "    for _name in _dirs:\n"
        "        if _name in ('grading', 'course', 'tests'):\n"
        "            shutil.rmtree(os.path.join(_top, _name), ignore_errors=True)\n"
        "def percent_change(old, new):\n"
        "    raise RuntimeError('nothing here')\n"
    )
    if not isolated():
        pytest.skip("without worker namespaces, a submission can write the grader's files")
    grade = grade_folder(submission(tmp_path / "s", source), "s")
    assert_only_lost(grade, "percent_change", "RuntimeError: nothing here")
    assert before == digest(ROOT / "tests") + digest(ROOT / "grading") + digest(news_tree())


def test_forks_and_background_processes_end_with_the_submission(tmp_path):
    marker = f"survivor-{os.getpid()}-{time.time_ns()}"
    source = solution_with(
        "import os, subprocess\n"
        "def active_share(active, total):\n"
        f"    subprocess.Popen(['sleep', '300', {marker!r}], start_new_session=True)\n"
        f"    subprocess.Popen(['sh', '-c', 'sleep 300; : {marker}'], start_new_session=True)\n"
        "    return active / total\n"
    )
    grade = grade_folder(submission(tmp_path / "s", source), "s")
    assert_complete(grade)
    assert all(t.passed for t in grade.tests)
    need_namespaces()
    assert not survivors(marker), "a process started by the submission survived it"


def test_test_files_and_conftest_in_the_submission_are_ignored(tmp_path):
    folder = submission(tmp_path / "s", STUBS)
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
    grade = grade_folder(folder, "s")
    assert_zero(grade)
    assert all("not implemented yet" in t.message for t in grade.tests)


def test_patching_pytest_internals_changes_nothing(tmp_path):
    source = stubs_with(
        "import _pytest.runner, _pytest.reports, pytest\n"
        "_pytest.reports.TestReport.passed = property(lambda self: True)\n"
        "_pytest.runner.call_and_report = lambda *a, **k: None\n"
        "pytest.fail = lambda *a, **k: None\n"
    )
    assert_zero(grade_folder(submission(tmp_path / "s", source), "s"))


@pytest.mark.parametrize("package", ["solutions", "exercises"])
def test_importing_the_solutions_is_refused(tmp_path, package):
    source = f"from {package}.news import *  # noqa\n"
    grade = grade_folder(submission(tmp_path / "s", source), "s")
    assert_zero(grade)
    assert all(f"importing '{package}" in t.message for t in grade.tests), grade.tests[0]


# --- the attacks that succeeded before --------------------------------------------------------

FORGED = '{"event": "result", "nodeid": "tests/test_news.py::%s", "passed": true, "message": ""}\\n'


def test_forged_events_on_every_descriptor_then_exit(tmp_path):
    """Writes "passed" results, in the old event-log format, to every descriptor it has (and
    every one under /proc/self/fd), then exits on import."""
    names = [t.nodeid.split("::")[1] for t in clean_grade().tests]
    source = stubs_with(
        "import os\n"
        f"_NAMES = {names!r}\n"
        f"_LINE = {FORGED!r}\n"
        "_fds = set(range(0, 256))\n"
        "try:\n"
        "    _fds |= {int(n) for n in os.listdir('/proc/self/fd')}\n"
        "except OSError:\n"
        "    pass\n"
        "for _fd in sorted(_fds):\n"
        "    for _name in _NAMES:\n"
        "        try:\n"
        "            os.write(_fd, (_LINE % _name).encode())\n"
        "        except OSError:\n"
        "            pass\n"
        "os._exit(0)\n"
    )
    grade = grade_folder(submission(tmp_path / "s", source), "s")
    assert_zero(grade)
    assert all("ended while importing news.py" in t.message for t in grade.tests)


def test_patching_the_grader_objects_in_memory(tmp_path):
    """Looks through every object in its process for the grader's records and marks every
    outcome as passed; then the stubs answer (wrongly)."""
    source = stubs_with(
        "import gc\n"
        "def _patch():\n"
        "    for _obj in gc.get_objects():\n"
        "        try:\n"
        "            if hasattr(_obj, 'outcomes') and isinstance(_obj.outcomes, dict):\n"
        "                for _o in _obj.outcomes.values():\n"
        "                    _o.passed, _o.failed, _o.message = True, False, ''\n"
        "            if hasattr(_obj, 'emit') and callable(_obj.emit):\n"
        "                _obj.emit = lambda *a, **k: None\n"
        "        except Exception:\n"
        "            pass\n"
        "_patch()\n"
        "def percent_change(old, new):\n"
        "    _patch()\n"
        "    return 0.0\n"
    )
    assert_zero(grade_folder(submission(tmp_path / "s", source), "s"))


def test_replacing_the_comparison_helpers(tmp_path):
    """Replaces every helper of grading.check (and pytest.fail) with one that never fails."""
    source = stubs_with(
        "import sys, pytest\n"
        "import grading.check as _check\n"
        "for _name in ('close', 'equal', 'arrays_equal', 'arrays_close', 'fail'):\n"
        "    setattr(_check, _name, lambda *a, **k: None)\n"
        "pytest.fail = lambda *a, **k: None\n"
        "for _mod in list(sys.modules.values()):\n"
        "    if getattr(_mod, 'check', None) is _check:\n"
        "        pass\n"
        "def percent_change(old, new):\n"
        "    return 1.0\n"
        "def implied_market_value(lost, percent):\n"
        "    return 1.0\n"
    )
    grade = grade_folder(submission(tmp_path / "s", source), "s")
    assert_zero(grade)
    assert all("expected" in t.message for t in by_exercise(grade)["percent_change"])


def test_reading_the_solutions_through_another_process(tmp_path):
    """Looks for solutions/news.py through /proc/<pid>/cwd and /proc/<pid>/root of every
    process it can see, and in every folder it can list, then runs it."""
    source = stubs_with(
        "import os, pathlib\n"
        "def _find():\n"
        "    places = []\n"
        "    try:\n"
        "        pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
        "    except OSError:\n"
        "        pids = []\n"
        "    for pid in pids + ['self', str(os.getppid())]:\n"
        "        for link in ('cwd', 'root'):\n"
        "            places.append(f'/proc/{pid}/{link}/solutions/news.py')\n"
        "            places.append(f'/proc/{pid}/{link}/../solutions/news.py')\n"
        "    for found in pathlib.Path('/').glob('*/*/solutions/news.py'):\n"
        "        places.append(str(found))\n"
        "    for place in places:\n"
        "        try:\n"
        "            return open(place).read()\n"
        "        except OSError:\n"
        "            continue\n"
        "    return ''\n"
        "exec(_find())\n"
    )
    grade = grade_folder(submission(tmp_path / "s", source), "s")
    need_namespaces()
    assert_zero(grade)


def test_a_lone_submission_shared_among_workers_gets_one_complete_grade(tmp_path):
    """With more workers than submissions, a submission's test files are graded by separate
    trusted processes (whole files each); the merged grade is the one a single process gives,
    in the same order, and a topic that crashes costs only its own points."""
    grader = isolation.shared_grader(command_tree(), None, FAST, True)
    folder = submission(tmp_path / "s", "import os\nos._exit(9)\n")  # floats.py stays right
    sources, _ = isolation.read_sources(folder, grader.topics)
    shards = grader.shards(isolation.Job("s", sources), 2)
    assert sorted(t for shard in shards for t in shard.targets) == [
        "tests/test_floats.py",
        "tests/test_news.py",
    ]
    alone = grader.grade([isolation.Job("s", sources)], workers=1)[0]
    shared = grader.grade([isolation.Job("s", sources)], workers=2)[0]
    assert [(t.nodeid, t.passed) for t in shared.tests] == [
        (t.nodeid, t.passed) for t in alone.tests
    ]
    news = [t for t in shared.tests if t.topic == "news"]
    others = [t for t in shared.tests if t.topic != "news"]
    assert news and all("code 9" in t.message and not t.passed for t in news)
    assert others and all(t.passed for t in others)


# --- the command: a batch with hostile submissions between correct ones -----------------------


def autograde(*args: str, timeout: float = 600, env: dict | None = None):
    return subprocess.run(
        [sys.executable, "-m", "grading.autograde", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False, env=env,
    )  # fmt: skip


def test_hostile_batch_leaves_every_report_intact(tmp_path):
    """Between two correct submissions: one that rewrites every topic file and report it can
    find from a background shell in a new session, during and after the batch; one that kills
    its parent, every process it can signal, and then itself."""
    marker = f"hostile-{os.getpid()}-{time.time_ns()}"
    rewrite = (
        "import subprocess\n"
        "_SCRIPT = '''\n"
        "for i in $(seq 1 60); do\n"
        "  for f in $(find / -xdev \\\\( -name news.py -o -name results.json -o -name "
        "gradebook.csv \\\\) 2>/dev/null); do echo broken > $f 2>/dev/null; done\n"
        "  sleep 0.5\n"
        "done\n"
        "'''\n"
        f"subprocess.Popen(['setsid', 'sh', '-c', _SCRIPT, {marker!r}],\n"
        "                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,\n"
        "                 stderr=subprocess.DEVNULL, start_new_session=True)\n"
    )
    kill = (
        "import os, signal\n"
        "def percent_change(old, new):\n"
        "    for pid in (os.getppid(), 1, -1):\n"
        "        try:\n"
        "            os.kill(pid, signal.SIGKILL)\n"
        "        except OSError:\n"
        "            pass\n"
        "    return 100 * (new - old) / old\n"
    )
    batch = tmp_path / "batch"
    submission(batch / "a-good", SOLUTION)
    submission(batch / "b-rewrites", solution_with(rewrite))
    submission(batch / "c-kills", solution_with(kill))
    submission(batch / "d-good", SOLUTION)
    out = tmp_path / "out"
    done = autograde(
        str(batch), "--out", str(out), "--workers", "2", "--unsafe", "--tree", str(command_tree())
    )
    assert done.returncode == 0, done.stdout + done.stderr
    if "without OS isolation" in done.stderr:
        pytest.skip(f"needs worker namespaces: {done.stderr.strip().splitlines()[0]}")
    reports = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    rows = {r.split(",")[0]: r for r in (out / "gradebook.csv").read_text().splitlines()[1:]}
    full = full_points(command_tree())
    totals = {name: float(row.split(",")[-3]) for name, row in rows.items()}
    assert totals["a-good"] == totals["d-good"] == full
    assert totals["b-rewrites"] == full  # its own work is correct: the rewriting went nowhere
    assert totals["c-kills"] == full  # killing nothing it can reach, its answer is right
    assert digest(batch) == digest(batch)  # readable
    assert (batch / "a-good" / "news.py").read_text() == SOLUTION
    time.sleep(3)
    assert not survivors(marker), "the background shell survived the batch"
    after = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert after == reports, "a report changed after the batch"


def test_without_isolation_the_command_refuses_unless_unsafe(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no bwrap on this PATH
    refused = autograde("solutions", "--out", str(tmp_path / "out"), env=env)
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "bwrap" in lines[0] and "--unsafe" in lines[0], refused.stderr
    assert not (tmp_path / "out").exists()


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
    done = autograde(
        str(batch), "--out", str(out), "--workers", "2", "--timeout", "3", "--unsafe",
        "--tree", str(command_tree()),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "evil.py").exists() and not (batch.parent.parent / "evil.py").exists()
    rows = (out / "gradebook.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert header[0] == "submission" and header[-3:] == ["total", "max_score", "notes"]
    assert "news.percent_change" in header
    totals = {row.split(",")[0]: float(row.split(",")[header.index("total")]) for row in rows[1:]}
    full = full_points(command_tree())
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
        "--results", str(results), "--unsafe", "--tree", str(command_tree()),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(results.read_text())
    assert data["score"] == data_max(data) and data_max(data) == full_points(command_tree()) + 1
    hidden = [t for t in data["tests"] if t["visibility"] == "hidden"]
    assert [t["name"] for t in hidden] == ["news.percent_change_no_change (1/1 tests)"]
    assert "TOTAL" in done.stdout and "(100%)" in done.stdout


def gradescope_layout(tmp_path: Path, extra: Path | None) -> Path:
    """The autograder bundle unpacked as Gradescope does: ``source/``, ``results/``."""
    bundle = tmp_path / "autograder.zip"
    command = [sys.executable, "-m", "grading.bundle", "--out", str(bundle)]
    if extra is not None:
        command += ["--extra-tests", str(extra)]
    built = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        archive.extractall(root / "source")
    assert {"setup.sh", "run_autograder", "tests/test_news.py", "grading/autograde.py"} <= set(
        names
    )
    assert not [n for n in names if n.split("/")[0] in ("solutions", "exercises", "checks")]
    (root / "results").mkdir()
    return root


def run_autograder(root: Path) -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    ran = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_autograder_bundle_on_a_full_and_an_empty_submission(tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "test_news_extra.py").write_text(EXTRA_TESTS)
    root = gradescope_layout(tmp_path / "full", extra)
    submission(root / "submission", SOLUTION)
    data = run_autograder(root)
    assert data["score"] == data_max(data) == full_points() + 1  # every topic, plus the extra test
    assert {t["visibility"] for t in data["tests"]} == {"visible", "after_due_date"}
    root = gradescope_layout(tmp_path / "empty", None)
    (root / "submission").mkdir()
    data = run_autograder(root)
    assert data["score"] == 0 and data_max(data) == full_points()
    assert all("no file" in t["output"] for t in data["tests"])


def test_setup_sh_installs_only_what_grading_needs():
    from grading.bundle import GRADING_REQUIREMENTS, SETUP_SH

    pins = (ROOT / GRADING_REQUIREMENTS).read_text()
    names = {
        line.split("==")[0].lower().replace("_", "-") for line in pins.splitlines() if "==" in line
    }
    assert {"numpy", "torch", "pytest", "pytest-timeout", "ml-dtypes", "pyyaml"} <= names
    assert not names & {"jupyter-book", "sphinx", "playwright", "ipykernel", "jupytext"}
    assert "bubblewrap" in SETUP_SH and GRADING_REQUIREMENTS in SETUP_SH


def full_points(tree: Path = ROOT) -> float:
    """The maximum score of a tree's public tests: the sum of its graded test files' POINTS."""
    total = 0.0
    for path in sorted((tree / "tests").glob("test_*.py")):
        spec = importlib.util.spec_from_file_location(f"_points_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        total += sum(module.POINTS.values())
    return total


def data_max(results: dict) -> float:
    """The maximum score of a results.json."""
    return sum(t["max_score"] for t in results["tests"])


def test_a_batch_goes_on_without_its_template_process(tmp_path):
    """Whole submissions are forked from a template that collected the tests once; if it ends,
    the rest of the batch is forked from the driver and graded the same."""
    import signal

    with isolation.BatchGrader(news_tree(), limits=FAST, unsafe=True) as grader:
        job = isolation.Job("one", *isolation.read_sources(ROOT / "solutions", grader.topics))
        [first] = grader.grade([job])
        assert grader.template is not None, "a whole submission is forked from the template"
        os.kill(grader.template.pid, signal.SIGKILL)
        os.waitpid(grader.template.pid, 0)
        grades = grader.grade([isolation.Job(f"after-{i}", dict(job.sources)) for i in range(2)])
        assert grader.template is None and not grader.use_template
    for grade in [first, *grades]:
        assert_complete(grade)
        assert all(t.passed for t in grade.tests), [t.message for t in grade.tests if not t.passed]


def test_a_template_keeps_the_tests_that_a_job_selects():
    """Jobs that name test files or ``-k`` (the mutant check's) are forked from the template
    too, which keeps the tests pytest itself would select: the same as a direct fork."""
    sources = isolation.read_sources(ROOT / "solutions", ["news", "floats"])[0]
    jobs = [
        isolation.Job("file", sources, targets=("tests/test_floats.py",)),
        isolation.Job(
            "file, -k", sources, select=("-k", "encode"), targets=("tests/test_floats.py",)
        ),
        isolation.Job("-k", sources, select=("-k", "percent_change or (ulp and not fp32)")),
    ]
    graded = {}
    for use_template in (True, False):
        with isolation.BatchGrader(command_tree(), limits=FAST, unsafe=True) as grader:
            grader.use_template = use_template
            grades = grader.grade([dataclasses.replace(job) for job in jobs], workers=1)
            assert (grader.template is not None) == use_template
        graded[use_template] = {g.name: [(t.nodeid, t.passed) for t in g.tests] for g in grades}
    assert graded[True] == graded[False]
    files = {name: {t[0].split("::")[0] for t in tests} for name, tests in graded[True].items()}
    assert files == {
        "file": {"tests/test_floats.py"},
        "file, -k": {"tests/test_floats.py"},
        "-k": {"tests/test_news.py", "tests/test_floats.py"},
    }
    names = {name: [t[0].split("::")[1] for t in tests] for name, tests in graded[True].items()}
    assert all("encode" in n for n in names["file, -k"])
    assert len(names["file, -k"]) < len(names["file"])
    assert all("percent_change" in n or ("ulp" in n and "fp32" not in n) for n in names["-k"])
    for name, tests in graded[True].items():
        assert all(passed for _, passed in tests), (name, tests)


def test_a_grader_never_runs_tests_imported_from_another_graders_tree():
    """Graders import the test modules before forking; a later grader in the same process
    imports its own, not those of an earlier one whose tree is gone (a test file with
    scenarios reads its source from its tree)."""
    tree = instructor_tree("parallel")
    with isolation.BatchGrader(tree, limits=FAST, unsafe=True):
        pass
    sources = isolation.read_sources(ROOT / "solutions", ["parallel"])[0]
    job = isolation.Job("after", sources, select=("-k", "simulate_pipeline"))
    with isolation.BatchGrader(tree, limits=FAST, unsafe=True) as grader:
        [grade] = grader.grade([job])
    assert grade.tests and all(t.passed for t in grade.tests), [t.message for t in grade.tests]
