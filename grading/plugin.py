"""The pytest plugin behind the grading contract (loaded by the repository's conftest.py).

- ``--impl exercises|solutions|PATH`` picks the implementation (default: ``exercises``).
- A graded test file sets ``TOPIC`` and ``POINTS``; each of its tests carries one
  ``@pytest.mark.exercise(name)`` with a name from ``POINTS``.
- A test that hits an unfinished stub reports "not implemented yet" instead of a traceback.
- After the run, a score table per exercise and chapter; ``--grading-json FILE`` saves it.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from grading.arguments import ChangedInPlace
from grading.loader import ROOT, TIMEOUT_MESSAGE, ImplError, resolve_impl
from grading.report import TestOutcome, format_table, score, to_dict

IMPL_KEY = pytest.StashKey[Path]()
# After this many tests of one exercise have run out of time, its remaining tests are not run:
# an endless loop then costs two time limits, not one per test (which, in a batch, could use
# up the whole submission's time and cost the topics graded after it).
TIMEOUTS_PER_EXERCISE = 2
GRADED = "graded"  # a user property of graded tests' reports in pytest-xdist workers


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grading", "course grading")
    group.addoption(
        "--impl",
        default="exercises",
        help="implementation to grade: 'exercises' (default), 'solutions', or a folder of topic files",
    )
    group.addoption("--grading-json", default=None, metavar="FILE", help="write the scores as JSON")
    group.addoption("--no-score-table", action="store_true", help="do not print the score table")


def pytest_configure(config: pytest.Config) -> None:
    try:
        config.stash[IMPL_KEY] = resolve_impl(config.getoption("--impl"))
    except ImplError as error:
        raise pytest.UsageError(str(error)) from None
    config.pluginmanager.register(Grader(config), "course-grader")


def _impl_label(impl: Path) -> str:
    try:
        return f"{impl.relative_to(ROOT)}/"
    except ValueError:
        return f"{impl}/"


def _failure_text(report: pytest.TestReport) -> str:
    """What a failed test reported, without the line that pytest-xdist's controller puts first
    (``[gw1] linux -- Python 3.11.7 ...``: the worker that ran it)."""
    text = str(report.longreprtext).strip()
    if hasattr(report, "node") and text.startswith("[gw"):
        text = text.partition("\n")[2].strip()
    return text


class Grader:
    """Collects the outcome of every graded test and reports the scores."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.impl = config.stash[IMPL_KEY]
        self.points: dict[str, dict[str, float]] = {}
        self.outcomes: dict[str, TestOutcome] = {}
        self.timeouts: dict[tuple[str, str], list[str]] = {}  # messages, per (topic, exercise)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        errors = []
        for item in items:
            module = getattr(item, "module", None)
            topic = getattr(module, "TOPIC", None)
            if topic is None:
                continue
            conflict = self._add_points(topic, module.POINTS)
            if conflict:
                errors.append(f"{item.nodeid}: {conflict}")
                continue
            marks = list(item.iter_markers("exercise"))
            if len(marks) != 1 or not marks[0].args or marks[0].args[0] not in module.POINTS:
                errors.append(
                    f"{item.nodeid}: needs exactly one @pytest.mark.exercise(name) "
                    f"with a name from POINTS ({', '.join(module.POINTS)})"
                )
                continue
            self.outcomes[item.nodeid] = TestOutcome(
                item.nodeid, topic, marks[0].args[0], ran=False
            )
            if self.in_xdist_worker:  # tell the controller, which collects nothing itself
                item.user_properties.append((GRADED, (topic, marks[0].args[0], module.POINTS)))
        if errors:
            raise pytest.UsageError("graded tests without a valid exercise:\n" + "\n".join(errors))

    def _add_points(self, topic: str, points: dict[str, float]) -> str:
        """Merge one test file's ``POINTS`` into its topic's; a conflicting value is an error.

        Several files may grade one topic (public tests and an instructor's extra tests), each
        with its own exercise names.
        """
        known = self.points.setdefault(topic, {})
        for exercise, value in points.items():
            if known.setdefault(exercise, value) != value:
                return (
                    f"exercise '{exercise}' of '{topic}' has {value} points here and "
                    f"{known[exercise]} in another file; give extra tests their own exercise names"
                )
        return ""

    # pytest-timeout reads the limit (``timeout`` in pyproject.toml, ``--timeout``); these two
    # hooks replace its alarm so that a test that runs too long fails with one clear line
    # instead of a dump of every thread's stack.
    @pytest.hookimpl(tryfirst=True)
    def pytest_timeout_set_timer(self, item: pytest.Item, settings) -> bool | None:
        if settings.method != "signal" or not settings.timeout:
            return None

        def on_alarm(signum, frame):
            pytest.fail(TIMEOUT_MESSAGE.format(seconds=settings.timeout), pytrace=False)

        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, settings.timeout)
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_timeout_cancel_timer(self, item: pytest.Item) -> bool | None:
        if getattr(signal, "SIGALRM", None) is None:
            return None
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        outcome = self.outcomes.get(item.nodeid)
        if outcome is None:
            return
        timeouts = self.timeouts.get((outcome.topic, outcome.exercise), [])
        if len(timeouts) >= TIMEOUTS_PER_EXERCISE:
            pytest.fail(
                f"not run: {len(timeouts)} earlier tests of {outcome.exercise}() {timeouts[0]}",
                pytrace=False,
            )

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        for item in items:
            self.outcomes.pop(item.nodeid, None)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = self.outcomes.get(item.nodeid)
        message = ""
        if outcome and call.excinfo is not None and call.excinfo.errisinstance(NotImplementedError):
            outcome.not_implemented = True
            where = "" if self.remote else _impl_label(self.impl)
            message = (
                f"not implemented yet: {outcome.exercise}() in {where}{outcome.topic}.py "
                "still raises NotImplementedError"
            )
        elif call.excinfo is not None and call.excinfo.errisinstance(ChangedInPlace):
            message = str(call.excinfo.value)
        if message:
            # The report carries this line instead of a traceback, which pytest would
            # otherwise format (reading source files) for nothing.
            try:
                pytest.fail(message, pytrace=False)
            except pytest.fail.Exception:
                call.excinfo = pytest.ExceptionInfo.from_current()
        return (yield)

    @property
    def remote(self) -> bool:
        """Whether the submission is graded in isolation (its folder is then a temporary one)."""
        from grading.remote import REMOTE_KEY

        return REMOTE_KEY in self.config.stash

    @property
    def in_xdist_worker(self) -> bool:
        """Whether this process is a pytest-xdist worker (``make test`` runs two)."""
        return hasattr(self.config, "workerinput")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome = self.outcomes.get(report.nodeid) or self._outcome_from_worker(report)
        if outcome is None:
            return
        outcome.ran = True
        outcome.duration_s += report.duration
        if report.failed or report.skipped:
            outcome.passed, outcome.failed = False, True
            outcome.message = outcome.message or _failure_text(report)
            if report.when == "call" and outcome.message.startswith(TIMEOUT_MESSAGE[:20]):
                key = (outcome.topic, outcome.exercise)
                self.timeouts.setdefault(key, []).append(outcome.message.splitlines()[0])
        elif report.when == "call" and not outcome.failed:
            outcome.passed = True

    def _outcome_from_worker(self, report: pytest.TestReport) -> TestOutcome | None:
        """In the controller of a pytest-xdist run, which collects nothing itself: the graded
        test's topic, exercise and points, from the worker's report (``GRADED``)."""
        for name, value in report.user_properties:
            if name == GRADED:
                topic, exercise, points = value
                self._add_points(topic, dict(points))
                outcome = TestOutcome(report.nodeid, topic, exercise, ran=False)
                return self.outcomes.setdefault(report.nodeid, outcome)
        return None

    def _scores(self):
        return score(list(self.outcomes.values()), self.points)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.outcomes or self.config.getoption("--no-score-table"):
            return
        terminalreporter.write_sep("=", "score")
        terminalreporter.write_line(format_table(self._scores(), _impl_label(self.impl)))

    def pytest_sessionfinish(self) -> None:
        target = self.config.getoption("--grading-json")
        if target and not self.in_xdist_worker:  # under pytest-xdist, the controller writes
            data = to_dict(self._scores(), _impl_label(self.impl))
            Path(target).write_text(json.dumps(data, indent=2), encoding="utf-8")
