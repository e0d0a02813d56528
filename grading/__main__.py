"""Grade an implementation and print a score table: ``python -m grading [--impl X] [TOPIC ...]``.

This is what ``make grade`` runs. It exits 0 whenever grading ran (whatever the score) and
non-zero only when it could not run, for example when ``--impl`` names no folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import pytest

from course.topics import TOPICS
from grading.loader import ROOT


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
    parser.add_argument("--json", metavar="FILE", help="also write the scores as JSON")
    args = parser.parse_args(argv)

    unknown = [t for t in args.topics if not (ROOT / "tests" / f"test_{t}.py").is_file()]
    if unknown:
        graded = sorted(t for t in TOPICS if (ROOT / "tests" / f"test_{t}.py").is_file())
        print(f"no graded tests for {', '.join(unknown)}; topics with tests: {', '.join(graded)}")
        return 2
    targets = [str(ROOT / "tests" / f"test_{t}.py") for t in args.topics] or [str(ROOT / "tests")]
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(args.json or Path(scratch) / "scores.json")
        options = ["--impl", args.impl, "-q", "--tb=no", "-rN", "--no-header"]
        code = pytest.main(
            [*targets, *options, "--rootdir", str(ROOT), "--grading-json", str(report)]
        )
        if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            return int(code)
        print(first_failures(json.loads(report.read_text(encoding="utf-8"))))
        return 0


def first_failures(scores: dict) -> str:
    """One line per unfinished exercise: the first failing test's first message line."""
    lines = []
    for test in scores["tests"]:
        name = f"{test['topic']}.{test['exercise']}"
        if not test["passed"] and not any(line.startswith(f"  {name}:") for line in lines):
            message = (
                " ".join(line.strip() for line in test["message"].splitlines()[:3]) or "failed"
            )
            lines.append(f"  {name}: {message}")
    if not lines:
        return "\nEvery graded test passed."
    return (
        "\nTo do (the first failing test of each exercise):\n"
        + "\n".join(lines)
        + "\n\nThe full message, with expected vs. received and a hint:\n"
        "  .venv/bin/pytest tests/test_<topic>.py -k <exercise>"
    )


if __name__ == "__main__":
    sys.exit(main())
