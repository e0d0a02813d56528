"""Copy the parts of MathJax 3 that the site uses from node_modules/ into assets/mathjax/ (served as _static/mathjax/).

The site must render math with no network, so MathJax is served from the site itself
(`mathjax_path` in _config.yml points at _static/mathjax/tex-chtml.js).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "node_modules" / "mathjax" / "es5"
TARGET = ROOT / "assets" / "mathjax"
# The TeX-to-CommonHTML bundle, its fonts, and the components it may load on demand
# (menu, accessibility, TeX extensions). The speech engine (sre/, 4 MB) is left out.
PARTS = ["tex-chtml.js", "output", "ui", "a11y", "input", "adaptors"]


def main() -> int:
    if not SOURCE.is_dir():
        print(
            f"MathJax is missing in {SOURCE.relative_to(ROOT)}: run 'npm ci' first.",
            file=sys.stderr,
        )
        return 1
    shutil.rmtree(TARGET, ignore_errors=True)
    TARGET.mkdir(parents=True)
    for part in PARTS:
        src = SOURCE / part
        if src.is_dir():
            shutil.copytree(src, TARGET / part)
        else:
            shutil.copy2(src, TARGET / part)
    size = sum(f.stat().st_size for f in TARGET.rglob("*") if f.is_file())
    print(f"Copied MathJax ({size / 1e6:.1f} MB) into {TARGET.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
