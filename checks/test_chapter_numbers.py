"""Chapter numbers typed in the course's text agree with ``course/topics.py``.

Chapters are reordered by editing ``course/topics.py`` and ``_toc.yml``; a number typed in a
module docstring or an exercise label would then go stale. These checks find the places where a
number is typed next to the topic it belongs to.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from course.topics import TOPICS

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted((ROOT / "exercises").glob("*.py")) + sorted((ROOT / "solutions").glob("*.py"))
TESTS = sorted((ROOT / "tests").glob("test_*.py"))
PAGES = [ROOT / "book" / f"{name}.md" for name in TOPICS if (ROOT / "book" / f"{name}.md").exists()]


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_topic_module_docstrings_name_their_chapter(path):
    for topic, chapter in re.findall(r"Topic module ``(\w+)`` \(chapter (\d+)", path.read_text()):
        assert int(chapter) == TOPICS[topic].chapter, (
            f"{_rel(path)} says {topic} is chapter {chapter}; "
            f"course/topics.py says {TOPICS[topic].chapter}"
        )


@pytest.mark.parametrize("path", TESTS, ids=_rel)
def test_graded_test_docstrings_name_their_chapter(path):
    head = path.read_text()[:400]
    found = re.findall(r'chapter (\d+), "([^"]+)" \(topic ``(\w+)``\)', head)
    assert found, f"{_rel(path)}: its docstring should start 'Graded tests for chapter N, ...'"
    for chapter, title, topic in found:
        assert int(chapter) == TOPICS[topic].chapter, f"{_rel(path)}: chapter {chapter}"
        assert TOPICS[topic].title.startswith(title), f"{_rel(path)}: title {title!r}"


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_exercise_and_solution_labels_carry_the_chapter_number(page):
    chapter = TOPICS[page.stem].chapter
    labels = re.findall(r"(?:Exercise|Solution|exercise) (\d+)\.\d+", page.read_text())
    wrong = sorted({n for n in labels if int(n) != chapter})
    assert not wrong, f"{_rel(page)} is chapter {chapter} but numbers exercises {wrong}"
