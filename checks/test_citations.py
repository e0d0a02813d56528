"""Citations a reader can tell apart: author–year labels, with letters where one author has two
sources in a year, the same in the text and in the bibliography; titles as the ``.bib`` writes
them. The styles are ``course/bibstyle.py``; the last test reads the built site when there is one.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from pathlib import Path

import pybtex.plugin
import pytest
from pybtex.database import parse_file

from course import bibstyle

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "book" / "references.bib"
SITE = ROOT / "_build" / "html" / "book"
LABEL = r'class="label"><span class="fn-bracket">\[</span>(.*?)<span'
LINK = r'href="bibliography\.html#[^"]+"[^>]*>([^<]*)</a>'


@pytest.fixture(scope="module")
def formatted():
    bibstyle.register()
    style = pybtex.plugin.find_plugin("pybtex.style.formatting", bibstyle.NAME)()
    entries = parse_file(str(BIB)).entries
    return {entry.key: entry for entry in style.format_entries(entries.values())}


def test_every_label_is_unique_and_author_year(formatted):
    labels = Counter(entry.label for entry in formatted.values())
    assert not [label for label, n in labels.items() if n > 1]
    assert all(re.fullmatch(r".+, (\d{4}[a-z]?|n\.d\.)", label) for label in labels), labels


def test_v3_report_and_repository_differ(formatted):
    report, repo = formatted["deepseekv3"].label, formatted["deepseekv3repo"].label
    assert report != repo
    assert report.startswith("DeepSeek-AI, 2024") and repo.startswith("DeepSeek-AI, 2024")


def test_letters_only_where_needed(formatted):
    assert formatted["fedus2021switch"].label == "Fedus et al., 2021"
    assert formatted["ocpfp8"].label == "Open Compute Project, 2023"


def test_titles_keep_their_capitals(formatted):
    text = formatted["marketdata2025"].text.render_as("text")
    assert "27 January 2025" in text, text
    assert "Article A" in formatted["newsarticleA"].text.render_as("text")


def test_bibliography_is_alphabetical(formatted):
    keys = [bibstyle.sort_key(e) for e in parse_file(str(BIB)).entries.values()]
    order = [
        bibstyle.short_authors(e).lower()
        for e in bibstyle.AuthorYearSortingStyle().sort(parse_file(str(BIB)).entries.values())
    ]
    assert order == sorted(order) and len(keys) == len(order)


@pytest.mark.skipif(not (SITE / "bibliography.html").exists(), reason="no built site")
def test_built_site_tells_the_v3_sources_apart(formatted):
    """The bibliography's labels are the author–year labels, and the text cites by them."""
    page = (SITE / "bibliography.html").read_text(encoding="utf-8")
    shown = [html.unescape(label) for label in re.findall(LABEL, page)]
    assert sorted(shown) == sorted(entry.label for entry in formatted.values())
    cited = set()
    for chapter in SITE.glob("*.html"):
        cited.update(html.unescape(text) for text in re.findall(LINK, chapter.read_text()))
    report, repo = formatted["deepseekv3"].label, formatted["deepseekv3repo"].label
    assert report in cited and repo in cited, sorted(cited)
