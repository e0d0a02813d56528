"""The graded tests reject plausible wrong answers, not only crashes (see checks/mutants/).

Every mutant is graded in its own pytest process; the processes run in parallel, one per core.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from checks.mutants import Mutant, all_mutants
from checks.runner import ROOT, Run, graded_topics, run_graded

MUTANTS = all_mutants()
pytestmark = pytest.mark.timeout(1800)


def test_every_graded_topic_has_mutants():
    covered = {m.topic for m in MUTANTS}
    assert set(graded_topics()) <= covered, (
        f"topics without mutants: {set(graded_topics()) - covered}"
    )


def grade_mutant(mutant: Mutant, scratch: Path) -> Run:
    """Grade the tests of the mutated exercise against a copy of the solution with the mistake."""
    folder = Path(tempfile.mkdtemp(dir=scratch))
    source = (ROOT / "solutions" / f"{mutant.topic}.py").read_text(encoding="utf-8")
    (folder / f"{mutant.topic}.py").write_text(
        f"{source}\n\n# mutant\n{mutant.source}", encoding="utf-8"
    )
    shutil.copy(ROOT / "solutions" / "__init__.py", folder / "__init__.py")
    return run_graded(folder, f"tests/test_{mutant.topic}.py", extra=("-k", mutant.exercise))


@pytest.fixture(scope="module")
def mutant_runs(tmp_path_factory) -> dict[Mutant, Run]:
    scratch = tmp_path_factory.mktemp("mutants")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        runs = pool.map(lambda m: grade_mutant(m, scratch), MUTANTS)
        return dict(zip(MUTANTS, runs, strict=True))


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: f"{m.topic}.{m.exercise}: {m.mistake}")
def test_mutant_is_rejected(mutant_runs, mutant):
    run = mutant_runs[mutant]
    assert run.scores, run.output[-2000:]
    tests = [t for t in run.scores["tests"] if t["exercise"] == mutant.exercise]
    assert tests, f"no tests ran for {mutant.exercise}"
    assert not all(t["passed"] for t in tests), (
        f"{mutant.topic}.{mutant.exercise} with the mistake '{mutant.mistake}' passes every test"
    )
