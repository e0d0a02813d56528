"""A bold number in a page's prose must be glued from an executed cell, not typed.

Bold draws the eye, so a typed figure there is the one a reader remembers and the one that goes
stale first. The check reads every ``book/*.md`` source (no build needed), skips code cells and
other code blocks, MyST comments and math, and finds each ``**...**`` span. A span fails when a
number is left in it after its roles are removed: ``{glue:text}`name``` and the other glue roles
are the way to put a number in bold; the targets of ``{cite:p}``, ``{doc}``, ``{ref}`` and
``{term}`` and inline code are not numbers either.

A number is a digit that does not follow a letter: "37B", "6 FLOPs" and "1×128" hold numbers,
"FP8", "E4M3" and "H800" are names.

``ALLOWED`` lists the few definitions that may stay typed, and only where a citation follows the
bold span on the same line.

Meant to pass on every page once the chapters' typed bold numbers are glued or cited: a failure
names the page, the line and the bold text. Do not widen ``ALLOWED`` to make a page pass.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"

# Definitions that may be typed in bold, each only when a citation ({cite:...}) follows the span
# on the same line: a quoted rule of thumb, not a derived number.
ALLOWED = (
    "6 FLOPs per parameter per token",
    "6 FLOPs per active parameter per token",
)

ROLE = re.compile(r"\{[a-z]+(?::[a-z]+)*\}`[^`]*`")  # {glue:text}`x:.1f`, {cite:p}`key`, ...
INLINE_CODE = re.compile(r"`[^`]*`")
NUMBER = re.compile(r"(?<![A-Za-z\d])\d")
BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.DOTALL)
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<info>.*)$")
# fenced blocks whose body is prose (directives such as {dropdown}, {admonition}, {note}) are
# scanned; code cells, code blocks, math and raw blocks are not
NOT_PROSE = re.compile(
    r"^(\{(code-cell|code-block|code|math|raw|literalinclude)\}|[A-Za-z0-9_+-]*$)"
)


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) for every line of a MyST page that is prose.

    Drops the front matter, MyST comments (``%``), ``$$`` math blocks, and fenced blocks that
    hold code (``{code-cell}``, plain or language-tagged fences); keeps the bodies of directive
    fences such as ``{dropdown}`` and ``{admonition}``, which are prose.
    """
    lines = text.splitlines()
    out: list[tuple[int, str]] = []
    start = 0
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() == "---":
                start = i + 1
                break
    stack: list[tuple[str, bool]] = []  # (fence, skipping)
    in_math = False
    for number, line in enumerate(lines[start:], start=start + 1):
        stripped = line.strip()
        match = FENCE.match(stripped)
        skipping = any(skip for _, skip in stack)
        if match:
            fence, info = match.group("fence"), match.group("info").strip()
            if (
                stack
                and not info
                and fence.startswith(stack[-1][0][0])
                and len(fence) >= len(stack[-1][0])
            ):
                stack.pop()
                continue
            if not skipping:
                stack.append((fence, bool(NOT_PROSE.match(info))))
                continue
        if skipping:
            continue
        if stripped == "$$" or (stripped.startswith("$$") and not stripped.endswith("$$")):
            in_math = not in_math
            continue
        if in_math or stripped.startswith("%") or stripped.startswith(":"):
            continue
        out.append((number, line))
    return out


def bold_number_violations(text: str) -> list[tuple[int, str]]:
    """(line number, bold text) for every bold span with a typed number in a page's prose."""
    kept = prose_lines(text)
    joined = "\n".join(line for _, line in kept)
    starts, offset = [], 0
    for _, line in kept:
        starts.append(offset)
        offset += len(line) + 1
    found = []
    for match in BOLD.finditer(joined):
        span = match.group(1)
        if "\n\n" in span:  # a bold span does not cross a paragraph
            continue
        bare = INLINE_CODE.sub("", ROLE.sub("", span))
        if not NUMBER.search(bare):
            continue
        after = joined[match.end() : joined.find("\n", match.end())]
        if span.strip(" .:") in ALLOWED and "{cite" in after:
            continue
        index = max(i for i, s in enumerate(starts) if s <= match.start())
        found.append((kept[index][0], span.replace("\n", " ")))
    return found


