"""Grade an implementation and print a score table: ``python -m grading [--impl X] [TOPIC ...]``.

This is what ``make grade`` runs. It prints the score table, then per chapter what is left to
do: how many exercises are not started, and for each exercise started but not passing its
first failing message with the hint; then the next exercise to work on, in chapter order.
It exits 0 whenever grading ran (whatever the score) and non-zero only when it could not run,
for example when ``--impl`` names no folder.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from itertools import groupby
from pathlib import Path

import pytest

from course.topics import TOPICS
from grading.loader import ROOT

MAX_MESSAGE_LINES = 8


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grading", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--impl",
        default="exercises",
        help="exercises (default), solutions, or a folder of topic files",
    )
    parser.add_argument(
        "topics", nargs="*", help="topics to grade (default: every topic with tests)"
    )
    parser.add_argument(
        "-k", metavar="EXPRESSION", help="only the tests matching it (as pytest -k)"
    )
    parser.add_argument(
        "-x", "--exitfirst", action="store_true", help="stop at the first failing test"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the scores as JSON")
    args = parser.parse_args(argv)

    unknown = [t for t in args.topics if not (ROOT / "tests" / f"test_{t}.py").is_file()]
    if unknown:
        graded = sorted(t for t in TOPICS if (ROOT / "tests" / f"test_{t}.py").is_file())
        print(f"no graded tests for {', '.join(unknown)}; topics with tests: {', '.join(graded)}")
        return 2
    targets = [str(ROOT / "tests" / f"test_{t}.py") for t in args.topics] or [str(ROOT / "tests")]
    selection = (["-k", args.k] if args.k else []) + (["-x"] if args.exitfirst else [])
    print(f"Running the graded tests on {args.impl} ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(args.json or Path(scratch) / "scores.json")
        options = ["--impl", args.impl, "-q", "--tb=short", "-rN", "--no-header"]
        options += ["--no-score-table", "--grading-json", str(report)]
        options += ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT)]
        # pytest's own progress and summary would come before the table; keep them for errors.
        pytest_output = io.StringIO()
        with contextlib.redirect_stdout(pytest_output):
            code = pytest.main([*targets, *selection, *options])
        if code == pytest.ExitCode.NO_TESTS_COLLECTED:
            print(f"No graded test matches -k {args.k!r}." if args.k else "No graded tests.")
            return int(code)
        if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            print(pytest_output.getvalue(), end="")
            return int(code)
        scores = json.loads(report.read_text(encoding="utf-8"))
    print(learner_report(scores))
    return 0


def learner_report(scores: dict) -> str:
    """The score table, then per chapter what is left to do, then the next exercise to do.

    Args:
        scores: what ``--grading-json`` writes (``grading.report.to_dict``).
    """
    from grading.report import ExerciseScore, TestOutcome, format_table

    exercises = []
    for entry in scores["exercises"]:
        tests = [
            TestOutcome(**t)
            for t in scores["tests"]
            if (t["topic"], t["exercise"]) == (entry["topic"], entry["exercise"])
        ]
        exercises.append(
            ExerciseScore(entry["topic"], entry["exercise"], entry["max_score"], tests)
        )
    lines = [format_table(exercises, scores["impl"]), ""]
    next_up = None
    for topic, group in groupby(exercises, key=lambda e: e.topic):
        group = [e for e in group if e.ran]
        if not group:
            continue
        info = TOPICS.get(topic)
        lines.append(f"Chapter {info.chapter}: {info.title}" if info else topic)
        not_started = [e for e in group if _not_started(e)]
        wrong = [e for e in group if e.passed < len(e.ran) and not _not_started(e)]
        if not not_started and not wrong:
            lines.append(f"  done: all {len(group)} exercises pass")
        if not_started:
            names = ", ".join(e.exercise for e in not_started)
            count = f"{len(not_started)} exercise{'s' if len(not_started) != 1 else ''}"
            lines.append(f"  not started ({count}): {names}")
        unusable = _topic_unusable(wrong) if wrong and len(wrong) == len(group) else None
        if unusable:
            lines.append(f"  every exercise fails because the file cannot be used: {unusable}")
            wrong = []
        for exercise in wrong:
            failing = [t for t in exercise.ran if not t.passed]
            first = next((t for t in failing if not t.not_implemented), failing[0])
            lines.append(
                f"  {exercise.exercise}: {len(failing)} of {len(exercise.ran)} tests fail; "
                "the first one says:"
            )
            lines += ["    " + line for line in _message(first.message)]
        for exercise in group:
            if next_up is None and exercise.passed < len(exercise.ran):
                next_up = exercise
    if next_up is None:
        lines += ["", "Every graded test that ran passed."]
    else:
        impl = scores["impl"]
        option = "" if impl == "exercises/" else f" --impl {impl.rstrip('/')}"
        lines += [
            "",
            f"Next: {next_up.exercise}() in {impl}{next_up.topic}.py. "
            "Its tests, with full messages:",
            f"  .venv/bin/pytest tests/test_{next_up.topic}.py -k {next_up.exercise}{option}",
        ]
    return "\n".join(lines)


def _topic_unusable(exercises) -> str | None:
    """The loader's one-line reason when every test of a chapter failed with it, else None."""
    messages = {_message(t.message)[0] for e in exercises for t in e.ran}
    if len(messages) == 1:
        (message,) = messages
        if message.startswith("cannot grade "):
            return message.split(": ", 1)[-1]
    return None


def _not_started(exercise) -> bool:
    """No test of the exercise passed, and every one failed as not implemented."""
    return not exercise.passed and all(t.not_implemented for t in exercise.ran)


def _message(message: str) -> list[str]:
    """A failure message as a learner should see it: the check's own lines, or the error.

    The checks fail with a few lines (call, expected, received, hint); an exception raised by
    the learner's code comes with pytest's short traceback, of which the error line is kept.
    """
    lines = [line.rstrip() for line in message.strip().splitlines() if line.strip()]
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    if errors:
        where = [line.strip() for line in lines if line.lstrip().startswith(("/", "exercises"))]
        lines = errors + ([f"(raised at {where[-1]})"] if where else [])
    if len(lines) > MAX_MESSAGE_LINES:
        lines = [*lines[: MAX_MESSAGE_LINES - 1], "..."]
    return lines or ["failed"]


if __name__ == "__main__":
    sys.exit(main())
