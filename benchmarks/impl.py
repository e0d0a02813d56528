"""``--impl`` for the benchmarks, as for the tests: whose code is timed.

``solutions`` (the default: the goals in ``README.md`` are measured on the reference answers),
``exercises`` (your own work: compare your encoder with numpy's or torch's cast), or a folder of
topic files. An exercise that still raises ``NotImplementedError`` ends the benchmark with one
line saying which function, not a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from grading.loader import ROOT, ImplError, TopicLoadError, load_topic, resolve_impl

HELP = "whose code to time: solutions (the default), exercises, or a folder of topic files"


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with ``--impl`` (default ``solutions``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--impl", default="solutions", help=HELP)
    return parser


def load(topic: str, spec: str) -> ModuleType:
    """The topic module of ``--impl spec``; exits with one line if it cannot be imported."""
    try:
        return load_topic(resolve_impl(spec), topic)
    except (ImplError, TopicLoadError) as error:
        sys.exit(f"cannot benchmark '{topic}': {error}")


def run(main: Callable[[], int | None]) -> int:
    """Run a benchmark's ``main``; an unfinished exercise ends it with one line."""
    try:
        return main() or 0
    except NotImplementedError as error:
        print(
            f"not implemented yet: {_where(error)} still raises NotImplementedError "
            "(finish it, or time the reference answers with --impl solutions)",
            file=sys.stderr,
        )
        return 1


def _where(error: BaseException) -> str:
    """``Name.method() in path/topic.py`` for the innermost frame of ``error``'s traceback."""
    tb = error.__traceback__
    if tb is None:
        return "a function"
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    path = Path(code.co_filename)
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return f"{code.co_qualname}() in {shown}"
