"""Scores from test outcomes: per exercise, per chapter, in total; as a table and as JSON.

An exercise's score is its points times the fraction of its tests that passed, among the tests
that ran: a test that never ran (``-x`` stopped the run first) is not counted as failed, and an
exercise none of whose tests ran is left out of the totals.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import groupby

from course.topics import TOPICS


@dataclass
class TestOutcome:
    """The result of one graded test."""

    nodeid: str
    topic: str
    exercise: str
    passed: bool = False  # True only once the test body ran and passed
    failed: bool = False  # True once any phase failed or was skipped
    message: str = ""
    duration_s: float = 0.0
    ran: bool = True  # False for a collected test that never ran (``-x`` stopped the run first)
    not_implemented: bool = False  # it failed because the function still raises NotImplementedError


@dataclass
class ExerciseScore:
    """The tests and points of one exercise."""

    topic: str
    exercise: str
    max_points: float
    tests: list[TestOutcome] = field(default_factory=list)

    @property
    def ran(self) -> list[TestOutcome]:
        """The tests that ran (all of them, unless ``-x`` stopped the run)."""
        return [t for t in self.tests if t.ran]

    @property
    def passed(self) -> int:
        return sum(t.passed for t in self.tests)

    @property
    def points(self) -> float:
        ran = len(self.ran)
        return self.max_points * self.passed / ran if ran else 0.0

    @property
    def counted_max(self) -> float:
        """The points at stake in this run: the exercise's points if any of its tests ran."""
        return self.max_points if self.ran else 0.0


def score(outcomes: list[TestOutcome], points: dict[str, dict[str, float]]) -> list[ExerciseScore]:
    """Group outcomes by exercise, ordered by chapter and then as the POINTS tables list them.

    Args:
        outcomes: one entry per graded test that ran.
        points: topic → exercise → points, from the test files' ``POINTS``.
    """
    scores: dict[tuple[str, str], ExerciseScore] = {}
    for outcome in outcomes:
        key = (outcome.topic, outcome.exercise)
        if key not in scores:
            scores[key] = ExerciseScore(outcome.topic, outcome.exercise, points[key[0]][key[1]])
        scores[key].tests.append(outcome)

    def order(key: tuple[str, str]) -> tuple[int, int]:
        topic, exercise = key
        chapter = TOPICS[topic].chapter if topic in TOPICS else 99
        return chapter, list(points[topic]).index(exercise)

    return [scores[key] for key in sorted(scores, key=order)]


def fmt_points(x: float) -> str:
    """Points as a plain number with at most two decimals: ``2``, ``1.5``, ``0.67``."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_table(scores: list[ExerciseScore], impl: str) -> str:
    """A plain-text score table: one row per exercise, a subtotal per chapter, a total."""
    width = max([len(s.exercise) for s in scores] + [24])
    rule = "-" * (width + 30)
    lines = [
        f"Score of {impl}",
        rule,
        f"  {'exercise':<{width}}  {'tests':>7}  {'points':>12}",
        rule,
    ]
    total = maximum = 0.0
    for topic, group in groupby(scores, key=lambda s: s.topic):
        group = list(group)
        info = TOPICS.get(topic)
        heading = f"Chapter {info.chapter}: {info.title}" if info else topic
        lines.append(f"{heading}  [{topic}]")
        for s in group:
            tests = f"{s.passed}/{len(s.ran)}" if s.ran else "-"
            pts = f"{fmt_points(s.points)} / {fmt_points(s.max_points)}" if s.ran else "not run"
            lines.append(f"  {s.exercise:<{width}}  {tests:>7}  {pts:>12}")
        got, out_of = sum(s.points for s in group), sum(s.counted_max for s in group)
        chapter = f"{fmt_points(got)} / {fmt_points(out_of)}"
        lines.append(f"  {'chapter total':<{width}}  {'':>7}  {chapter:>12}")
        total, maximum = total + got, maximum + out_of
    lines.append(rule)
    percent = 100 * total / maximum if maximum else 0.0
    overall = f"{fmt_points(total)} / {fmt_points(maximum)}"
    lines.append(f"  {'TOTAL':<{width}}  {'':>7}  {overall:>12}  ({percent:.0f}%)")
    not_run = sum(not t.ran for s in scores for t in s.tests)
    if not_run:
        lines.append(
            f"  ({not_run} test{'s' if not_run != 1 else ''} did not run because the run stopped "
            "early; they count neither as passed nor as failed)"
        )
    return "\n".join(lines)


def to_dict(scores: list[ExerciseScore], impl: str) -> dict:
    """A JSON-ready summary: the implementation, every test, and per-exercise scores."""
    return {
        "impl": impl,
        "score": sum(s.points for s in scores),
        "max_score": sum(s.counted_max for s in scores),
        "exercises": [
            {
                "topic": s.topic,
                "exercise": s.exercise,
                "score": s.points,
                "max_score": s.max_points,
                "passed": s.passed,
                "tests": len(s.ran),
                "not_run": len(s.tests) - len(s.ran),
            }
            for s in scores
        ],
        "tests": [asdict(t) for s in scores for t in s.tests],
    }
