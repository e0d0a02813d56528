"""Checks of the built site (``make book`` first).

Static: every page of the table of contents is built, loads nothing from another host, shows
no unrendered markup, has no broken internal link or anchor, lists its external links in the
bibliography, and stays under 2 MB. In Chromium, with every request to another host blocked,
at desktop and phone widths: no console errors, math typeset, every image loaded, no
horizontal scrolling on a phone, no serious accessibility violation (axe-core: every page at
desktop width, the site's phone chrome on two pages); the search
page finds a known word; a solution dropdown opens. One screenshot per page and width goes to
``_build/screenshots/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup

from checks.site import HTML, ROOT, serve, toc_pages
from course.topics import TOPICS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "_build" / "screenshots"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
# axe-core runs on every page at desktop width. A page's content is the same at both widths and
# only the site's own chrome changes (the collapsed navigation, the header buttons), so at phone
# width it runs on two pages that carry all of that chrome: the start page and a chapter.
AXE_AT_PHONE = {"book/intro", "book/news"}
PAGE_BUDGET_BYTES = 2_000_000  # one page's HTML and images, without the shared _static/ assets

pytestmark = pytest.mark.skipif(
    not (HTML / "index.html").exists(), reason="no built site in _build/html: run 'make book' first"
)
PAGES = toc_pages()


def page_html(page: str) -> str:
    return (HTML / f"{page}.html").read_text(encoding="utf-8")


def article(page: str) -> BeautifulSoup:
    """The main content of a page (without the theme's header, sidebars and footer)."""
    soup = BeautifulSoup(page_html(page), "html.parser")
    return soup.find("article") or soup


@pytest.mark.parametrize("page", PAGES)
def test_page_is_built(page):
    assert (HTML / f"{page}.html").is_file(), f"{page}.html is missing from the built site"


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_nothing_from_other_hosts(page):
    soup = BeautifulSoup(page_html(page), "html.parser")
    remote = [
        tag.get("src") or tag.get("href")
        for tag in soup.find_all(["script", "link", "img", "iframe", "source", "video", "audio"])
        if re.match(r"(https?:)?//", tag.get("src") or tag.get("href") or "")
        and not (tag.name == "link" and "canonical" in (tag.get("rel") or []))
    ]
    assert not remote, f"{page}.html loads from other hosts: {remote}"


@pytest.mark.parametrize("page", PAGES)
def test_page_has_no_unrendered_markup(page):
    text = page_html(page)
    leftovers = re.findall(r"\{(?:glue|cite|doc|ref|term)[:a-z]*\}`[^`]*`", text)
    assert not leftovers, f"{page}.html shows unrendered MyST roles: {leftovers[:5]}"
    assert "Traceback (most recent call last)" not in text, f"{page}.html shows a Python traceback"


def _ids(path: Path, cache: dict[Path, set[str]]) -> set[str]:
    if path not in cache:
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        cache[path] = {tag["id"] for tag in soup.find_all(id=True)}
    return cache[path]


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_and_anchors_resolve(page):
    source = HTML / f"{page}.html"
    soup = BeautifulSoup(page_html(page), "html.parser")
    cache: dict[Path, set[str]] = {}
    broken = []
    for tag in soup.find_all("a", href=True):
        href = tag["href"]
        parts = urlsplit(href)
        if parts.scheme or href.startswith(("//", "mailto:", "javascript:")):
            continue
        target = (source.parent / unquote(parts.path)).resolve() if parts.path else source
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            broken.append(f"{href} (no file)")
        elif (
            parts.fragment
            and target.suffix == ".html"
            and unquote(parts.fragment) not in _ids(target, cache)
        ):
            broken.append(f"{href} (no anchor)")
    assert not broken, f"{page}.html has broken links: {broken}"


def test_external_links_are_listed_in_the_bibliography():
    listed = {a["href"] for a in article("book/bibliography").find_all("a", href=True)}
    unlisted = {}
    for page in PAGES:
        if page == "book/bibliography":
            continue
        external = {
            a["href"]
            for a in article(page).find_all("a", href=True)
            if a["href"].startswith("http")
        }
        if external - listed:
            unlisted[page] = sorted(external - listed)
    assert not unlisted, f"external links not listed in the bibliography: {unlisted}"


@pytest.mark.parametrize("page", PAGES)
def test_page_weight_is_within_budget(page):
    source = HTML / f"{page}.html"
    soup = BeautifulSoup(page_html(page), "html.parser")
    images = {
        (source.parent / unquote(img["src"])).resolve()
        for img in soup.find_all("img", src=True)
        if not re.match(r"(https?:|data:)", img["src"]) and "_static" not in img["src"]
    }
    total = source.stat().st_size + sum(p.stat().st_size for p in images if p.exists())
    assert total <= PAGE_BUDGET_BYTES, f"{page}: {total / 1e6:.2f} MB of HTML and images"


@pytest.mark.parametrize("page", PAGES)
def test_every_image_has_alt_text(page):
    missing = [
        img.get("src")
        for img in article(page).find_all("img")
        if not (img.get("alt") or "").strip()
    ]
    assert not missing, f"{page}: images without alt text: {missing}"


CHAPTERS = [p for p in PAGES if Path(p).name in TOPICS]


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_has_the_course_structure(page):
    text = article(page).get_text(" ")
    for part in ("In this chapter", "You will learn", "You need", "Takeaways", "Exercises"):
        assert part in text, f"{page}: the chapter has no '{part}'"
    assert article(page).select("details.sd-dropdown"), f"{page}: no collapsed solution"


def test_mathjax_is_served_locally():
    assert (HTML / "_static" / "mathjax" / "tex-chtml.js").is_file(), "MathJax was not copied"
    assert "_static/mathjax/tex-chtml.js" in page_html("book/news")


def test_every_notebook_chapter_offers_an_ipynb_download():
    for page in PAGES:
        source = (ROOT / page).with_suffix(".md").read_text(encoding="utf-8")
        front_matter = source.split("---")[1] if source.startswith("---") else ""
        if "kernelspec:" in front_matter:
            assert (HTML / "_sources" / f"{page}.ipynb").is_file(), f"{page}: no .ipynb download"
            assert f"{Path(page).name}.ipynb" in page_html(page), f"{page}: no download link"


# --- in the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(
            "Chromium is not installed, so the browser test did not run "
            "(install it with: apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site():
    with serve(HTML) as base:
        yield base


def open_offline(browser, url: str, viewport: dict[str, int]):
    """Open ``url`` with every request to another host blocked; returns (context, page, problems)."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    problems: list[str] = []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(("http://127.0.0.1", "data:", "blob:")):
            request_route.continue_()
        else:
            problems.append(f"request to another host: {url}")
            request_route.abort()

    page.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(url, wait_until="load")
    return context, page, problems


def serious_accessibility_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the open page, one line each."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => `${v.id} (${v.impact}, ${v.nodes.length}x): ${v.help}: `
                      + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))"""
    )
    return list(violations)


