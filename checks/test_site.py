"""Checks of the built site (``make book`` first).

Static: every page of the table of contents is built, loads nothing from another host, shows
no unrendered markup, has no broken internal link or anchor, lists its external links in the
bibliography, and stays under 2 MB. In Chromium, with every request to another host blocked,
at desktop and phone widths: no console errors, math typeset, every image loaded, no
horizontal scrolling on a phone, no serious accessibility violation (axe-core: every page at
desktop width, the site's phone chrome on two pages); the search
page finds a known word; a solution dropdown opens. One screenshot per page and width goes to
``_build/screenshots/``.

The reading experience, in Chromium: on a phone the visible navigation and contents buttons open
and close their panels, and on a desktop the navigation button collapses the sidebar; tables of
claims and verdicts become cards on a phone and other wide tables scroll sideways; every figure
is stored at 1.5 times its displayed width or more and its smallest text is about 11 px on screen
or more at desktop width; no code or output block of a chapter is wider than its column at
1280 px; headings never get heavier from h2 to h3; every header button shows keyboard focus;
a page has one search control; a chapter prints to PDF without navigation or toggles, with
its solutions open and no code line cut off; and the notebook offered by a chapter's download
menu has its outputs and no MyST syntax that plain Jupyter would show raw.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup
from PIL import Image

from checks.site import HTML, ROOT, serve, toc_pages
from course.style import FIGURE_DPI, SMALLEST_TEXT_KEY
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
SHARPNESS = 1.5  # a figure's PNG has at least this many pixels per displayed CSS pixel
SMALLEST_TEXT_PX = 10.5  # "about 11 px": the smallest figure text on screen at desktop width
PRINTED_CHAPTER = "book/news"
PRINTED_PAGES = (8, 24)  # A4 pages of the printed chapter (14 when written): at least, at most

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


@pytest.mark.parametrize("page", PAGES)
def test_licence_is_stated_once_in_the_footer(page):
    soup = BeautifulSoup(page_html(page), "html.parser")
    footer = " ".join(tag.get_text(" ") for tag in soup.select("footer"))
    assert footer.count("CC BY") == 1, (
        f"{page}: the footer states the licence {footer.count('CC BY')} times"
    )


def test_every_page_has_a_favicon():
    for page in PAGES:
        soup = BeautifulSoup(page_html(page), "html.parser")
        icon = soup.select_one('link[rel~="icon"]')
        assert icon is not None, f"{page}: no favicon"
        assert ((HTML / page).parent / icon["href"]).resolve().is_file(), f"{page}: {icon['href']}"


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
def test_page_in_browser(browser, site, desktop_layout, page_name, width):
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
        if width == "desktop" and page_name in CHAPTERS:  # for the layout tests further down
            desktop_layout.measured[page_name] = layout_of(page)
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


# --- reading experience: navigation, tables, figures, code, print, small things ----------------


def box(locator) -> dict[str, float]:
    """The element's bounding box in CSS pixels of the viewport (zeros when it is not rendered)."""
    return locator.evaluate(
        "e => { const r = e.getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; }"
    )


def in_view(rect: dict[str, float], viewport: dict[str, int]) -> bool:
    """Whether a box is rendered and lies across the viewport's width, its top on screen."""
    return (
        rect["width"] > 0
        and rect["height"] > 0
        and rect["x"] >= -1
        and rect["x"] + rect["width"] <= viewport["width"] + 1
        and 0 <= rect["y"] < viewport["height"]
    )


