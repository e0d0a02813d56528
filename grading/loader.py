"""Find and import the implementation under test, turning every failure into one clear line.

``--impl`` chooses a folder of topic files: ``exercises`` (the default), ``solutions``, or any
path. Each topic file is imported by path under a private module name, so two implementations
can be loaded side by side and a broken file never stops the other topics from being graded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from grading.arguments import CheckedTopic

ROOT = Path(__file__).resolve().parents[1]
NAMED_IMPLS = ("exercises", "solutions")
TIMEOUT_MESSAGE = (
    "did not finish within the {seconds:g} s time limit: "
    "is there a loop that never ends, or work far slower than it needs to be?"
)


class ImplError(Exception):
    """The implementation folder itself is unusable (reported once, as a usage error)."""


class TopicLoadError(Exception):
    """One topic file could not be imported; the message is one line a learner can act on."""


def resolve_impl(spec: str) -> Path:
    """The folder named by ``--impl``: ``exercises``, ``solutions`` or a path to a folder."""
    path = ROOT / spec if spec in NAMED_IMPLS else Path(spec).expanduser()
    if not path.exists():
        raise ImplError(f"--impl {spec}: there is no folder {path}")
    if not path.is_dir():
        raise ImplError(
            f"--impl {spec}: {path} is a file; give the folder that holds the topic files"
        )
    return path.resolve()


def _import_file(path: Path, module_name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


_cache: dict[tuple[Path, str], ModuleType | TopicLoadError] = {}

# Called as ``observer(event, topic)`` with "import_start" and "import_end" around the first
# import of a topic file (the isolated grader logs them to tell a crash on import apart).
import_observers: list[Callable[[str, str], None]] = []


def load_topic(impl: Path, topic: str) -> ModuleType:
    """Import ``<impl>/<topic>.py`` once and return it.

    Raises:
        TopicLoadError: the file is missing, has a syntax error, raises or exits on import,
            or does not finish importing within the test time limit. The same error is
            raised again for every later request, without re-importing.
    """
    key = (impl, topic)
    if key not in _cache:
        for observer in import_observers:
            observer("import_start", topic)
        _cache[key] = _try_import(impl, topic)
        for observer in import_observers:
            observer("import_end", topic)
    result = _cache[key]
    if isinstance(result, TopicLoadError):
        raise result
    return result


def _try_import(impl: Path, topic: str) -> ModuleType | TopicLoadError:
    path = impl / f"{topic}.py"
    if not path.is_file():
        return TopicLoadError(f"no file {topic}.py in {impl}: nothing to grade for '{topic}'")
    tag = hashlib.sha1(str(impl).encode()).hexdigest()[:8]
    try:
        return _import_file(path, f"_graded_{tag}_{topic}")
    except KeyboardInterrupt:
        raise
    except pytest.fail.Exception as error:  # the time limit fails the test that was importing
        if str(error).startswith(TIMEOUT_MESSAGE[:20]):
            return TopicLoadError(
                f"{path.name} did not finish importing within the time limit: "
                "is there a loop that never ends at the top level of the file?"
            )
        raise
    except BaseException as error:  # learners' code can raise anything
        frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename) == path]
        info = {
            "type": type(error).__name__,
            "message": str(error.msg if isinstance(error, SyntaxError) else error),
            "line": error.lineno if isinstance(error, SyntaxError) else None,
            "code": error.code if isinstance(error, SystemExit) else None,
        }
        if frames and not isinstance(error, SyntaxError):
            info["line"] = frames[-1].lineno
        return TopicLoadError(describe_import_error(info, path.name, topic))


def describe_import_error(info: dict, filename: str, topic: str) -> str:
    """One line for a topic file that failed to import, from the exception's plain data."""
    kind, message, line = info.get("type"), info.get("message", ""), info.get("line")
    if kind in ("SyntaxError", "IndentationError", "TabError"):
        return f"{filename} line {line}: syntax error ({message}); fix it to grade '{topic}'"
    if kind == "SystemExit":
        return f"{filename} called exit({info.get('code')}) while being imported"
    where = f" (line {line})" if isinstance(line, int) else ""
    return f"{filename} raised {kind} while being imported{where}: {message}"


def topic_fixture(topic: str):
    """A pytest fixture named after ``topic`` that returns the topic module under test.

    Use it at module level of a graded test file: ``news = topic_fixture("news")``.
    A topic file that cannot be imported fails each of its tests with one clear line; a call
    that changes an array argument in place fails its test (``grading.arguments``).
    """

    @pytest.fixture(name=topic, scope="module")
    def _fixture(request: pytest.FixtureRequest) -> CheckedTopic:
        from grading.plugin import IMPL_KEY
        from grading.remote import REMOTE_KEY, WorkerEnded

        session = request.config.stash.get(REMOTE_KEY, None)
        try:
            if session is not None:
                return session.topic(topic)
            return CheckedTopic(load_topic(request.config.stash[IMPL_KEY], topic))
        except (TopicLoadError, WorkerEnded) as error:
            problem = str(error)
        # Outside the except block, so the report shows no chained exception.
        pytest.fail(f"cannot grade '{topic}': {problem}", pytrace=False)

    return _fixture
