"""The graded tests reject plausible wrong answers, not only crashes (see checks/mutants/).

Every mutant is graded the way instructors grade submissions (``grading.isolation``): one
batch, one fork server, a trusted forked process per mutant running the mutated exercise's
tests, the mutated code in a sandboxed worker; one mutant per core at a time.
"""

from __future__ import annotations

import os

import pytest

from checks.mutants import Mutant, all_mutants
from checks.runner import ROOT, graded_topics
from grading.isolation import BatchGrader, Grade, Job, Limits

MUTANTS = all_mutants()
pytestmark = pytest.mark.timeout(1800)


def test_every_graded_topic_has_mutants():
    covered = {m.topic for m in MUTANTS}
    assert set(graded_topics()) <= covered, (
        f"topics without mutants: {set(graded_topics()) - covered}"
    )


def job(number: int, mutant: Mutant) -> Job:
    """The tests of the mutated exercise against the solution with the mistake appended."""
    source = (ROOT / "solutions" / f"{mutant.topic}.py").read_text(encoding="utf-8")
    return Job(
        f"{number:03d}",
        {mutant.topic: f"{source}\n\n# mutant\n{mutant.source}"},
        targets=(f"tests/test_{mutant.topic}.py",),
        select=("-k", mutant.exercise),
    )


def control(topic: str) -> Job:
    """The unmutated solution of ``topic``, graded the same way: every test must pass."""
    source = (ROOT / "solutions" / f"{topic}.py").read_text(encoding="utf-8")
    return Job(f"solution-{topic}", {topic: source}, targets=(f"tests/test_{topic}.py",))


@pytest.fixture(scope="module")
def grades() -> dict[str, Grade]:
    jobs = [control(t) for t in graded_topics()] + [job(i, m) for i, m in enumerate(MUTANTS)]
    with BatchGrader(ROOT, limits=Limits(test_timeout_s=60), unsafe=True) as grader:
        return {g.name: g for g in grader.grade(jobs, workers=os.cpu_count() or 2)}


@pytest.fixture(scope="module")
def mutant_grades(grades) -> dict[Mutant, Grade]:
    return {m: grades[f"{i:03d}"] for i, m in enumerate(MUTANTS)}


@pytest.mark.parametrize("topic", graded_topics())
def test_the_solution_passes_on_the_same_path(grades, topic):
    grade = grades[f"solution-{topic}"]
    assert grade.tests and not grade.problems, grade.problems
    assert all(t.passed for t in grade.tests), [
        (t.nodeid, t.message) for t in grade.tests if not t.passed
    ]


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: f"{m.topic}.{m.exercise}: {m.mistake}")
def test_mutant_is_rejected(mutant_grades, mutant):
    grade = mutant_grades[mutant]
    tests = [t for t in grade.tests if t.exercise == mutant.exercise]
    assert tests, f"no tests ran for {mutant.exercise}: {grade.problems}"
    assert not all(t.passed for t in tests), (
        f"{mutant.topic}.{mutant.exercise} with the mistake '{mutant.mistake}' passes every test"
    )
