"""Site build benchmark: cold build, warm rebuild with nothing changed, and the site's size.

Run from the repository root after ``make setup``::

    .venv/bin/python benchmarks/bench_site.py          # cold + warm (deletes _build/ first)
    .venv/bin/python benchmarks/bench_site.py --warm   # warm rebuild only

Goals (from the course's issue tracker): warm rebuild under 20 s; no page over 2 MB of HTML and
images, not counting the shared ``_static/`` assets.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
BUILD = [str(ROOT / ".venv" / "bin" / "jupyter-book"), "build", str(ROOT), "--builder", "html"]
BUILD += ["-W", "-n", "--keep-going"]


def timed_build() -> float:
    """Seconds for one `jupyter-book build` (raises if the build fails)."""
    start = time.perf_counter()
    subprocess.run(BUILD, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def page_bytes(page: Path) -> int:
    """A page's HTML plus the images it shows from outside ``_static/``."""
    images = set(re.findall(r'<img[^>]+src="([^"]+)"', page.read_text(encoding="utf-8")))
    local = [
        (page.parent / src).resolve()
        for src in images
        if not src.startswith(("http", "data:")) and "_static" not in src
    ]
    return page.stat().st_size + sum(p.stat().st_size for p in local if p.exists())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", action="store_true", help="skip the cold build")
    args = parser.parse_args()
    rows = []
    if not args.warm:
        shutil.rmtree(ROOT / "_build", ignore_errors=True)
        rows.append(("cold build (executes every page)", f"{timed_build():.1f} s"))
    rows.append(("warm rebuild, nothing changed", f"{timed_build():.1f} s"))
    pages = sorted(HTML.glob("book/*.html"))
    biggest = max(pages, key=page_bytes)
    rows.append(("site size", f"{folder_bytes(HTML) / 1e6:.1f} MB"))
    rows.append(
        ("  of which _static/ (theme, MathJax)", f"{folder_bytes(HTML / '_static') / 1e6:.1f} MB")
    )
    rows.append(
        (f"largest page ({biggest.name}, HTML + images)", f"{page_bytes(biggest) / 1e6:.2f} MB")
    )
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
