"""The graded tests reject plausible wrong answers, not only crashes (see checks/mutants/)."""

from __future__ import annotations

import shutil

import pytest

from checks.mutants import all_mutants
from checks.runner import ROOT, graded_topics, run_graded

MUTANTS = all_mutants()


def test_every_graded_topic_has_mutants():
    covered = {m.topic for m in MUTANTS}
    assert set(graded_topics()) <= covered, (
        f"topics without mutants: {set(graded_topics()) - covered}"
    )


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: f"{m.topic}.{m.exercise}: {m.mistake}")
def test_mutant_is_rejected(tmp_path, mutant):
    folder = tmp_path / "mutant"
    folder.mkdir()
    source = (ROOT / "solutions" / f"{mutant.topic}.py").read_text(encoding="utf-8")
    (folder / f"{mutant.topic}.py").write_text(
        f"{source}\n\n# mutant\n{mutant.source}", encoding="utf-8"
    )
    shutil.copy(ROOT / "solutions" / "__init__.py", folder / "__init__.py")
    run = run_graded(folder, f"tests/test_{mutant.topic}.py", extra=("-k", mutant.exercise))
    assert run.scores, run.output[-2000:]
    tests = [t for t in run.scores["tests"] if t["exercise"] == mutant.exercise]
    assert tests, f"no tests ran for {mutant.exercise}"
    assert not all(t["passed"] for t in tests), (
        f"{mutant.topic}.{mutant.exercise} with the mistake '{mutant.mistake}' passes every test"
    )
