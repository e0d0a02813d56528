"""The sourced figures of the course, read from ``course/data/facts.yaml``.

Every quoted number in the book comes from here together with its citation key, so a figure
is typed once and cited the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from course.yaml_loader import load


@dataclass(frozen=True)
class Fact:
    """One quoted figure.

    Attributes:
        key: the identifier used in code and in the book.
        value: the figure itself (a number, or a date string).
        unit: what the number counts, in words.
        source: the bibliography key of the source (``book/references.bib``).
        where: where in the source the figure appears.
        secondary: True when the source reports someone else's figure.
    """

    key: str
    value: float | int | str
    unit: str
    source: str
    where: str
    secondary: bool = False


@cache
def all_facts() -> dict[str, Fact]:
    """Every fact, keyed by identifier."""
    text = resources.files("course").joinpath("data/facts.yaml").read_text(encoding="utf-8")
    return {key: Fact(key=key, **fields) for key, fields in load(text).items()}


def fact(key: str) -> Fact:
    """The fact called ``key``; a KeyError names the known keys if there is none."""
    facts = all_facts()
    if key not in facts:
        raise KeyError(f"no fact {key!r}; known facts: {', '.join(sorted(facts))}")
    return facts[key]


def value(key: str) -> float:
    """The numeric value of the fact called ``key`` (as a float)."""
    return float(fact(key).value)
