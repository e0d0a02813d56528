"""Grade one submission folder in its own process, with limits, and survive whatever it does.

The driver copies the submission and, for every attempt, a fresh copy of the instructor's
grading tree (``grading/``, ``course/``, ``tests/``, ``conftest.py``, ``pyproject.toml`` and the
optional extra tests; never ``solutions/`` or ``exercises/``) into a private scratch folder, then
starts ``grading.sandbox`` there in a new session. The sandbox logs each event to a file the
driver opened and passed down by descriptor (it has no path the submission could delete).

If the process ends before every test has a result (``os._exit``, a signal, a limit), the test
that was running loses its points with the reason in words, and the tests that had not run are
run again in a fresh process; at most ``Limits.restarts`` times, and within the
whole-submission wall-clock limit.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from grading.loader import ROOT
from grading.sandbox import EXTRA_TESTS_DIR, FORKED_CHILD_EXIT_CODE

TREE_PARTS = ("grading", "course", "tests", "conftest.py", "pyproject.toml")
SUBMISSION_DIR = "submission"
POLL_S = 0.05
BOOTSTRAP = (
    "import sys; tree, sites = sys.argv[1], sys.argv[2].split(':'); "
    "sys.path[:0] = [tree, *sites]; sys.argv[1:3] = []; "
    "from grading.sandbox import main; sys.exit(main(sys.argv[1:]))"
)


@dataclass(frozen=True)
class Limits:
    """What one submission may use. Zero or less switches a limit off."""

    test_timeout_s: float = 20.0
    wall_s: float = 300.0
    memory_mb: int = 4096
    cpu_s: int = 120
    file_mb: int = 64
    restarts: int = 5
    grace_s: float = 5.0  # added to the per-test limit before the driver itself stops a test


@dataclass
class TestRecord:
    """One graded test of one submission: where it belongs and how it ended."""

    __test__ = False  # not a pytest test class

    nodeid: str
    topic: str
    exercise: str
    points: float  # the exercise's points (shared by its tests)
    extra: bool = False  # from the instructor's extra tests
    done: bool = False
    passed: bool = False
    message: str = ""


@dataclass
class Grade:
    """The outcome of grading one submission."""

    name: str
    tests: list[TestRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # submission-wide notes, in words
    seconds: float = 0.0
    attempts: int = 0


@dataclass
class Ending:
    """How one sandbox process ended, as seen by the driver."""

    returncode: int | None
    stopped_for: str = ""  # why the driver stopped it, or ""
    output_tail: str = ""


def describe_ending(ending: Ending, limits: Limits) -> str:
    """The reason a process ended, in words a learner can act on."""
    if ending.stopped_for:
        return ending.stopped_for
    code = ending.returncode
    if code is None:
        return "the grading process did not end"
    if code >= 0:
        return f"the grading process exited with code {code} (os._exit, or a crash)"
    number = -code
    if number == signal.SIGXCPU:
        return f"used up the CPU-time limit of {limits.cpu_s} s"
    if number == signal.SIGXFSZ:
        return f"wrote more than the {limits.file_mb} MB file-size limit"
    if number == signal.SIGKILL:
        return (
            "the grading process was killed (SIGKILL): by the CPU-time limit, the "
            f"{limits.memory_mb} MB memory limit, the system, or the submission itself"
        )
    if number == signal.SIGABRT:
        return (
            "the grading process aborted (SIGABRT), often an allocation refused by the "
            f"{limits.memory_mb} MB memory limit"
        )
    if number == signal.SIGSEGV:
        return "the grading process crashed (segmentation fault)"
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    return f"the grading process was ended by {name}"


def copy_regular_files(source: Path, target: Path, skipped: list[str]) -> None:
    """Copy the regular files under ``source``; symbolic links and special files are skipped."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir()):
        if entry.is_symlink():
            skipped.append(f"ignored the symbolic link {entry.name}")
        elif entry.is_dir():
            if entry.name != "__pycache__":
                copy_regular_files(entry, target / entry.name, skipped)
        elif entry.is_file():
            shutil.copyfile(entry, target / entry.name)


