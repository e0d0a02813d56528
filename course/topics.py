"""The chapters of the course and the topic module each one teaches.

Topic names, not chapter numbers, name modules, tests and pages, so chapters can be reordered
by editing this table (and ``_toc.yml``) alone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """A chapter: its number, title and topic module (also the page name under ``book/``)."""

    name: str
    chapter: int
    title: str


TOPICS: dict[str, Topic] = {
    t.name: t
    for t in (
        Topic("news", 1, "The news story: the claims ledger"),
        Topic("floats", 2, "Numbers in bits: FP32, FP16, BF16"),
        Topic("fp8", 3, "FP8 and scaling"),
        Topic("precision", 4, "Precision in training"),
        Topic("moe", 5, "Mixture-of-Experts routing"),
        Topic("balance", 6, "Keeping experts busy"),
        Topic("params", 7, "Counting parameters and FLOPs"),
        Topic("parallel", 8, "Moving tokens: parallelism and the H800's links"),
        Topic("cost", 9, "Training-cost arithmetic"),
        Topic("inference", 10, "Serving cost and prices"),
        Topic("rl", 11, "R1: reasoning from reinforcement learning, and its bill"),
        Topic("verdicts", 12, "Back to the news: verdicts"),
    )
}


def topic(name: str) -> Topic:
    """The topic called ``name``; a KeyError lists the known ones."""
    if name not in TOPICS:
        raise KeyError(f"no topic {name!r}; known topics: {', '.join(TOPICS)}")
    return TOPICS[name]
