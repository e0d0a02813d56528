"""The book's citation style: author–year in the text and in the bibliography, told apart.

Two sources by the same author in the same year get letters, in the bibliography's order:
"DeepSeek-AI, 2024a", "DeepSeek-AI, 2024b". The bibliography lists every source under that same
label, and keeps the capitalization of titles as the ``.bib`` file writes them ("27 January 2025",
"Article A"), where pybtex's ``plain`` style would lower-case them.

``register()`` makes three plugins known (``course/sphinx_ext.py`` calls it; ``_config.yml``
names them):

- ``course`` (``bibtex_default_style``): pybtex's ``plain`` entry format, sorted by author, year
  and title, with the labels below and titles left as written;
- ``course_author_year`` (pybtex label and sorting styles): "Author, Year" plus a letter where
  needed, and the entries in that order;
- ``course_author_year`` (``bibtex_reference_style``): ``{cite:p}`` shows the label in brackets,
  ``{cite:t}`` shows "Author [Year]" with the year as the label has it.
"""

from __future__ import annotations

import dataclasses
import string
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pybtex.plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle
from pybtex.style.template import field, node, sentence
from sphinxcontrib.bibtex.style.referencing import GroupReferenceStyle, PersonStyle
from sphinxcontrib.bibtex.style.referencing.basic_label import (
    BasicLabelParentheticalReferenceStyle,
    BasicLabelTextualReferenceStyle,
)
from sphinxcontrib.bibtex.style.referencing.extra_author import ExtraAuthorReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_empty import ExtraEmptyReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_label import ExtraLabelReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_year import ExtraYearReferenceStyle
from sphinxcontrib.bibtex.style.template import join, join2, post_text, pre_text, reference

NAME = "course"
LABELS = "course_author_year"


def short_authors(entry) -> str:
    """ "Last", "Last and Other" or "Last et al." from a pybtex entry's authors (or editors)."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    lasts = [" ".join(str(part) for part in person.rich_last_names) for person in persons]
    if not lasts:
        return str(entry.fields.get("title", entry.key))
    if len(lasts) == 1:
        return lasts[0]
    if len(lasts) == 2 and lasts[1] != "others":
        return f"{lasts[0]} and {lasts[1]}"
    return f"{lasts[0]} et al."


def author_year_labels(entries: Iterable) -> list[str]:
    """One "Author, Year" label per entry, in the given order, with a, b, ... on repeats.

    Every entry of a repeated author–year pair gets a letter (in the order given), so that
    "DeepSeek-AI, 2024" never stands for two sources.
    """
    entries = list(entries)
    bare = [f"{short_authors(e)}, {e.fields.get('year', 'n.d.')}" for e in entries]
    counts = Counter(bare)
    seen: Counter[str] = Counter()
    labels = []
    for label in bare:
        if counts[label] > 1:
            letter = string.ascii_lowercase[seen[label]]
            seen[label] += 1
            label += letter
        labels.append(label)
    return labels


def labels_by_key(entries: Iterable) -> dict[str, str]:
    """Each entry's label as the book's bibliography shows it (all sources, in its order)."""
    ordered = sorted(entries, key=sort_key)
    return dict(zip((e.key for e in ordered), author_year_labels(ordered), strict=True))


class AuthorYearLabelStyle(BaseLabelStyle):
    """pybtex label style: "Author, Year", with a letter when two entries would share it."""

    def format_labels(self, sorted_entries: Iterable) -> Iterator[str]:
        yield from author_year_labels(sorted_entries)


def sort_key(entry) -> tuple[str, str, str]:
    """Alphabetical by the label's author, then year, then title (braces ignored)."""
    title = str(entry.fields.get("title", "")).replace("{", "").replace("}", "")
    return short_authors(entry).lower(), str(entry.fields.get("year", "")), title.lower()


class AuthorYearSortingStyle(BaseSortingStyle):
    """pybtex sorting style: by author as the label names them, year, title."""

    def sorting_key(self, entry) -> tuple[str, str, str]:
        return sort_key(entry)


class CourseStyle(PlainStyle):
    """pybtex's ``plain`` format with author–year labels and titles kept as written."""

    default_label_style = LABELS
    default_sorting_style = LABELS

    def format_title(self, e, which_field, as_sentence=True):
        formatted_title = field(which_field)
        return sentence[formatted_title] if as_sentence else formatted_title


@node
def label_year(children, data) -> Text:
    """The year part of a formatted entry's label ("2024a" from "DeepSeek-AI, 2024a")."""
    assert not children
    return Text(data["formatted_entry"].label.rpartition(", ")[2])


@dataclass
class _TextualReferenceStyle(BasicLabelTextualReferenceStyle):
    """``{cite:t}``: "Author [Year]", the year as the label has it."""

    def inner(self, role_name: str):
        return join(sep=self.text_reference_sep)[
            self.person.author_or_editor_or_title(full="s" in role_name),
            join[
                self.bracket.left,
                join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
                    pre_text, reference[label_year], post_text
                ],
                self.bracket.right,
            ],
        ]


@dataclass
class AuthorYearReferenceStyle(GroupReferenceStyle):
    """``{cite:p}`` → "[Author, Year]" (the bibliography's label); ``{cite:t}`` → "Author [Year]"."""

    #: Person style (the templates read it from the group style).
    person: PersonStyle = dataclasses.field(default_factory=PersonStyle)

    def __post_init__(self):
        person = self.person
        self.styles.extend(
            [
                BasicLabelParentheticalReferenceStyle(),
                _TextualReferenceStyle(person=person),
                ExtraAuthorReferenceStyle(person=person),
                ExtraLabelReferenceStyle(),
                ExtraYearReferenceStyle(),
                ExtraEmptyReferenceStyle(),
            ]
        )
        super().__post_init__()


def register() -> None:
    """Make the label, entry and reference styles known to pybtex and sphinxcontrib-bibtex."""
    import sphinxcontrib.bibtex.plugin

    pybtex.plugin.register_plugin("pybtex.style.labels", LABELS, AuthorYearLabelStyle, force=True)
    pybtex.plugin.register_plugin(
        "pybtex.style.sorting", LABELS, AuthorYearSortingStyle, force=True
    )
    pybtex.plugin.register_plugin("pybtex.style.formatting", NAME, CourseStyle, force=True)
    sphinxcontrib.bibtex.plugin.register_plugin(
        "sphinxcontrib.bibtex.style.referencing", LABELS, AuthorYearReferenceStyle, force=True
    )
