"""Reports of an isolated grade: Gradescope ``results.json``, a CSV gradebook, screen text.

``results.json`` has one entry in ``tests`` per exercise (its points, as in the score table),
whose ``output`` lists every test of the exercise and the reason each failed one lost points.
"""

from __future__ import annotations

import csv
import io

from grading.isolation import Grade
from grading.report import ExerciseScore, TestOutcome, score

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
MAX_MESSAGE_CHARS = 2000


def exercise_scores(grade: Grade) -> list[ExerciseScore]:
    """The grade's tests grouped into exercises, in chapter and ``POINTS`` order."""
    points: dict[str, dict[str, float]] = {}
    for test in grade.tests:
        points.setdefault(test.topic, {})[test.exercise] = test.points
    outcomes = [
        TestOutcome(
            t.nodeid, t.topic, t.exercise, passed=t.passed, failed=not t.passed, message=t.message
        )
        for t in grade.tests
    ]
    return score(outcomes, points)


def column(exercise: ExerciseScore) -> str:
    """An exercise's name in reports: ``topic.exercise``."""
    return f"{exercise.topic}.{exercise.exercise}"


def short(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``message`` cut to ``limit`` characters."""
    return message if len(message) <= limit else message[: limit - 15] + " ... (cut)"


def short_test_name(nodeid: str) -> str:
    """``test_x`` from ``tests/test_topic.py::test_x``."""
    return nodeid.split("::", 1)[-1]


def exercise_output(exercise: ExerciseScore) -> str:
    """Each test of the exercise: passed, or failed with its reason."""
    lines = []
    for test in exercise.tests:
        if test.passed:
            lines.append(f"passed: {short_test_name(test.nodeid)}")
        else:
            reason = short(test.message.strip() or "failed")
            lines.append(
                f"FAILED: {short_test_name(test.nodeid)}\n  " + reason.replace("\n", "\n  ")
            )
    return "\n".join(lines)


def results_json(grade: Grade, extra_visibility: str = "after_due_date") -> dict:
    """The Gradescope autograder results of one submission."""
    extra = {(t.topic, t.exercise) for t in grade.tests if t.extra}
    exercises = exercise_scores(grade)
    total = sum(e.points for e in exercises)
    maximum = sum(e.max_points for e in exercises)
    summary = [f"{grade.name}: {total:.4g} / {maximum:.4g} points", *grade.problems]
    return {
        "score": round(total, 6),
        "execution_time": round(grade.seconds, 3),
        "output": "\n".join(summary),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": f"{column(e)} ({e.passed}/{len(e.tests)} tests)",
                "score": round(e.points, 6),
                "max_score": e.max_points,
                "status": "passed" if e.passed == len(e.tests) else "failed",
                "output": exercise_output(e),
                "visibility": extra_visibility if (e.topic, e.exercise) in extra else "visible",
            }
            for e in exercises
        ],
    }


def gradebook_csv(grades: list[Grade]) -> str:
    """One row per submission, one column per exercise, the total, the maximum and any notes."""
    scored = [(g, {column(e): e for e in exercise_scores(g)}) for g in grades]
    columns: list[str] = []
    for _, exercises in scored:
        columns += [c for c in exercises if c not in columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["submission", *columns, "total", "max_score", "notes"])
    for grade, exercises in sorted(scored, key=lambda pair: pair[0].name):
        cells = [f"{exercises[c].points:.4g}" if c in exercises else "" for c in columns]
        total = sum(e.points for e in exercises.values())
        maximum = sum(e.max_points for e in exercises.values())
        notes = "; ".join(grade.problems)
        writer.writerow([grade.name, *cells, f"{total:.4g}", f"{maximum:.4g}", notes])
    return out.getvalue()


def lost_points(grade: Grade) -> str:
    """One line per failed test: where the points went."""
    lines = [
        f"  {t.topic}.{t.exercise} {short_test_name(t.nodeid)}: "
        + " ".join(line.strip() for line in t.message.splitlines()[:2])
        for t in grade.tests
        if not t.passed
    ]
    return "\n".join(lines)
