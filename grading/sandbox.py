"""The inside of one isolated grading process (started by ``grading.isolation``, never by hand).

Before pytest starts, the process:

- lowers its own resource limits (address space, CPU time, file size);
- installs an import finder, first on ``sys.meta_path``, that refuses ``solutions`` and
  ``exercises`` with a clear ImportError;
- ends every child of a Python-level ``fork()`` at once (``os.register_at_fork``).

It then runs the graded tests with an extra plugin, ``EventLog``, that writes one JSON line per
event to a file descriptor the driver opened: the collected tests, each topic import's start and
end, each test's start and result. A process that dies half-way leaves a log from which the
driver knows which tests finished and which one was running.
"""

from __future__ import annotations

import argparse
import errno
import importlib.abc
import json
import os
import resource
import sys
from pathlib import Path

import pytest

BLOCKED_PACKAGES = ("solutions", "exercises")
FORKED_CHILD_EXIT_CODE = 86
EXTRA_TESTS_DIR = "extra_tests"


class BlockedImport(importlib.abc.MetaPathFinder):
    """Refuses to import the reference solutions (or the stubs) while a submission is graded."""

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname.split(".")[0] in BLOCKED_PACKAGES:
            raise ImportError(
                f"importing '{fullname}' is not allowed while grading: submit your own code"
            )
        return None


def _end_forked_child() -> None:
    """Runs in the child of every Python-level fork: the child ends before it runs any code."""
    os._exit(FORKED_CHILD_EXIT_CODE)


def set_limit(kind: int, soft: int, hard: int | None = None) -> None:
    """Lower one resource limit (soft, and hard if given); never raise one above its hard limit."""
    _, current_hard = resource.getrlimit(kind)
    cap = (
        (lambda v: v)
        if current_hard == resource.RLIM_INFINITY
        else (lambda v: min(v, current_hard))
    )
    hard = soft if hard is None else hard
    resource.setrlimit(kind, (cap(soft), cap(hard)))


def apply_limits(memory_mb: int, cpu_s: int, file_mb: int) -> None:
    """Address space, CPU seconds (SIGXCPU, then SIGKILL a second later) and largest file size."""
    if memory_mb > 0:
        set_limit(resource.RLIMIT_AS, memory_mb * 2**20)
    if cpu_s > 0:
        set_limit(resource.RLIMIT_CPU, cpu_s, cpu_s + 1)
    if file_mb > 0:
        set_limit(resource.RLIMIT_FSIZE, file_mb * 2**20)


class EventLog:
    """A pytest plugin that logs the run line by line, so a crash loses nothing already done."""

    def __init__(self, fd: int, memory_mb: int, file_mb: int) -> None:
        self.stream = os.fdopen(fd, "w", buffering=1, encoding="utf-8")
        self.memory_mb = memory_mb
        self.file_mb = file_mb
        self.config: pytest.Config | None = None

    def emit(self, event: str, **fields) -> None:
        """Write one event as one JSON line (line-buffered: it reaches the file at once)."""
        self.stream.write(json.dumps({"event": event, **fields}) + "\n")

    def _grader(self):
        assert self.config is not None
        return self.config.pluginmanager.get_plugin("course-grader")

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config
        from grading import loader

        loader.import_observers.append(lambda event, topic: self.emit(event, topic=topic))

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        grader = self._grader()
        tests = [
            {
                "nodeid": item.nodeid,
                "topic": grader.outcomes[item.nodeid].topic,
                "exercise": grader.outcomes[item.nodeid].exercise,
                "points": grader.points[grader.outcomes[item.nodeid].topic][
                    grader.outcomes[item.nodeid].exercise
                ],
                "extra": item.nodeid.startswith(f"{EXTRA_TESTS_DIR}/"),
            }
            for item in session.items
            if item.nodeid in grader.outcomes
        ]
        self.emit("collected", tests=tests)

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.emit("start", nodeid=nodeid)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        reason = self._plain_reason(call.excinfo)
        if reason:
            report.longrepr = reason
        return report

    def _plain_reason(self, excinfo) -> str:
        """One line for failures caused by the limits or by exiting, instead of a traceback."""
        if excinfo is None:
            return ""
        if excinfo.errisinstance(MemoryError):
            return f"ran out of memory: the grading process may use at most {self.memory_mb} MB"
        if excinfo.errisinstance(OSError) and excinfo.value.errno == errno.EFBIG:
            return (
                f"wrote more than the {self.file_mb} MB file-size limit "
                "(printing or saving too much?)"
            )
        if excinfo.errisinstance(SystemExit):
            return f"called sys.exit({excinfo.value.code}) during the test"
        return ""

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        outcome = self._grader().outcomes.get(nodeid)
        if outcome is not None:
            self.emit("result", nodeid=nodeid, passed=outcome.passed, message=outcome.message)

    def pytest_sessionfinish(self) -> None:
        self.emit("finished")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="grading.sandbox")
    parser.add_argument("--tree", required=True, type=Path)
    parser.add_argument("--impl", required=True)
    parser.add_argument("--events-fd", required=True, type=int)
    parser.add_argument("--timeout", type=float, default=0)
    parser.add_argument("--memory-mb", type=int, default=0)
    parser.add_argument("--cpu-s", type=int, default=0)
    parser.add_argument("--file-mb", type=int, default=0)
    parser.add_argument("nodeids", nargs="*", help="tests to run (default: every graded test)")
    return parser.parse_args(argv)


def pytest_arguments(args: argparse.Namespace) -> list[str]:
    """The pytest command line: the instructor's tests, the submission as ``--impl``."""
    tree: Path = args.tree
    if args.nodeids:
        targets = [str(tree / nodeid) for nodeid in args.nodeids]
    else:
        targets = [str(tree / "tests")]
        if (tree / EXTRA_TESTS_DIR).is_dir():
            targets.append(str(tree / EXTRA_TESTS_DIR))
    options = [
        "--impl", args.impl, "--rootdir", str(tree), "-c", str(tree / "pyproject.toml"),
        "-p", "no:cacheprovider", "--import-mode=importlib", "-q", "--no-header",
        "--tb=short", "--show-capture=no", "--no-score-table", "-W", "ignore",
    ]  # fmt: skip
    if args.timeout:
        options += ["-o", f"timeout={args.timeout:g}"]
    return [*targets, *options]


def main(argv: list[str]) -> int:
    """Limit, block, then run pytest; the exit code is pytest's."""
    args = parse_args(argv)
    log = EventLog(args.events_fd, args.memory_mb, args.file_mb)
    apply_limits(args.memory_mb, args.cpu_s, args.file_mb)
    sys.meta_path.insert(0, BlockedImport())
    for name in [m for m in sys.modules if m.split(".")[0] in BLOCKED_PACKAGES]:
        del sys.modules[name]
    os.register_at_fork(after_in_child=_end_forked_child)
    return int(pytest.main(pytest_arguments(args), plugins=[log]))
