"""Checks of the built site (``make book`` first): every page built, nothing loaded from another
host, no unrendered markup; then a real browser with the network cut off."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from checks.site import HTML, ROOT, serve, toc_pages

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
SCREENSHOTS = ROOT / "_build" / "screenshots"

pytestmark = pytest.mark.skipif(
    not (HTML / "index.html").exists(), reason="no built site in _build/html: run 'make book' first"
)


def page_html(page: str) -> str:
    return (HTML / f"{page}.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("page", toc_pages())
def test_page_is_built(page):
    assert (HTML / f"{page}.html").is_file(), f"{page}.html is missing from the built site"


@pytest.mark.parametrize("page", toc_pages())
def test_page_loads_nothing_from_other_hosts(page):
    remote = re.findall(
        r'<(?:script|link|img|iframe|source)[^>]+(?:src|href)="(https?://[^"]+)"', page_html(page)
    )
    # <link rel="canonical"> and plain <a> links are fine; resources are not.
    assert not remote, f"{page}.html loads from other hosts: {remote}"


@pytest.mark.parametrize("page", toc_pages())
def test_page_has_no_unrendered_markup(page):
    text = page_html(page)
    leftovers = re.findall(r"\{(?:glue|cite|doc|ref)[:a-z]*\}`[^`]*`", text)
    assert not leftovers, f"{page}.html shows unrendered MyST roles: {leftovers[:5]}"
    assert "Traceback (most recent call last)" not in text, f"{page}.html shows a Python traceback"


def test_mathjax_is_served_locally():
    assert (HTML / "_static" / "mathjax" / "tex-chtml.js").is_file(), (
        "MathJax was not copied into the site"
    )
    assert "_static/mathjax/tex-chtml.js" in page_html("book/news")


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
    """Open ``url`` with every request to another host blocked; returns (page, problems list)."""
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
    page.goto(url, wait_until="networkidle")
    return context, page, problems


@pytest.mark.parametrize("page_name", toc_pages())
def test_page_in_browser(browser, site, page_name):
    context, page, problems = open_offline(
        browser, f"{site}/{page_name}.html", {"width": 1280, "height": 900}
    )
    try:
        if page.locator(".math").count():
            page.wait_for_selector("mjx-container", timeout=15_000)
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_load_state("networkidle")
        broken = page.evaluate(
            "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
        )
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(
            path=str(SCREENSHOTS / f"{page_name.replace('/', '_')}.png"), full_page=True
        )
    finally:
        context.close()
    assert not broken, f"{page_name}: images that did not load: {broken}"
    assert not problems, f"{page_name}: " + "; ".join(problems)


def test_search_finds_a_known_word(browser, site):
    context, page, problems = open_offline(
        browser, f"{site}/search.html?q=ledger", {"width": 1280, "height": 900}
    )
    try:
        page.wait_for_selector("#search-results li", timeout=15_000)
        hits = page.locator("#search-results li a").all_inner_texts()
    finally:
        context.close()
    assert any("news" in hit.lower() for hit in hits), f"search for 'ledger' found {hits}"
    assert not problems, "; ".join(problems)


def test_solution_dropdown_opens(browser, site):
    context, page, problems = open_offline(
        browser, f"{site}/book/news.html", {"width": 1280, "height": 900}
    )
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


def test_mathjax_needs_no_network(browser, site):
    context, page, problems = open_offline(
        browser, f"{site}/book/news.html", {"width": 1280, "height": 900}
    )
    try:
        page.wait_for_selector("mjx-container", timeout=15_000)
        rendered = page.locator("mjx-container").count()
    finally:
        context.close()
    assert rendered > 0 and not problems, "; ".join(problems) or "no typeset math"


def test_shutil_which_chromium_matches():
    # The Debian package puts the browser where the test looks for it.
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    assert Path(found).resolve() == CHROMIUM.resolve() or CHROMIUM.exists()
