"""Grade submissions where their code cannot reach the score.

For each submission the driver starts a *trusted* grading process (a fork, so numpy, torch,
pytest and the test modules are already imported). In a batch it is forked from a *template*
process that has configured pytest and collected the tests once, and keeps the tests the job
asks for (test files, ``-k``); the parts of a single submission shared out among idle workers
are forked from the driver itself. That process runs the
instructor's tests with ``grading.remote``: every test body and every check runs in it, and
each call into the learner's code goes over a socket to the submission's *worker* (one
process that loads its topic files as the tests need them), started by the fork server
(``grading.worker``) inside the sandbox (``grading.sandbox``). Workers see the learner's topic
files only as source text sent to them: no files of the instructor, of other submissions or
of the reports.

A submission graded on its own, with more cores than submissions, has its test files shared
out among several trusted processes (whole files each, each process with a worker of its
own); their results are merged into one grade.

The trusted process writes one JSON line per event (tests collected, a test started, a
result, each with its time) to the driver over a pipe, buffered. The driver enforces the
whole-submission time limit: it asks a trusted process that runs too long to stop (SIGTERM:
it writes out the events it holds), ends it two seconds later if need be, and every test
without a result loses its points with the reason in words.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import gc
import io
import json
import os
import select
import shutil
import signal
import socket
import stat
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

from grading.loader import ROOT
from grading.remote import RemoteSession, WorkerLimits
from grading.sandbox import launch_server
from grading.worker import quiet_standard_streams

TREE_PARTS = ("grading", "course", "tests", "conftest.py", "pyproject.toml")
EXTRA_TESTS_DIR = "extra_tests"
MAX_SOURCE_BYTES = 1 * 2**20
MAX_FILES = 2000
POLL_S = 0.05
EVENT_BUFFER = 1 << 16  # bytes of events a trusted process holds before writing them
STOP_GRACE_S = 2.0  # after SIGTERM, how long a trusted process has to write out its events


@dataclass(frozen=True)
class Limits:
    """What one submission may use. Zero or less switches a limit off."""

    test_timeout_s: float = 20.0
    wall_s: float = 300.0
    memory_mb: int = 4096
    cpu_s: int = 120  # per topic file loaded in a worker
    file_mb: int = 64
    restarts: int = 20
    processes: int = 64

    def worker(self) -> WorkerLimits:
        """The limits of one worker process."""
        return WorkerLimits(
            memory_mb=self.memory_mb,
            cpu_s=self.cpu_s,
            file_mb=self.file_mb,
            processes=self.processes,
            tmp_mb=max(self.file_mb, 16),
            restarts=self.restarts,
            answer_s=self.test_timeout_s + 30 if self.test_timeout_s > 0 else max(self.wall_s, 0),
        )


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
    attempts: int = 1


@dataclass
class Job:
    """One submission to grade: its topic files as text, and notes from unpacking it."""

    name: str
    sources: dict[str, str]
    problems: list[str] = field(default_factory=list)
    select: tuple[str, ...] = ()  # extra pytest arguments (e.g. ``-k name``)
    targets: tuple[str, ...] = ()  # test files, relative to the tree (default: all)


# --- reading a submission folder --------------------------------------------------------------


class FolderError(Exception):
    """A submission folder that cannot be graded; the message is one line."""


def read_sources(folder: Path, topics: list[str]) -> tuple[dict[str, str], list[str]]:
    """The topic files of ``folder`` as text, and notes about files that were skipped.

    Raises:
        FolderError: the folder holds links, special files, or too many files.
    """
    for count, path in enumerate(folder.rglob("*"), start=1):
        if count > MAX_FILES:
            raise FolderError(f"more than {MAX_FILES} files; nothing was graded")
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            raise FolderError(f"'{_printable(path.relative_to(folder))}' is a symbolic link")
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise FolderError(f"'{_printable(path.relative_to(folder))}' is not a regular file")
    sources, notes = {}, []
    for topic in topics:
        path = folder / f"{topic}.py"
        if not path.is_file():
            continue
        data = path.read_bytes()
        if len(data) > MAX_SOURCE_BYTES:
            notes.append(f"{topic}.py is larger than {MAX_SOURCE_BYTES // 2**20} MB: not graded")
            continue
        sources[topic] = data.decode("utf-8", errors="replace")
    return sources, notes


def _printable(path: Path | str) -> str:
    text = str(path)
    return "".join(c if c.isprintable() else "?" for c in text)[:120]


def graded_topics(tree: Path) -> list[str]:
    """Topics with a graded test file in ``tree/tests`` (``test_<topic>.py``)."""
    return sorted(p.stem.removeprefix("test_") for p in (tree / "tests").glob("test_*.py"))


# --- the trusted process ----------------------------------------------------------------------


class EventLog:
    """A pytest plugin in the trusted process: one JSON line per event, for the driver.

    Created without a descriptor in a template process, it keeps the collected tests and
    announces them when a trusted process forked from the template binds it to its pipe.

    Events are buffered (written 64 KB at a time, and when the session ends), so the driver is
    not woken for each of them; each carries its time (``t``, the system's monotonic clock).
    Asked to stop (SIGTERM, at the whole-submission time limit), the process writes out what
    it holds and ends.
    """

    def __init__(self, fd: int | None = None) -> None:
        self.stream: io.TextIOWrapper | None = None
        self.config: pytest.Config | None = None
        self.collected: list[dict] | None = None
        if fd is not None:
            self.bind(fd)

    def bind(self, fd: int) -> None:
        """Write events to ``fd`` from now on (the collected tests first, if known)."""
        self.stream = os.fdopen(fd, "w", buffering=EVENT_BUFFER, encoding="utf-8")
        signal.signal(signal.SIGTERM, self.stop)
        if self.collected is not None:
            self.emit("collected", tests=self.collected)

    def emit(self, event: str, **fields) -> None:
        assert self.stream is not None, "an event before the log was bound to its pipe"
        self.stream.write(json.dumps({"event": event, "t": time.monotonic(), **fields}) + "\n")

    def flush(self) -> None:
        """Write out the events held (nothing if the log was never bound)."""
        if self.stream is not None:
            with contextlib.suppress(Exception):  # e.g. interrupted inside a write
                self.stream.flush()

    def stop(self, *_) -> None:
        """SIGTERM: the events so far to the driver, then end the process."""
        self.flush()
        os._exit(3)

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        assert self.config is not None
        grader = self.config.pluginmanager.get_plugin("course-grader")
        tests = []
        for item in session.items:
            outcome = grader.outcomes.get(item.nodeid)
            if outcome is not None:
                tests.append(
                    {
                        "nodeid": item.nodeid,
                        "topic": outcome.topic,
                        "exercise": outcome.exercise,
                        "points": grader.points[outcome.topic][outcome.exercise],
                        "extra": item.nodeid.startswith(f"{EXTRA_TESTS_DIR}/"),
                    }
                )
        self.collected = tests
        if self.stream is not None:
            self.emit("collected", tests=tests)

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.emit("start", nodeid=nodeid)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        assert self.config is not None
        outcome = self.config.pluginmanager.get_plugin("course-grader").outcomes.get(nodeid)
        if outcome is not None:
            self.emit("result", nodeid=nodeid, passed=outcome.passed, message=outcome.message)

    def pytest_sessionfinish(self) -> None:
        self.emit("finished")
        self.flush()


@functools.cache
def foreign_plugins() -> tuple[str, ...]:
    """``-p no:NAME`` for every installed pytest plugin that grading does not use.

    Other packages of an environment bring their own plugins (anyio, platformdirs in the
    book's toolchain); loading them, and rewriting their asserts, cost about a second per batch.
    """
    from importlib.metadata import entry_points

    names = sorted({e.name for e in entry_points(group="pytest11")} - {"timeout"})
    return tuple(option for name in names for option in ("-p", f"no:{name}"))


UNUSED_BUILTIN_PLUGINS = (
    "warnings", "legacypath", "junitxml", "doctest", "pastebin", "stepwise", "setuponly",
    "setupplan", "debugging",
)  # fmt: skip


def unused_builtin_plugins() -> list[str]:
    """``-p no:NAME`` for pytest's own plugins that a grading run never uses (their hooks
    cost about a tenth of the trusted process's time); those that give fixtures stay."""
    return [option for name in UNUSED_BUILTIN_PLUGINS for option in ("-p", f"no:{name}")]


def pytest_arguments(tree: Path, impl: Path, job: Job, limits: Limits) -> list[str]:
    """The trusted pytest command line: the instructor's tests, the submission as ``--impl``."""
    if job.targets:
        targets = [str(tree / t) for t in job.targets]
    else:
        targets = [str(tree / "tests")]
        if (tree / EXTRA_TESTS_DIR).is_dir():
            targets.append(str(tree / EXTRA_TESTS_DIR))
    options = [
        "--impl", str(impl), "--rootdir", str(tree), "-c", str(tree / "pyproject.toml"),
        "-p", "no:cacheprovider", "--import-mode=importlib", "-q", "--no-header",
        "--tb=short", "--show-capture=no", "--no-score-table", "-W", "ignore",
        "-o", f"timeout={max(limits.test_timeout_s, 0):g}", "-p", "no:logging", "--capture=no",
        "-p", "no:unraisableexception", "-p", "no:threadexception", "-p", "no:faulthandler",
        *unused_builtin_plugins(), *foreign_plugins(),
    ]  # fmt: skip
    return [*targets, *options, *job.select]


def quiet() -> None:
    """A forked grading process prints nothing: its streams, and Python's, go to /dev/null."""
    quiet_standard_streams()
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (until os._exit)


def trusted_child(job: Job, tree: Path, client: socket.socket, events: int, limits: Limits) -> None:
    """The forked trusted process: run the tests against remote topics; never returns."""
    code = 0
    try:
        quiet()
        session, log = RemoteSession(client, job.sources, limits.worker()), EventLog(events)
        empty = Path(tempfile.mkdtemp(prefix="impl-"))
        try:
            pytest.main(pytest_arguments(tree, empty, job, limits), plugins=[session, log])
        finally:
            log.flush()
        shutil.rmtree(empty, ignore_errors=True)
    except BaseException:
        code = 1
    os._exit(code)


# --- the template: configure and collect once, fork a trusted process per submission ----------


class TemplateGone(Exception):
    """The template process ended or stopped answering; the driver forks directly instead."""


class TemplateHook:
    """The template's pytest plugin: after collection, fork trusted processes instead of
    running the tests; each fork binds the session and the event log to its own submission and
    runs the tests as a trusted process forked by the driver would."""

    def __init__(
        self,
        control: socket.socket,
        remote: RemoteSession,
        log: EventLog,
        limits: Limits,
        impl: Path,
    ) -> None:
        self.control = control
        self.remote = remote
        self.log = log
        self.limits = limits
        self.impl = impl  # the empty --impl folder, removed when the template ends
        self.forked = False  # True in a trusted process forked from the template
        self.session: pytest.Session | None = None  # the collected session, to fork from

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        self.session = session
        for item in session.items:
            _ = item.location  # a cached property: computed here once, not once per submission
        gc.collect()
        gc.freeze()
        self.serve()  # returns only in a forked trusted process; the default loop then runs

    def serve(self) -> None:
        """Fork a trusted process for each job the driver sends, and report how each ended.

        Messages on the control socket (sequenced packets): from the driver, ``b"job"`` with
        three descriptors (the worker client, the event pipe, the job's sources as JSON); to
        the driver, ``{"started": pid}`` with a pidfd of the new process, and ``{"ended": pid,
        "status": status}`` once it is reaped. ``b"exit"`` from the driver (or its end closing)
        ends the template; by then every trusted process it forked has ended.
        """
        wake_read, wake_write = os.pipe()
        for fd in (wake_read, wake_write):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        while True:
            ready, _, _ = select.select([self.control, wake_read], [], [])
            with contextlib.suppress(OSError):
                os.read(wake_read, 4096)
            self.reap()
            if self.control not in ready:
                continue
            data, fds, _, _ = socket.recv_fds(self.control, 4096, 3)
            if data in (b"", b"exit"):  # the driver is done with this template
                shutil.rmtree(self.impl, ignore_errors=True)
                os._exit(0)
            if data != b"job" or len(fds) != 3:
                for fd in fds:
                    os.close(fd)
                continue
            pid = os.fork()
            if pid == 0:
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                for fd in (wake_read, wake_write):
                    os.close(fd)
                self.control.close()
                self.bind(*fds)
                return
            for fd in fds:
                os.close(fd)
            pidfd = os.pidfd_open(pid)
            socket.send_fds(self.control, [json.dumps({"started": pid}).encode()], [pidfd])
            os.close(pidfd)

    def reap(self) -> None:
        """Tell the driver how each ended trusted process ended."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.control.send(json.dumps({"ended": pid, "status": status}).encode())

    def bind(self, client_fd: int, events_fd: int, job_fd: int) -> None:
        """In a forked trusted process: this submission's worker client, events, sources and
        tests (``{"sources": ..., "targets": [...], "keyword": "..."}``, see ``Job``)."""
        self.forked = True
        with os.fdopen(job_fd, "rb") as stream:
            job = json.load(stream)
        assert self.session is not None
        kept = narrow(self.session, job["targets"], job["keyword"])
        if self.log.collected is not None:
            self.log.collected = [t for t in self.log.collected if t["nodeid"] in kept]
        self.remote.bind(socket.socket(fileno=client_fd), job["sources"], self.limits.worker())
        self.log.bind(events_fd)


def keyword_of(job: Job) -> str | None:
    """The ``-k`` expression of a job ("" for none); None if it selects tests in other ways."""
    if not job.select:
        return ""
    if len(job.select) == 2 and job.select[0] == "-k":
        return job.select[1]
    return None


def in_targets(nodeid: str, targets: list[str]) -> bool:
    """Whether the test ``nodeid`` lies in one of ``targets`` (files or folders of the tree)."""
    path = nodeid.split("::", 1)[0]
    return any(path == t or path.startswith(t.rstrip("/") + "/") for t in targets)


def narrow(session: pytest.Session, targets: list[str], keyword: str) -> set[str]:
    """Keep the collected tests that a run with these targets and ``-k keyword`` would
    collect (pytest's own ``-k`` matching), telling the plugins about the others; the ids
    kept."""
    from _pytest.mark import deselect_by_keyword

    items = session.items
    if targets:
        inside = {item.nodeid for item in items if in_targets(item.nodeid, targets)}
        outside = [item for item in items if item.nodeid not in inside]
        if outside:
            session.config.hook.pytest_deselected(items=outside)
            items[:] = [item for item in items if item.nodeid in inside]
    if keyword:
        session.config.option.keyword = keyword
        deselect_by_keyword(items, session.config)
    session.testscollected = len(items)
    return {item.nodeid for item in items}


def template_main(control: socket.socket, tree: Path, limits: Limits) -> None:
    """The forked template process: configure pytest and collect the tests, then serve jobs
    (``TemplateHook``); never returns. Its trusted processes return here when their tests are
    done."""
    code = 0
    try:
        quiet()
        remote, log = RemoteSession(), EventLog()
        empty = Path(tempfile.mkdtemp(prefix="impl-"))  # the template's, shared by its forks
        hook = TemplateHook(control, remote, log, limits, empty)
        arguments = pytest_arguments(tree, empty, Job("template", {}), limits)
        try:
            pytest.main(arguments, plugins=[remote, log, hook])
        finally:
            log.flush()  # in a forked trusted process: what the session did not write out
        if not hook.forked:  # pytest stopped before running tests: the driver forks directly
            shutil.rmtree(empty, ignore_errors=True)
            code = 2
    except BaseException:
        code = 1
    os._exit(code)


class TrustedTemplate:
    """The driver's handle on a template process (see ``TemplateHook``)."""

    ANSWER_S = 10.0
    live: ClassVar[set[socket.socket]] = set()  # the control sockets of this process's templates

    def __init__(self, tree: Path, limits: Limits, close_in_child: list) -> None:
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.pid = os.fork()
        if self.pid == 0:
            for thing in [*close_in_child, *TrustedTemplate.live, self.control]:
                with contextlib.suppress(OSError):
                    thing.close()
            template_main(theirs, tree, limits)
        theirs.close()
        TrustedTemplate.live.add(self.control)
        self.ended: dict[int, int] = {}  # exit statuses of its trusted processes, by pid

    @classmethod
    def close_all_in_child(cls) -> None:
        """In a newly forked process: close the templates' control sockets it inherited."""
        for control in cls.live:
            with contextlib.suppress(OSError):
                control.close()

    def start(self, job: Job, client: socket.socket, events_fd: int) -> tuple[int, int]:
        """Fork a trusted process for ``job``: its pid and a pidfd to signal it with.

        Raises:
            TemplateGone: the template has ended or does not answer.
        """
        job_fd = os.memfd_create("job")
        try:
            with os.fdopen(os.dup(job_fd), "wb") as stream:
                stream.write(json.dumps(self.message(job)).encode())
            os.lseek(job_fd, 0, os.SEEK_SET)
            socket.send_fds(self.control, [b"job"], [client.fileno(), events_fd, job_fd])
        except OSError as error:
            raise TemplateGone(str(error)) from error
        finally:
            os.close(job_fd)
        while True:
            message, fds = self.receive(self.ANSWER_S)
            if "started" in message and fds:
                return int(message["started"]), fds[0]

    @staticmethod
    def message(job: Job) -> dict:
        """What a forked trusted process needs of ``job`` (see ``TemplateHook.bind``)."""
        keyword = keyword_of(job)
        assert keyword is not None, "a template selects tests with targets and -k only"
        return {"sources": job.sources, "targets": list(job.targets), "keyword": keyword}

    def receive(self, timeout: float) -> tuple[dict, list[int]]:
        """The next message from the template (its exit reports are noted on the way).

        Raises:
            TemplateGone: nothing within ``timeout`` seconds, or the template has ended.
        """
        if self.control.fileno() < 0:
            raise TemplateGone("the template was closed")
        ready, _, _ = select.select([self.control], [], [], timeout)
        if not ready:
            raise TemplateGone("the template did not answer")
        try:
            data, fds, _, _ = socket.recv_fds(self.control, 4096, 1)
        except OSError as error:
            raise TemplateGone(str(error)) from error
        if not data:
            raise TemplateGone("the template has ended")
        message = json.loads(data)
        if "ended" in message:
            self.ended[int(message["ended"])] = int(message["status"])
        return message, fds

    def status(self, pid: int) -> int:
        """The exit status of the trusted process ``pid`` (-1 if the template cannot tell)."""
        deadline = time.monotonic() + self.ANSWER_S
        while pid not in self.ended:
            try:
                self.receive(max(0.0, deadline - time.monotonic()))
            except TemplateGone:
                return -1
        return self.ended.pop(pid)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.control.send(b"exit")  # other forks of the driver may hold this socket too
        self.control.close()
        TrustedTemplate.live.discard(self.control)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


# --- the driver -------------------------------------------------------------------------------


@dataclass
class Running:
    """A trusted process at work on one job."""

    job: Job
    pid: int
    fd: int
    started: float
    buffer: bytes = b""
    events: list[dict] = field(default_factory=list)
    running: str | None = None
    stopped_for: str = ""
    since: float = 0.0  # when the running test's start arrived
    seconds: dict[str, float] = field(default_factory=dict)  # per test, as seen by the driver
    template: TrustedTemplate | None = None  # the process's parent, if not the driver
    pidfd: int = -1  # with a template: a descriptor to signal the process with

    def kill(self, number: int = signal.SIGKILL) -> None:
        """Send the trusted process signal ``number`` (it may have ended already)."""
        with contextlib.suppress(ProcessLookupError, OSError):
            if self.template is not None:
                signal.pidfd_send_signal(self.pidfd, number)
            else:
                os.kill(self.pid, number)

    def reap(self) -> int:
        """Wait for the ended process; its exit status (-1 if its template cannot tell)."""
        if self.template is None:
            return os.waitpid(self.pid, 0)[1]
        os.close(self.pidfd)
        return self.template.status(self.pid)


def parse_events(running: Running, data: bytes) -> None:
    """Add the complete JSON lines in ``data`` to ``running.events``."""
    running.buffer += data
    *lines, running.buffer = running.buffer.split(b"\n")
    for line in lines:
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if isinstance(event, dict):
                running.events.append(event)
                when = event.get("t")
                when = float(when) if isinstance(when, int | float) else time.monotonic()
                if event.get("event") == "start":
                    running.running, running.since = event.get("nodeid"), when
                elif event.get("event") == "result":
                    if running.running is not None:
                        running.seconds[str(running.running)] = when - running.since
                    running.running = None


def _test_file(nodeid: str) -> str:
    """The test file of a test id as the driver shards them: a file of tests/, or the
    extra tests' folder as a whole."""
    path = nodeid.split("::")[0]
    return path if path.startswith("tests/") else path.split("/")[0]


def finish(running: Running, status: int, limits: Limits) -> Grade:
    """The grade of a finished job, from its events; tests without a result lose their points."""
    grade = Grade(running.job.name, problems=list(running.job.problems))
    tests: dict[str, TestRecord] = {}
    for event in running.events:
        if event.get("event") == "collected":
            for t in event.get("tests", []):
                tests[t["nodeid"]] = TestRecord(
                    t["nodeid"], t["topic"], t["exercise"], float(t["points"]), bool(t["extra"])
                )
        elif event.get("event") == "result" and event.get("nodeid") in tests:
            record = tests[event["nodeid"]]
            record.done, record.passed = True, bool(event.get("passed"))
            record.message = str(event.get("message", ""))
    if running.stopped_for:
        reason = running.stopped_for
    elif not tests:
        reason = "grading stopped before any test ran (an error in the grader)"
    else:
        reason = f"grading stopped early (status {status})"
    unfinished = [t for t in tests.values() if not t.done]
    for record in unfinished:
        record.done = True
        record.message = reason if record.nodeid == running.running else f"not run: {reason}"
    if unfinished or not tests:
        grade.problems.append(reason)
    grade.tests = list(tests.values())
    grade.seconds = time.monotonic() - running.started
    return grade


TREE_PREFIX = "grading-tree-"  # the scratch folders of graders, in the temporary folder


def forget_test_modules(keep: Path | None = None) -> None:
    """Drop the test modules imported from graders' trees (other than ``keep``'s) from
    ``sys.modules``, so that a grader never runs tests imported from another grader's tree,
    which may be gone."""
    trees = os.path.join(os.path.realpath(tempfile.gettempdir()), TREE_PREFIX)
    kept = os.path.realpath(keep) + os.sep if keep is not None else None
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        theirs = isinstance(path, str) and path.startswith(trees)
        if theirs and (kept is None or not path.startswith(kept)):
            del sys.modules[name]


class BatchGrader:
    """Grades jobs against one instructor tree, with one fork server for the whole batch."""

    def __init__(
        self,
        tree: Path = ROOT,
        *,
        extra_tests: Path | None = None,
        limits: Limits = Limits(),
        unsafe: bool = False,
        start_template: bool = False,
    ) -> None:
        """``start_template``: fork the template process now, while the fork server starts
        (for a batch of more submissions than workers; otherwise on the first job)."""
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        from grading.worker import PR_SET_DUMPABLE, _libc, preload

        # Nobody else of this user may debug this process or its forks (or write their memory).
        _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        launch = launch_server(tree, unsafe=unsafe)  # it imports torch while this process does
        self.limits = limits
        self.file_seconds: dict[str, float] = {}  # grading time of each test file, last seen
        self.file_tests: dict[str, int] = {}  # tests in each file, last collected
        self.scratch = Path(tempfile.mkdtemp(prefix=TREE_PREFIX))
        self.template: TrustedTemplate | None = None
        self.use_template = True
        self.sharing = False  # True while grade() shares a submission's files among workers
        try:
            preload()
            self.tree = self.scratch / "tree"
            copy_tree(tree, extra_tests, self.tree)
            self.topics = graded_topics(self.tree)
            self.collect_once()
            gc.collect()
            gc.freeze()  # the trusted processes' collections skip it: fewer copied pages
            if start_template:
                self.template = TrustedTemplate(self.tree, self.limits, [launch.control])
        finally:
            try:
                self.server = launch.ready()
            except BaseException:
                if self.template is not None:
                    self.template.close()
                raise

    def collect_once(self) -> None:
        """Import the instructor's test files here, once, before any fork.

        pytest's ``importlib`` import mode reuses a test module already in ``sys.modules``, so
        each forked grading process finds them imported (their module-level references, such
        as brute-force parametrizations, computed once per batch, not once per submission).
        """
        forget_test_modules(keep=self.scratch)  # another grader's, of the same names
        arguments = pytest_arguments(self.tree, self.tree, Job("collect", {}), self.limits)
        with (
            open(os.devnull, "w") as null,
            contextlib.redirect_stdout(null),
            contextlib.redirect_stderr(null),
        ):
            pytest.main([*arguments, "--collect-only"])

    @property
    def note(self) -> str:
        """Why workers run without OS isolation, or ""."""
        return self.server.note

    def close(self) -> None:
        if self.template is not None:
            self.template.close()
        self.server.close()
        shutil.rmtree(self.scratch, ignore_errors=True)
        forget_test_modules()

    def __enter__(self) -> BatchGrader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self, job: Job) -> Running:
        template = self.template_for(job)  # first: a new template must not hold this job's pipe
        client = self.server.new_client()  # asked here, one at a time, never by the children
        read, write = os.pipe()
        os.set_blocking(read, False)
        if template is not None:
            try:
                pid, pidfd = template.start(job, client, write)
            except TemplateGone:  # grade the rest of the batch without one
                self.template, self.use_template = None, False
                template.close()
            else:
                os.close(write)
                client.close()
                return Running(job, pid, read, time.monotonic(), template=template, pidfd=pidfd)
        pid = os.fork()
        if pid == 0:
            os.close(read)
            with contextlib.suppress(OSError):
                self.server.control.close()
            TrustedTemplate.close_all_in_child()
            trusted_child(job, self.tree, client, write, self.limits)
        os.close(write)
        client.close()
        return Running(job, pid, read, time.monotonic())

    def template_for(self, job: Job) -> TrustedTemplate | None:
        """The template that forks this batch's trusted processes (made on first use).

        None when the driver forks directly: after a template failed; for a job whose tests
        are chosen with other options than files and ``-k``; and while a submission is shared
        out among idle workers, whose processes start sooner each collecting its own files.
        """
        if not self.use_template or self.sharing or keyword_of(job) is None:
            return None
        if self.template is None:
            self.template = TrustedTemplate(self.tree, self.limits, [self.server.control])
        return self.template

    def learn(self, running: Running) -> None:
        """Note how long each test file took (from the times its results arrived)."""
        seconds: dict[str, float] = {}
        for nodeid, elapsed in running.seconds.items():
            name = _test_file(nodeid)
            seconds[name] = seconds.get(name, 0.0) + elapsed
        self.file_seconds.update(seconds)  # the latest job that ran the file
        for event in running.events:
            if event.get("event") == "collected":
                counts: dict[str, int] = {}
                for test in event.get("tests", []):
                    name = _test_file(str(test.get("nodeid", "")))
                    counts[name] = counts.get(name, 0) + 1
                self.file_tests.update(counts)

    def test_files(self) -> list[str]:
        """The graded test files (and the extra tests' folder), relative to the tree."""
        files = [f"tests/test_{topic}.py" for topic in self.topics]
        if (self.tree / EXTRA_TESTS_DIR).is_dir():
            files.append(EXTRA_TESTS_DIR)
        return files

    def shards(self, job: Job, count: int) -> list[Job]:
        """``job`` as up to ``count`` jobs over disjoint groups of whole test files.

        A topic's tests stay in one group, so each topic is still loaded in one worker (and
        has one crash budget). Groups are balanced by each file's grading time in this batch so
        far, or by its number of tests before that (longest first, onto the lightest group).
        """
        files = self.test_files()
        if job.targets or count < 2 or len(files) < 2:
            return [dataclasses.replace(job)]  # a copy: each shard is its own object
        weight = {f: self.file_seconds.get(f, 0.01 * self.file_tests.get(f, 20)) for f in files}
        groups: list[list[str]] = [[] for _ in range(min(count, len(files)))]
        loads = [0.0] * len(groups)
        for name in sorted(files, key=lambda f: -weight[f]):
            lightest = loads.index(min(loads))
            groups[lightest].append(name)
            loads[lightest] += weight[name]
        return [
            Job(job.name, job.sources, [], job.select, tuple(sorted(g, key=files.index)))
            for g in groups
        ]

    def merge(self, job: Job, parts: list[Grade]) -> Grade:
        """One grade from the grades of a job's shards, tests in the order of the files."""
        files = self.test_files()

        def place(record: TestRecord) -> int:
            name = _test_file(record.nodeid)
            return files.index(name) if name in files else len(files)

        grade = Grade(job.name, problems=list(job.problems))
        for part in parts:
            grade.tests += part.tests
            grade.problems += [p for p in part.problems if p not in grade.problems]
        grade.tests.sort(key=place)  # stable: each file's tests keep their order
        grade.seconds = max(part.seconds for part in parts)
        return grade

    def grade(self, jobs: list[Job], workers: int = 1, on_grade=None) -> list[Grade]:
        """Grade every job, ``workers`` at a time; ``on_grade(grade)`` after each.

        With fewer jobs than ``workers`` (one submission from the command line, say), each
        job's test files are shared out among the idle workers: separate trusted processes,
        each with its own workers for its topics, whose grades are merged into one.
        """
        slots = max(1, workers)
        split = slots // len(jobs) if 0 < len(jobs) < slots else 1
        self.sharing = split > 1
        pending, parts, owner = [], {}, {}
        for index, job in enumerate(jobs):
            for shard in self.shards(job, split):
                owner[id(shard)] = index
                pending.append(shard)
            parts[index] = []
        expected = {i: sum(1 for j in pending if owner[id(j)] == i) for i in parts}
        grades: list[Grade] = []

        def done(shard: Job, grade: Grade) -> None:
            index = owner[id(shard)]
            parts[index].append(grade)
            if len(parts[index]) < expected[index]:
                return
            whole = parts[index][0] if expected[index] == 1 else self.merge(jobs[index], parts[index])  # fmt: skip
            grades.append(whole)
            if on_grade is not None:
                on_grade(whole)

        self.run(pending, slots, done)
        return grades

    def run(self, pending: list[Job], slots: int, done) -> None:
        """Run the jobs, ``slots`` at a time; ``done(job, grade)`` as each finishes."""
        running: list[Running] = []
        while pending or running:
            while pending and len(running) < slots:
                running.append(self.start(pending.pop(0)))
            ready, _, _ = select.select([r.fd for r in running], [], [], POLL_S)
            now = time.monotonic()
            for job in list(running):
                ended = False
                if job.fd in ready:
                    try:
                        data = os.read(job.fd, 1 << 20)
                    except BlockingIOError:
                        data = None
                    if data:
                        parse_events(job, data)
                    elif data == b"":
                        ended = True
                wall = self.limits.wall_s
                if not ended and wall > 0 and now - job.started > wall and not job.stopped_for:
                    job.stopped_for = f"reached the whole-submission time limit of {wall:g} s"
                    job.kill(signal.SIGTERM)  # it writes out its events and ends
                if not ended and job.stopped_for and now - job.started > wall + STOP_GRACE_S:
                    job.kill()
                    ended = True
                if ended:
                    status = job.reap()
                    with contextlib.suppress(BlockingIOError, OSError):
                        parse_events(job, os.read(job.fd, 1 << 20) or b"")
                    os.close(job.fd)
                    running.remove(job)
                    grade = finish(job, status, self.limits)
                    self.learn(job)
                    done(job.job, grade)


def copy_tree(instructor: Path, extra_tests: Path | None, target: Path) -> None:
    """What grading needs from the instructor's tree (and the extra tests), never solutions/."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in TREE_PARTS:
        source = instructor / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=ignore)
        elif source.is_file():
            shutil.copyfile(source, target / part)
    if extra_tests is not None:
        shutil.copytree(extra_tests, target / EXTRA_TESTS_DIR, ignore=ignore)


_graders: dict[tuple, BatchGrader] = {}


def shared_grader(
    instructor: Path, extra_tests: Path | None, limits: Limits, unsafe: bool
) -> BatchGrader:
    """One grader per tree, extra tests, limits and mode, kept for the life of the process."""
    key = (instructor, extra_tests, limits, unsafe)
    if key not in _graders:
        if not _graders:
            atexit.register(lambda: [g.close() for g in _graders.values()])
        _graders[key] = BatchGrader(
            instructor, extra_tests=extra_tests, limits=limits, unsafe=unsafe
        )
    return _graders[key]


def grade_folder(
    folder: Path,
    name: str,
    *,
    limits: Limits = Limits(),
    instructor: Path = ROOT,
    extra_tests: Path | None = None,
    unsafe: bool = False,
) -> Grade:
    """Grade the topic files in ``folder`` against the instructor's tests, in isolation."""
    grader = shared_grader(instructor, extra_tests, limits, unsafe)
    try:
        sources, notes = read_sources(folder, grader.topics)
    except FolderError as error:
        sources, notes = {}, [f"cannot grade {name}: {error}"]
    return grader.grade([Job(name, sources, notes)])[0]


__all__ = ["BatchGrader", "Grade", "Job", "Limits", "TestRecord", "grade_folder", "sys"]