@pytest.mark.parametrize("side", ["primary", "secondary"])
def test_phone_buttons_open_and_close_the_panels(browser, site, side):
    """At phone width, tapping the visible ☰ (or contents) button shows its panel; a tap beside
    the panel closes it again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    viewport = VIEWPORTS["phone"]
    context = browser.new_context(viewport=viewport, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(f"{site}/book/news.html", wait_until="load")
        button = page.locator(f".bd-header-article .{side}-toggle")
        assert button.is_visible(), f"no visible {side} toggle at phone width"
        panel = page.locator(f"#pst-{side}-sidebar-modal")
        links = panel.locator("a")
        for _ in range(2):  # open and close, twice
            button.tap()
            page.wait_for_function(f"document.querySelector('#pst-{side}-sidebar-modal').open")
            rect = box(panel)
            assert in_view(rect, viewport) and rect["width"] >= 200, f"{side} panel at {rect}"
            assert links.count() and in_view(box(links.first), viewport), f"{side}: no links"
            # a tap on the page beside the panel (the panels sit at the left and right edges)
            beside = rect["x"] + rect["width"] + 20 if rect["x"] < 50 else rect["x"] - 20
            page.touchscreen.tap(beside, viewport["height"] / 2)
            page.wait_for_function(f"!document.querySelector('#pst-{side}-sidebar-modal').open")
            # the dialog may still be painted for the length of its closing transition
            try:
                panel.wait_for(state="hidden", timeout=5000)
            except PlaywrightTimeout:
                pytest.fail(f"{side} panel still shown 5 s after closing")
    finally:
        context.close()


def test_desktop_menu_button_collapses_the_sidebar(browser, site):
    context, page, problems = open_offline(browser, f"{site}/book/news.html", VIEWPORTS["desktop"])
    try:
        sidebar = page.locator("#pst-primary-sidebar")
        button = page.locator(".bd-header-article .primary-toggle")
        assert in_view(box(sidebar), VIEWPORTS["desktop"]), "sidebar not shown at desktop width"
        button.click()
        page.wait_for_function(
            "document.querySelector('#pst-primary-sidebar').getBoundingClientRect().right <= 0"
        )
        button.click()
        page.wait_for_function(
            "document.querySelector('#pst-primary-sidebar').getBoundingClientRect().left >= 0"
        )
    finally:
        context.close()
    assert not problems, "; ".join(problems)


CARD_TABLES = {  # page: a column that must stay on screen at phone width
    "book/news": "verdict",
    "book/verdicts": "verdict",
    "book/intro": "which claims it tests",
}


@pytest.mark.parametrize("page_name", list(CARD_TABLES))
def test_tables_of_claims_are_cards_on_a_phone(browser, site, page_name):
    viewport = VIEWPORTS["phone"]
    context, page, problems = open_offline(browser, f"{site}/{page_name}.html", viewport)
    try:
        column = CARD_TABLES[page_name]
        cells = page.locator(f'table.course-cards td[data-label="{column}" i]')
        assert cells.count() >= 3, f"{page_name}: no card table with a '{column}' column"
        page_width = page.evaluate("document.documentElement.clientWidth")
        cut = []
        for index in range(cells.count()):
            cell = cells.nth(index)
            cell.scroll_into_view_if_needed()
            rect = box(cell)
            if not (
                rect["width"] > 0
                and rect["x"] >= -1
                and rect["x"] + rect["width"] <= page_width + 1
            ):
                cut.append(f"row {index + 1}: {rect}")
    finally:
        context.close()
    assert not cut, f"{page_name}: '{column}' cells off screen: {cut}"
    assert not problems, "; ".join(problems)


def test_a_wide_table_scrolls_sideways_on_a_phone(browser, site):
    """A table wider than a phone scrolls inside its own container; the page does not."""
    viewport = VIEWPORTS["phone"]
    context, page, problems = open_offline(browser, f"{site}/book/instructors.html", viewport)
    try:
        scrolled = page.evaluate(
            """() => {
                const box = Array.from(document.querySelectorAll('.pst-scrollable-table-container'))
                    .find(b => b.scrollWidth > b.clientWidth + 20);
                if (!box) return null;
                box.scrollLeft = 60;
                return box.scrollLeft;
            }"""
        )
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    finally:
        context.close()
    assert scrolled, "no table wider than the phone screen scrolls sideways"
    assert overflow <= 1, f"the page itself scrolls sideways by {overflow}px"
    assert not problems, "; ".join(problems)


LAYOUT_JS = """() => {
    const article = document.querySelector('article');
    const shown = e => e.getClientRects().length > 0;
    const figures = Array.from(
        article.querySelectorAll('.cell_output img, figure img')).filter(shown)
        .map(i => ({src: i.src, natural: i.naturalWidth, shown: i.clientWidth}));
    const wide = Array.from(article.querySelectorAll(
        'pre, .cell_output .output, .cell_output .text_html'))
        .filter(e => shown(e) && e.scrollWidth > e.clientWidth + 1)
        .map(e => `${e.className || e.tagName}: ${e.scrollWidth}px in `
                  + `${e.clientWidth}px: ${e.innerText.split('\\n')[0].slice(0, 60)}`);
    const headings = Array.from(article.querySelectorAll('h2, h3')).map(h => {
        const style = getComputedStyle(h);
        return [h.tagName, parseFloat(style.fontWeight), parseFloat(style.fontSize),
                h.innerText.slice(0, 40)];
    });
    return {figures, wide, headings};
}"""


def layout_of(page) -> dict:
    """On an open chapter: its figures, its code and output blocks wider than their column, and
    its headings' weights and sizes."""
    return page.evaluate(LAYOUT_JS)


