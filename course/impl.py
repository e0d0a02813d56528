"""Which implementation of the exercises the chapters run: the reference, or a learner's own.

A chapter gets its topic modules with ``fp8 = impl.load("fp8")``. By default that is the
reference, ``solutions.fp8``, as on the website. When the environment variable ``COURSE_IMPL``
is set (``make mine``, ``make lab``), or a notebook calls ``impl.use("exercises")`` first, the
topic file is imported from that folder (``exercises``, ``solutions`` or a path) by the same
loader as the graders' ``--impl``. With a learner's implementation, a cell that fails does not
print a traceback: it shows one short box instead ("not implemented yet: ``fp8.encode``
(exercise 3.2)"), and the cells after it go on where they can.
"""

from __future__ import annotations

import html
import importlib
import os
import re
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import ModuleType, TracebackType

ROOT = Path(__file__).resolve().parents[1]
ENV = "COURSE_IMPL"
REFERENCE = "solutions"
IMPORT_SECONDS = 30  # a topic file that takes longer to import is looping
CELL_SECONDS = 300  # a cell that takes longer with a learner's code is reported, not waited on

_choice: str | None = None
_files: dict[str, str] = {}  # learner topic file (resolved path) -> topic name
_installed = False


class TopicUnavailable(Exception):
    """A learner's topic file cannot be used (missing, syntax error, raises or loops on import)."""


class CellTimeLimit(Exception):
    """A cell ran longer than ``CELL_SECONDS`` with a learner's implementation."""


def chosen() -> str:
    """The implementation in use: ``impl.use``'s choice, else ``$COURSE_IMPL``, else the reference."""
    return _choice or os.environ.get(ENV, "").strip() or REFERENCE


def is_reference(spec: str) -> bool:
    """True when ``spec`` names the reference implementation (``solutions/``)."""
    if spec == REFERENCE:
        return True
    path = Path(spec).expanduser()
    return path.is_absolute() and path.resolve() == (ROOT / REFERENCE).resolve()


def use(spec: str = REFERENCE) -> None:
    """Choose the implementation for the rest of this kernel: ``"solutions"``, ``"exercises"``
    or the path of a folder of topic files. Call it before the first ``load``."""
    global _choice
    _choice = spec.strip() or REFERENCE
    os.environ[ENV] = _choice
    if not is_reference(_choice):
        install_friendly_errors()


def load(topic: str) -> ModuleType:
    """The module of ``topic`` (e.g. ``"fp8"``) from the chosen implementation.

    The reference is a plain import. A learner's file goes through ``grading.loader``; when it
    cannot be imported, the result is a stand-in module whose every attribute raises
    ``TopicUnavailable`` with the loader's one-line reason, so each cell that needs it says why.
    """
    spec = chosen()
    if is_reference(spec):
        return importlib.import_module(f"{REFERENCE}.{topic}")
    from grading.loader import ImplError, TopicLoadError, load_topic, resolve_impl

    install_friendly_errors()
    try:
        folder = resolve_impl(spec)
        with _time_limit(IMPORT_SECONDS, _import_timed_out):
            module = load_topic(folder, topic)
    except (ImplError, TopicLoadError) as error:
        return _unavailable(topic, str(error))
    if module.__file__:
        _files[str(Path(module.__file__).resolve())] = topic
    return module


def _unavailable(topic: str, reason: str) -> ModuleType:
    class Unavailable(ModuleType):
        def __getattr__(self, name: str) -> object:
            if name.startswith("__"):
                raise AttributeError(name)
            raise TopicUnavailable(f"cannot use your {topic}.py: {reason}")

    return Unavailable(topic)


def _import_timed_out() -> None:
    import pytest

    from grading.loader import TIMEOUT_MESSAGE

    # The loader turns this failure into its own "did not finish importing" line.
    raise pytest.fail.Exception(TIMEOUT_MESSAGE.format(seconds=IMPORT_SECONDS), pytrace=False)


def _cell_timed_out() -> None:
    raise CellTimeLimit(f"this cell ran longer than {CELL_SECONDS} s with your implementation")


@contextmanager
def _time_limit(seconds: float, on_timeout) -> Iterator[None]:
    """Call ``on_timeout`` (which raises) after ``seconds`` of wall time; restores an outer limit."""
    try:
        previous_handler = signal.signal(signal.SIGALRM, lambda *_: on_timeout())
    except ValueError:  # not the main thread: no limit
        yield
        return
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - start), 0.01))


# ---------------------------------------------------------------------------------------------
# Exercise names and the "not implemented yet" box


def exercise_labels(topic: str) -> dict[str, str]:
    """``{function or class name: "3.2"}`` from the exercise headings of ``book/<topic>.md``."""
    page = ROOT / "book" / f"{topic}.md"
    if not page.is_file():
        return {}
    found = re.findall(r"Exercise (\d+\.\d+) · `(\w+)", page.read_text(encoding="utf-8"))
    return {name: number for number, name in found}


def describe(topic: str, qualname: str) -> str:
    """``fp8.encode (exercise 3.2)`` for a function (or ``MLA.forward``) of a topic file."""
    number = exercise_labels(topic).get(qualname.split(".")[0])
    name = f"`{topic}.{qualname}`"
    return f"{name} (exercise {number})" if number else name


