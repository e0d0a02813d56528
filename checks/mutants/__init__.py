"""Plausible wrong answers that the graded tests must reject.

One module per topic (``checks/mutants/<topic>.py``) defines ``MUTANTS``: a list of ``Mutant``,
each replacing one function of the solution module with a mistake a learner could make.
``checks/test_mutants.py`` grades every mutant and requires that at least one test of that
exercise fails. Add mutants when you add an exercise.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    """A wrong version of one exercise: ``source`` redefines the function ``exercise``.

    ``source`` is appended to a copy of the solution module, so it may also import or define
    helpers; the last definition of ``exercise`` wins.
    """

    topic: str
    exercise: str
    mistake: str
    source: str


def all_mutants() -> list[Mutant]:
    """Every mutant of every topic module in this package."""
    found: list[Mutant] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.extend(module.MUTANTS)
    return found