def copy_tree(instructor: Path, extra_tests: Path | None, target: Path) -> None:
    """A fresh copy of what grading needs from the instructor's tree (and the extra tests)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in TREE_PARTS:
        source = instructor / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=ignore)
        elif source.is_file():
            shutil.copyfile(source, target / part)
    if extra_tests is not None:
        shutil.copytree(extra_tests, target / EXTRA_TESTS_DIR, ignore=ignore)


def sandbox_command(
    tree: Path, impl: Path, events_fd: int, limits: Limits, nodeids: list[str]
) -> list[str]:
    """``python -I -S -B -c BOOTSTRAP ...``: no user site, no .pth files, no bytecode writes.

    ``-S`` also keeps the editable install's import hook (which maps ``solutions`` to the
    instructor's folder) out of the process; site-packages are put on ``sys.path`` by hand.
    """
    sites = ":".join(site.getsitepackages())
    return [
        sys.executable, "-I", "-S", "-B", "-c", BOOTSTRAP, str(tree), sites,
        "--tree", str(tree), "--impl", str(impl), "--events-fd", str(events_fd),
        "--timeout", f"{limits.test_timeout_s:g}", "--memory-mb", str(limits.memory_mb),
        "--cpu-s", str(limits.cpu_s), "--file-mb", str(limits.file_mb), *nodeids,
    ]  # fmt: skip


def sandbox_environment(scratch: Path) -> dict[str, str]:
    """A small, fixed environment: one thread per numeric library, temporary files in scratch."""
    tmp = scratch / "tmp"
    tmp.mkdir(exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(tmp),
    }


def read_events(fd: int, offset: int) -> tuple[list[dict], int]:
    """The complete JSON lines written to ``fd`` after ``offset``, and the new offset."""
    events: list[dict] = []
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            return events, offset
        end = chunk.rfind(b"\n")
        if end < 0:
            return events, offset
        for line in chunk[: end + 1].splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # not written by the event log
            if isinstance(event, dict):
                events.append(event)
        offset += end + 1


def tail(fd: int, size: int = 3000) -> str:
    """The last ``size`` bytes written to ``fd``, as text."""
    length = os.fstat(fd).st_size
    return os.pread(fd, size, max(0, length - size)).decode("utf-8", "replace")


def end_process_group(process: subprocess.Popen) -> None:
    """SIGKILL the sandbox and everything still in its session's process group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@dataclass
class Watch:
    """What the driver knows about a running sandbox from its event log."""

    events: list[dict] = field(default_factory=list)
    running: str | None = None  # nodeid of the test in progress
    started_at: float = 0.0
    importing: str | None = None  # topic whose import is in progress

    def add(self, events: list[dict], now: float) -> None:
        for event in events:
            self.events.append(event)
            kind = event.get("event")
            if kind == "start":
                self.running, self.started_at = event.get("nodeid"), now
            elif kind == "result":
                self.running = None
            elif kind == "import_start":
                self.importing = event.get("topic")
            elif kind == "import_end":
                self.importing = None


def run_sandbox(
    scratch: Path, tree: Path, limits: Limits, nodeids: list[str], deadline: float
) -> tuple[Watch, Ending]:
    """Run one sandbox process to its end (or stop it), watching its event log."""
    watch = Watch()
    with tempfile.TemporaryFile() as log, tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            sandbox_command(tree, scratch / SUBMISSION_DIR, log.fileno(), limits, nodeids),
            cwd=scratch / SUBMISSION_DIR,
            env=sandbox_environment(scratch),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            pass_fds=(log.fileno(),),
            start_new_session=True,
        )
        offset, stopped_for = 0, ""
        while process.poll() is None:
            now = time.monotonic()
            events, offset = read_events(log.fileno(), offset)
            watch.add(events, now)
            per_test = limits.test_timeout_s + limits.grace_s if limits.test_timeout_s > 0 else 0
            if limits.wall_s > 0 and now > deadline:
                stopped_for = f"reached the whole-submission time limit of {limits.wall_s:g} s"
            elif watch.running and per_test and now - watch.started_at > per_test:
                stopped_for = (
                    f"did not finish within the {limits.test_timeout_s:g} s time limit "
                    "(and did not stop when told to)"
                )
            if stopped_for:
                break
            time.sleep(POLL_S)
        end_process_group(process)
        events, offset = read_events(log.fileno(), offset)
        watch.add(events, time.monotonic())
        ending = Ending(process.returncode, stopped_for, tail(output.fileno()))
    return watch, ending