def _learner_frame(tb: TracebackType | None) -> tuple[str, str, int] | None:
    """(topic, function qualname, line) of the innermost traceback frame in a learner file."""
    found = None
    for frame, line in traceback.walk_tb(tb):
        topic = _files.get(str(Path(frame.f_code.co_filename).resolve()))
        if topic is not None:
            code = frame.f_code
            found = (topic, getattr(code, "co_qualname", code.co_name), line)
    return found


def friendly_message(error: BaseException) -> str:
    """The one line a learner sees instead of a traceback when a cell fails."""
    if isinstance(error, TopicUnavailable):
        return f"Skipped: {error}"
    where = _learner_frame(error.__traceback__)
    if isinstance(error, NotImplementedError) and where is not None:
        topic, qualname, _ = where
        return f"Not implemented yet: {describe(topic, qualname)}. This cell needs it."
    if isinstance(error, CellTimeLimit):
        inside = f" (it was inside {describe(where[0], where[1])})" if where else ""
        return f"Stopped: {error}{inside}. Is there a loop that never ends?"
    if isinstance(error, NameError):
        name = getattr(error, "name", None) or str(error)
        return f"Skipped: this cell needs `{name}`, which an earlier cell could not compute."
    text = " ".join(str(error).split())
    reason = f"{type(error).__name__}: {text}" if text else type(error).__name__
    if len(reason) > 200:
        reason = reason[:197] + "..."
    if where is not None:
        topic, qualname, line = where
        return (
            f"This cell failed inside {describe(topic, qualname)}, line {line} of "
            f"{topic}.py: {reason}"
        )
    return (
        f"This cell failed with your implementation: {reason} "
        "(check the values your functions return with the graded tests)"
    )


def box_html(message: str) -> str:
    """The HTML of the box (``course-impl-note``, styled in assets/course.css)."""
    text = html.escape(message)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return f'<div class="course-impl-note" role="note"><p>{text}</p></div>'


def _show_friendly_error(shell, etype, value, tb, tb_offset=None) -> list[str]:
    if "matplotlib.pyplot" in sys.modules:  # no half-drawn figure below the box
        sys.modules["matplotlib.pyplot"].close("all")
    message = friendly_message(value)
    from IPython.display import display

    display({"text/plain": message, "text/html": box_html(message)}, raw=True)
    return []


def install_friendly_errors() -> None:
    """In an IPython kernel: show failing cells as one-line boxes, and limit each cell's time."""
    global _installed
    if _installed:
        return
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    shell.set_custom_exc((Exception,), _show_friendly_error)

    def start(*_: object) -> None:
        try:
            signal.signal(signal.SIGALRM, lambda *_: _cell_timed_out())
            signal.setitimer(signal.ITIMER_REAL, CELL_SECONDS)
        except ValueError:
            pass

    def stop(*_: object) -> None:
        with suppress(ValueError):
            signal.setitimer(signal.ITIMER_REAL, 0)

    shell.events.register("pre_run_cell", start)
    shell.events.register("post_run_cell", stop)
    _installed = True


# ---------------------------------------------------------------------------------------------
# The banner of `make mine`: which implementation drew the page, how many exercises are done


def topics_of_page(source: str) -> list[str]:
    """The topics a chapter loads (``impl.load("fp8")``), in order of first use."""
    seen: list[str] = []
    for topic in re.findall(r"""impl\.load\(\s*["'](\w+)["']""", source):
        if topic not in seen:
            seen.append(topic)
    return seen


def progress(scores: dict | None, topic: str) -> dict:
    """``{"done", "total", "problem"}`` for a topic from the grader's JSON (``--json``).

    An exercise is done when all its graded tests pass. ``problem`` is the loader's reason when
    the topic file could not be graded at all.
    """
    rows = [e for e in (scores or {}).get("exercises", []) if e["topic"] == topic]
    done = sum(1 for e in rows if e["tests"] and e["passed"] == e["tests"])
    problem = ""
    for test in (scores or {}).get("tests", []):
        if test.get("topic") == topic and "cannot grade" in test.get("message", ""):
            problem = test["message"].strip().splitlines()[0]
            break
    return {"done": done, "total": len(rows), "problem": problem}


def banner_html(label: str, topics: list[str], scores: dict | None) -> str:
    """The banner at the top of a page built by ``make mine``.

    ``topics`` are those the page loads (none: a page that runs no exercise code).
    """
    whose = (
        " (the reference solutions)" if label.rstrip("/") == REFERENCE else ", not the reference"
    )
    drawn = f"<strong>{html.escape(label)}</strong>{whose}"
    if not topics:
        return (
            '<div class="course-impl-banner" role="note"><p>'
            f"This copy of the course runs the chapters with {drawn}.</p></div>"
        )
    parts = []
    for topic in topics:
        state = progress(scores, topic)
        if not state["total"]:
            parts.append(f"<code>{topic}</code>: not graded")
            continue
        text = f"<code>{topic}</code>: {state['done']} of {state['total']} exercises done"
        if state["problem"]:
            text += f" ({html.escape(state['problem'])})"
        parts.append(text)
    graded = (
        "; ".join(parts) + " (done: all its graded tests pass)."
        if scores is not None
        else "exercise scores unavailable (the grader did not run)."
    )
    return (
        '<div class="course-impl-banner" role="note"><p>'
        f"Drawn by {drawn}. {graded} A — in the text is a number that your code has not "
        "computed yet.</p></div>"
    )