@pytest.fixture(scope="module")
def desktop_layout(browser, site):
    """A function of a chapter: ``layout_of`` it at 1280 px. Each chapter is measured once: by
    ``test_page_in_browser`` when it has run (it keeps its measurements in ``.measured``),
    otherwise here."""
    measured: dict[str, dict] = {}

    def measure(page_name: str) -> dict:
        if page_name not in measured:
            context, page, _ = open_offline(
                browser, f"{site}/{page_name}.html", VIEWPORTS["desktop"]
            )
            try:
                page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
                page.wait_for_function("Array.from(document.images).every(i => i.complete)")
                measured[page_name] = layout_of(page)
            finally:
                context.close()
        return measured[page_name]

    measure.measured = measured  # type: ignore[attr-defined]
    return measure


def figure_file(src: str) -> Path:
    return HTML / unquote(urlsplit(src).path).lstrip("/")


@pytest.mark.parametrize("page_name", CHAPTERS)
def test_figures_are_sharp_and_their_text_readable(desktop_layout, page_name):
    """Every figure's PNG has at least 1.5 pixels per displayed pixel, and its smallest text
    (recorded in the PNG by course.style) is about 11 px or more on screen at 1280 px."""
    blurry, small = [], []
    for figure in desktop_layout(page_name)["figures"]:
        name = Path(urlsplit(figure["src"]).path).name
        if figure["natural"] < SHARPNESS * figure["shown"]:
            blurry.append(f"{name}: {figure['natural']}px shown at {figure['shown']}px")
        with Image.open(figure_file(figure["src"])) as image:
            smallest_pt = image.text.get(SMALLEST_TEXT_KEY) if hasattr(image, "text") else None
        if smallest_pt is None:
            continue  # not a course figure (no recorded text size)
        # points -> PNG pixels (2 x FIGURE_DPI per inch) -> CSS pixels on screen
        on_screen = float(smallest_pt) / 72 * 2 * FIGURE_DPI * figure["shown"] / figure["natural"]
        if on_screen < SMALLEST_TEXT_PX:
            small.append(f"{name}: {smallest_pt} pt text shown at {on_screen:.1f}px")
    assert not blurry, f"{page_name}: figures stored below {SHARPNESS}x: {blurry}"
    assert not small, f"{page_name}: figure text under {SMALLEST_TEXT_PX}px on screen: {small}"


@pytest.mark.parametrize("page_name", CHAPTERS)
def test_code_and_output_blocks_fit_the_column(desktop_layout, page_name):
    """At 1280 px no code or output block of a chapter is wider than the text column."""
    wide = desktop_layout(page_name)["wide"]
    assert not wide, f"{page_name}: {len(wide)} code or output blocks overflow: {wide[:5]}"


@pytest.mark.parametrize("page_name", CHAPTERS)
def test_an_h3_is_never_heavier_than_its_h2(desktop_layout, page_name):
    heavier, h2 = [], None
    for tag, weight, size, text in desktop_layout(page_name)["headings"]:
        if tag == "H2":
            h2 = (weight, size)
        elif h2 and (weight > h2[0] or size >= h2[1]):
            heavier.append(f"{text!r} ({weight}, {size}px) under an h2 of {h2}")
    assert not heavier, f"{page_name}: {heavier}"


HEADER_BUTTONS = {
    "sidebar toggle": ".bd-header-article .primary-toggle",
    "launch": ".dropdown-launch-buttons > button",
    "repository": ".dropdown-source-buttons > button",
    "download": ".dropdown-download-buttons > button",
}