def collected_tests(watch: Watch) -> list[TestRecord]:
    """The graded tests the sandbox collected, from its ``collected`` event."""
    for event in watch.events:
        if event.get("event") == "collected":
            return [
                TestRecord(t["nodeid"], t["topic"], t["exercise"], float(t["points"]), t["extra"])
                for t in event["tests"]
            ]
    return []


def record_results(watch: Watch, tests: dict[str, TestRecord], folder: Path) -> None:
    """Copy the finished tests' results into ``tests``, without the scratch ``folder``'s path."""
    for event in watch.events:
        if event.get("event") == "result" and event.get("nodeid") in tests:
            record = tests[event["nodeid"]]
            record.done, record.passed = True, bool(event.get("passed"))
            message = str(event.get("message", "")).replace(f"{folder}/", "")
            record.message = message.replace(str(folder), "the submission folder")


def blame(watch: Watch, tests: dict[str, TestRecord], reason: str) -> str:
    """Mark the test (or the topic import) that was running when the process ended.

    Returns where it ended, in words ("" if between tests).
    """
    if watch.importing:
        for record in tests.values():
            if record.topic == watch.importing and not record.done:
                record.done = True
                record.message = (
                    f"cannot grade '{record.topic}': the process ended while importing "
                    f"{record.topic}.py: {reason}"
                )
        return f"while importing {watch.importing}.py"
    if watch.running in tests and not tests[watch.running].done:
        record = tests[watch.running]
        record.done, record.message = True, reason
        return f"during {watch.running}"
    return ""


def give_up(tests: dict[str, TestRecord], reason: str) -> None:
    """Every test without a result loses its points with ``reason``."""
    for record in tests.values():
        if not record.done:
            record.done, record.message = True, f"not run: {reason}"


def grade_folder(
    folder: Path,
    name: str,
    *,
    limits: Limits = Limits(),
    instructor: Path = ROOT,
    extra_tests: Path | None = None,
) -> Grade:
    """Grade the topic files in ``folder`` against the instructor's tests, in isolation."""
    start = time.monotonic()
    deadline = start + limits.wall_s
    grade = Grade(name)
    scratch = Path(tempfile.mkdtemp(prefix="grading-"))
    try:
        copy_regular_files(folder, scratch / SUBMISSION_DIR, grade.problems)
        tests: dict[str, TestRecord] = {}
        pending: list[str] = []
        while True:
            grade.attempts += 1
            tree = scratch / f"tree{grade.attempts}"
            copy_tree(instructor, extra_tests, tree)
            watch, ending = run_sandbox(scratch, tree, limits, pending, deadline)
            if grade.attempts == 1:
                tests = {t.nodeid: t for t in collected_tests(watch)}
                if not tests:
                    grade.problems.append(
                        "grading stopped before any test ran: "
                        f"{describe_ending(ending, limits)}; last output: "
                        + " | ".join(ending.output_tail.strip().splitlines()[-3:])
                    )
                    break
            record_results(watch, tests, scratch / SUBMISSION_DIR)
            if all(t.done for t in tests.values()):
                break
            reason = describe_ending(ending, limits)
            where = blame(watch, tests, reason)
            grade.problems.append(f"the grading process ended early {where}: {reason}")
            if ending.stopped_for.startswith("reached the whole-submission"):
                give_up(tests, reason)
            elif grade.attempts > limits.restarts:
                give_up(tests, f"the grading process ended {grade.attempts} times; last: {reason}")
            pending = [n for n, t in tests.items() if not t.done]
            if not pending:
                break
        grade.tests = list(tests.values())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    grade.seconds = time.monotonic() - start
    return grade


__all__ = ["FORKED_CHILD_EXIT_CODE", "Grade", "Limits", "TestRecord", "grade_folder"]