@pytest.mark.parametrize("width", list(VIEWPORTS))
@pytest.mark.parametrize("page_name", PAGES)
def test_page_in_browser(browser, site, page_name, width):
    context, page, problems = open_offline(browser, f"{site}/{page_name}.html", VIEWPORTS[width])
    try:
        if page.locator(".math").count():
            page.wait_for_selector("mjx-container", timeout=15_000)
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # lazy images load
        page.wait_for_function("Array.from(document.images).every(i => i.complete)")
        broken = page.evaluate(
            "Array.from(document.images)"
            ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
        )
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        audit = AXE.exists() and (width == "desktop" or page_name in AXE_AT_PHONE)
        accessibility = serious_accessibility_violations(page) if audit else []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        name = page_name.replace("/", "_") + ("" if width == "desktop" else f"-{width}")
        page.screenshot(
            path=str(SCREENSHOTS / f"{name}.jpg"), full_page=True, type="jpeg", quality=80
        )
    finally:
        context.close()
    assert not broken, f"{page_name}: images that did not load: {broken}"
    assert not problems, f"{page_name}: " + "; ".join(problems)
    assert overflow <= 1, f"{page_name} scrolls sideways by {overflow}px at {width} width"
    assert not accessibility, f"{page_name}: accessibility: " + "; ".join(accessibility)


def test_accessibility_checker_is_installed():
    assert AXE.exists(), "axe-core is missing from node_modules: run 'make setup' (npm ci)"


def test_search_finds_a_known_word(browser, site):
    url = f"{site}/search.html?q=ledger"
    context, page, problems = open_offline(browser, url, VIEWPORTS["desktop"])
    try:
        page.wait_for_selector("#search-results li", timeout=15_000)
        hits = page.locator("#search-results li a").all_inner_texts()
    finally:
        context.close()
    assert any("news" in hit.lower() for hit in hits), f"search for 'ledger' found {hits}"
    assert not problems, "; ".join(problems)


def test_solution_dropdown_opens(browser, site):
    context, page, problems = open_offline(browser, f"{site}/book/news.html", VIEWPORTS["desktop"])
    try:
        dropdown = page.locator("details.sd-dropdown").first
        assert dropdown.get_attribute("open") is None, "solutions should start collapsed"
        dropdown.locator("summary").click()
        page.wait_for_function("document.querySelector('details.sd-dropdown').open")
        code = dropdown.locator("pre").first
        assert code.is_visible() and "def percent_change" in code.inner_text()
    finally:
        context.close()
    assert not problems, "; ".join(problems)


def test_chapter_one_ledger_shows_the_recorded_verdicts():
    """The ledger on the built page is the ledger in the data (a stale execution cache would not be)."""
    from course.claims import claims

    text = article("book/news").get_text(" ").replace("\u2019", "'")
    for item in claims():
        assert item.claim.split(";")[0][:40] in text, f"claim {item.id} missing from the ledger"
    links = {a["href"].split("#")[-1] for a in article("book/news").find_all("a", href=True)}
    if (ROOT / "book" / "verdicts.md").exists():
        assert {f"verdict-{c.id}" for c in claims()} <= links, (
            "ledger statuses do not link verdicts"
        )
        assert "pending" not in {c.status for c in claims()}