def test_header_buttons_show_keyboard_focus(browser, site):
    context, page, problems = open_offline(browser, f"{site}/book/news.html", VIEWPORTS["desktop"])
    missing = []
    try:
        for name, selector in HEADER_BUTTONS.items():
            button = page.locator(selector).first
            assert button.count(), f"no {name} button ({selector})"
            page.keyboard.press("Tab")  # keyboard use, so :focus-visible applies
            button.focus()
            outline = button.evaluate(
                "e => { const s = getComputedStyle(e);"
                " return [s.outlineStyle, parseFloat(s.outlineWidth), e.matches(':focus-visible')]; }"
            )
            if outline[0] == "none" or outline[1] < 2 or not outline[2]:
                missing.append(f"{name}: {outline}")
    finally:
        context.close()
    assert not missing, f"buttons without a visible focus ring: {missing}"
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_one_search_control_per_page(browser, site, width):
    viewport = VIEWPORTS[width]
    context, page, problems = open_offline(browser, f"{site}/book/news.html", viewport)
    try:
        controls = page.evaluate(
            """() => Array.from(document.querySelectorAll(
                    '.search-button__button, form.bd-search input'))
                .filter(e => e.getClientRects().length > 0 && !e.closest('dialog:not([open])'))
                .map(e => e.className)"""
        )
    finally:
        context.close()
    assert len(controls) == 1, f"{width}: {len(controls)} search controls: {controls}"
    assert not problems, "; ".join(problems)


def test_a_chapter_prints_cleanly(browser, site):
    """The printed chapter: no navigation, toggles or "show source" bars; solutions open; no code
    line wider than the paper; a page count in the expected range."""
    a4_text_width = {"width": 680, "height": 960}  # A4 less 15 mm margins, in CSS pixels
    url = f"{site}/{PRINTED_CHAPTER}.html"
    context, page, problems = open_offline(browser, url, a4_text_width)
    try:
        page.emulate_media(media="print")
        page.wait_for_timeout(200)
        state = page.evaluate(
            """() => {
                const shown = e => e.getClientRects().length > 0;
                const article = document.querySelector('article');
                return {
                    chrome: Array.from(document.querySelectorAll(
                        'button, .bd-sidebar-primary, .bd-header-article, .prev-next-footer,'
                        + ' details.hide > summary')).filter(shown).map(e => e.className),
                    closed: Array.from(article.querySelectorAll('details.sd-dropdown'))
                        .filter(d => !Array.from(d.querySelectorAll('pre')).some(
                            p => p.getBoundingClientRect().height > 0))
                        .map(d => d.querySelector('summary').innerText),
                    clipped: Array.from(article.querySelectorAll('pre')).filter(
                        p => shown(p) && p.scrollWidth > p.clientWidth + 1)
                        .map(p => p.innerText.split('\\n')[0].slice(0, 60)),
                };
            }"""
        )
        pdf = page.pdf(
            format="A4",
            margin={"top": "15mm", "bottom": "15mm", "left": "15mm", "right": "15mm"},
            print_background=True,
        )
    finally:
        context.close()
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert not state["chrome"], f"printed with navigation or toggles: {state['chrome'][:5]}"
    assert not state["closed"], f"solutions printed closed: {state['closed']}"
    assert not state["clipped"], f"code lines cut off in print: {state['clipped'][:5]}"
    low, high = PRINTED_PAGES
    assert low <= pages <= high, f"{PRINTED_CHAPTER} prints on {pages} pages, not {low}-{high}"
    assert not problems, "; ".join(problems)


MYST_LEFTOVERS = re.compile(
    r"\{(?:glue|cite|doc|ref|term|numref)(?::[a-z]+)?\}`|^(?::::|```)\{", re.M
)


def test_download_menu_gives_a_notebook_that_reads_in_plain_jupyter(browser, site):
    """The chapter's download menu offers its notebook, and that notebook shows in plain Jupyter
    as on the site: outputs included, no MyST roles or directives left as raw text."""
    import nbformat

    context, page, problems = open_offline(browser, f"{site}/book/news.html", VIEWPORTS["desktop"])
    try:
        page.locator(".dropdown-download-buttons > button").click()
        link = page.locator(".dropdown-download-buttons a[href$='.ipynb']")
        link.wait_for(state="visible")
        url = link.evaluate("a => a.href")
        response = page.request.get(url)
        assert response.ok, f"{url}: HTTP {response.status}"
        notebook = nbformat.reads(response.text(), as_version=4)
    finally:
        context.close()
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "the downloaded notebook has no code cells"
    assert any(cell.get("outputs") for cell in code), "the downloaded notebook has no outputs"
    raw = [
        match.group(0)
        for cell in notebook.cells
        if cell.cell_type == "markdown"
        for match in MYST_LEFTOVERS.finditer(cell.source)
    ]
    assert not raw, f"MyST syntax that plain Jupyter shows raw: {sorted(set(raw))[:8]}"
    assert not problems, "; ".join(problems)
