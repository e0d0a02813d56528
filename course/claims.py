"""The claims ledger: the news articles' claims, kept as data in ``course/data/claims.yaml``.

The first chapter renders the ledger. Each claim's verdict is computed by the rules of
``course.verdict_rules``; ``status`` in the data records it, and the build and the self-checks
fail when the record and the computation differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from course.yaml_loader import load

VERDICTS = ("pending", "accurate", "simplified", "misleading", "wrong", "unverifiable")


@dataclass(frozen=True)
class Article:
    """A news article the course starts from: its bibliography key and a short label."""

    key: str
    bibkey: str
    label: str


@dataclass(frozen=True)
class Claim:
    """One claim of the ledger.

    Attributes:
        id: a short identifier, also the anchor of its verdict in the closing chapter.
        claim: the claim, paraphrased.
        phrase: a short quotation from the article.
        articles: keys of the articles that make the claim ("A", "B").
        quantity: what is claimed, as numbers with a unit.
        topic: the topic module whose chapter tests the claim.
        status: one of ``VERDICTS``: the verdict recorded in the data, which must equal the
            one ``course.verdict_rules`` computes (``pending`` before the closing chapter exists).
    """

    id: str
    claim: str
    phrase: str
    articles: tuple[str, ...]
    quantity: dict[str, Any] = field(default_factory=dict)
    topic: str = "news"
    status: str = "pending"


def _load() -> dict[str, Any]:
    text = resources.files("course").joinpath("data/claims.yaml").read_text(encoding="utf-8")
    return load(text)


@cache
def articles() -> dict[str, Article]:
    """The source articles, keyed "A", "B"."""
    return {key: Article(key=key, **fields) for key, fields in _load()["articles"].items()}


@cache
def claims() -> tuple[Claim, ...]:
    """Every claim of the ledger, in the order of the file; checks articles, topics and statuses."""
    known_articles = articles()
    out = []
    for fields in _load()["claims"]:
        item = Claim(**{**fields, "articles": tuple(fields["articles"])})
        unknown = [a for a in item.articles if a not in known_articles]
        if unknown:
            raise ValueError(f"claim {item.id!r} names unknown articles {unknown}")
        if item.status not in VERDICTS:
            raise ValueError(f"claim {item.id!r} has status {item.status!r}, not one of {VERDICTS}")
        out.append(item)
    return tuple(out)


def claim(claim_id: str) -> Claim:
    """The claim called ``claim_id``."""
    for item in claims():
        if item.id == claim_id:
            return item
    raise KeyError(f"no claim {claim_id!r}; known: {', '.join(c.id for c in claims())}")


def ledger_markdown(book_dir: str = ".") -> str:
    """The ledger as a MyST Markdown table, for a chapter page to display.

    Args:
        book_dir: the folder of the page that displays the table (chapter pages are in
            ``book/``); a claim's chapter is linked only once its page exists there, and its
            verdict links to the verdict's anchor (``verdict-<claim id>``) once the closing
            chapter's page (``verdicts.md``) exists there.

    The verdict column shows the verdict that the rules of ``course.verdict_rules`` compute
    once the closing chapter exists (``pending`` before); a recorded ``status`` that differs
    from the computed verdict is an error.
    """
    from pathlib import Path

    from course.topics import topic

    verdicts_page = (Path(book_dir) / "verdicts.md").exists()
    computed: dict[str, str] = {}
    if verdicts_page:
        from course.verdict_rules import verdicts

        computed = verdicts()
        stale = {c.id: (c.status, computed[c.id]) for c in claims() if c.status != computed[c.id]}
        if stale:
            raise ValueError(
                f"recorded status differs from the computed verdict (recorded, computed): {stale}"
            )
    rows = [
        "| # | claim, paraphrased | in the article's words | article | tested in | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for number, item in enumerate(claims(), start=1):
        info = topic(item.topic)
        chapter = f"{info.chapter}. {info.title}"
        if (Path(book_dir) / f"{item.topic}.md").exists():
            chapter = f"{{doc}}`{chapter} <{item.topic}>`"
        sources = ", ".join(item.articles)  # the page cites each article where it introduces it
        claim, phrase = (text.replace("$", r"\$") for text in (item.claim, item.phrase))
        verdict = computed.get(item.id, "pending")
        if verdicts_page:
            verdict = f"{{ref}}`{verdict} <verdict-{item.id}>`"
        rows.append(f"| {number} | {claim} | “{phrase}” | {sources} | {chapter} | {verdict} |")
    return "\n".join(rows)