PAGES = sorted(BOOK.glob("*.md"))


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_no_typed_number_in_bold(page):
    violations = bold_number_violations(page.read_text(encoding="utf-8"))
    assert not violations, (
        f"{page.name}: bold numbers typed by hand (glue them from a cell with "
        "{glue:text}`name`, or move a sourced definition to ALLOWED with a citation after it): "
        + "; ".join(f"line {n}: **{text}**" for n, text in violations)
    )


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("A **37B** model.", True),
        ("A **{glue:text}`active_B:.0f`B** model.", False),
        ("**E4M3 for every tensor**, gradients included.", False),
        ("- **6 FLOPs per parameter per token** {cite:p}`kaplan2020scaling`: a rule.", False),
        ("- **6 FLOPs per parameter per token**: a rule with no source.", True),
        ("**2 FLOPs per used weight**, plus attention.", True),
        ("```{code-cell} ipython3\nx = f'**{a:,}**'  # 2\n```\n", False),
        ("````{dropdown} Answer\nIt is **3.7 days**.\n````\n", True),
        ("% a comment with **12 bytes**\n", False),
        ("**Verdict** costs {cite:p}`aiindex2024`.", False),
    ],
)
def test_the_scanner_itself(source, bad):
    assert bool(bold_number_violations(source)) is bad, source


# One way of writing numbers: course.style.fmt for values glued as text, course.style.
# prose_number for what a glue role's format spec gives (applied by the build to every glued
# number, with the "$" before it and the unit after it moved inside; course/sphinx_ext.py).

MINUS = "\u2212"


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((-16.96816715748142, "%"), {}, f"{MINUS}17.0%"),
        ((1.2e-7,), {"digits": 2}, "1.2 × 10⁻⁷"),
        ((4.43e9,), {}, "4.43 × 10⁹"),
        ((3.3e12,), {"words": True, "digits": 2}, "3.3 trillion"),
        ((5.576e6,), {"currency": "$", "words": True, "digits": 4}, "$5.576 million"),
        ((-2.5e6,), {"currency": "$", "words": True, "digits": 2}, f"{MINUS}$2.5 million"),
        ((37e9, "parameters"), {"words": True, "digits": 2}, "37 billion parameters"),
        ((2048,), {}, "2,048"),
        ((9.9951,), {}, "10.0"),
        ((0.0012,), {"digits": 2}, "0.0012"),
        ((17.0, "%"), {"sign": True}, "+17.0%"),
        ((3.42, "×"), {"digits": 2}, "3.4×"),
        ((0.0,), {}, "0.00"),
    ],
)
def test_fmt(args, kwargs, expected):
    from course.style import fmt

    assert fmt(*args, **kwargs) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2e-07", "1.2 × 10⁻⁷"),
        ("1e-15", "10⁻¹⁵"),
        ("4.43e+09", "4.43 × 10⁹"),
        ("-1.5e-08", f"{MINUS}1.5 × 10⁻⁸"),
        ("-20.4", f"{MINUS}20.4"),
        ("-0.170", f"{MINUS}0.170"),
        ("17.0", "17.0"),
        ("0.10000000149011612", "0.10000000149011612"),
        ("E4M3", "E4M3"),
        ("-", "-"),
    ],
)
def test_prose_number(text, expected):
    from course.style import prose_number

    assert prose_number(text) == expected


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("about $", "5.576", " million, or"), ("about ", "$5.576 million", ", or")),
        (("a ", "-20.4", "% fall"), ("a ", f"{MINUS}20.4%", " fall")),
        (("", "37", "B of them"), ("", "37B", " of them")),
        (("", "3.4", "× cheaper"), ("", "3.4×", " cheaper")),
        (("", "3", "-bit"), ("", "3", "-bit")),
        (("", "2", " Bytes"), ("", "2", " Bytes")),
        (("", "8", "Byte"), ("", "8", "Byte")),
        (("", "1.2e-07", " s"), ("", "1.2 × 10⁻⁷", " s")),
    ],
)
def test_glued_numbers_take_their_currency_and_unit(parts, expected):
    from course.sphinx_ext import tidy_glued_number

    assert tidy_glued_number(*parts) == expected


SITE = BOOK.parent / "_build" / "html" / "book"
PASTED = re.compile(r'<span class="pasted-text">(.*?)</span>', re.DOTALL)
RAW_NUMBER = re.compile(r"\d[eE][-+]?\d|^-\d")


@pytest.mark.skipif(not SITE.exists(), reason="no built site: build the book first")
def test_built_pages_show_glued_numbers_one_way():
    """No glued number on the built site reads "1.2e-07" or starts with an ASCII hyphen."""
    bad = [
        f"{page.name}: {text}"
        for page in sorted(SITE.glob("*.html"))
        for text in PASTED.findall(page.read_text(encoding="utf-8"))
        if RAW_NUMBER.search(text.strip())
    ]
    assert not bad, "glued numbers not written for the prose: " + "; ".join(bad)
