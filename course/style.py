"""One look for every figure of the book (readable sizes, a colour-blind-safe palette) and one way
of writing every number the prose glues from a cell (``fmt``, ``prose_number``)."""

from __future__ import annotations

import math
import re
from typing import Any

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.text import Text

# Okabe & Ito's palette, distinguishable with the common colour-vision deficiencies.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#7F7F7F",
}


# Figures are drawn at 100 px per inch of figure width and stored at twice that resolution, so they
# stay sharp on high-density screens and when the browser scales them to the text column.
FIGURE_DPI = 100
# Each stored figure names its smallest text size in a PNG text chunk under this key, so the site
# checks can tell how large that text is on screen (points × 2 × FIGURE_DPI / 72 pixels in the
# PNG, times the browser's scale).
SMALLEST_TEXT_KEY = "Smallest text (pt)"


def smallest_text_pt(fig: Figure) -> float | None:
    """The font size in points of the smallest visible, non-empty text of ``fig`` (None: no text)."""
    sizes = [
        float(text.get_fontsize())
        for text in fig.findobj(Text)
        if text.get_visible() and text.get_text().strip()
    ]
    return min(sizes, default=None)


def figure_png(fig: Figure, **kwargs: Any) -> tuple[str, dict[str, int]] | None:
    """A figure as a base64 PNG at twice its display resolution, with its display size.

    Returns ``(data, {"width": w, "height": h})`` in CSS pixels (half the PNG's pixels), as
    IPython's "retina" format does, or None for an empty figure. The PNG also records the
    figure's smallest text size (``SMALLEST_TEXT_KEY``).
    """
    from IPython.core.pylabtools import retina_figure

    fig.canvas.draw()  # tick labels get their text when drawn
    smallest = smallest_text_pt(fig)
    metadata = {SMALLEST_TEXT_KEY: f"{smallest:g}"} if smallest is not None else {}
    return retina_figure(fig, base64=True, bbox_inches="tight", metadata=metadata, **kwargs)


def _store_figures_at_double_resolution() -> None:
    """In a Jupyter kernel, show every figure with ``figure_png``; elsewhere nothing changes.

    The book copies the display size into the ``<img>`` tag, so a figure is shown at 100 px per
    inch (or narrower, to fit the text column) from twice as many pixels.
    """
    try:
        from IPython import get_ipython
        from matplotlib_inline.config import InlineBackend
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return
    # Importing the inline backend configures IPython's figure display now (it would otherwise do
    # so at the first figure, replacing the formatter set below); "retina" is kept if it is
    # configured again.
    import matplotlib_inline.backend_inline  # noqa: F401

    InlineBackend.instance(parent=shell).figure_formats = {"retina"}
    shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)


def use() -> None:
    """Apply the course's matplotlib settings (call once at the top of a chapter)."""
    _store_figures_at_double_resolution()
    mpl.rcParams.update(
        {
            "figure.figsize": (8, 4.5),
            "figure.dpi": FIGURE_DPI,
            "savefig.dpi": 2 * FIGURE_DPI,
            "savefig.bbox": "tight",
            # 12 pt is 16.7 px at 100 px per inch: at least 11 px on screen for a figure up to
            # 10 inches wide in the desktop text column.
            "font.size": 12,
            "axes.titlesize": 13,
            "axes.labelsize": 12,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.prop_cycle": mpl.cycler(color=list(PALETTE.values())),
            "legend.frameon": False,
        }
    )


def human_number(x: float, dollars: bool = False) -> str:
    """A tick label a reader can take in at a glance: 5.6e6 → "5.6M", with "$" for money."""
    sign = "$" if dollars else ""
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size and (dollars or size >= 1e6):
            return f"{sign}{x / size:g}{suffix}"
    return f"{sign}{x:,.0f}" if abs(x) >= 1 else f"{sign}{x:g}"


# Prose numbers: one way of writing every number the text glues from a cell. `fmt` formats a
# value in a code cell; `prose_number` tidies what a glue role's format spec produced, and the
# build (course/sphinx_ext.py) applies it to every glued number on every page.

MINUS = "\u2212"  # a true minus sign, not the ASCII hyphen
_SUPERSCRIPT = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")
_WORDS = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"))
_E_NOTATION = re.compile(r"^(?P<mantissa>[+-]?\d+(?:\.\d+)?)[eE](?P<exponent>[+-]?\d+)$")


def power_of_ten(exponent: int) -> str:
    """ "10⁻⁷" for -7: the power written with superscript digits and a true minus."""
    return "10" + str(int(exponent)).translate(_SUPERSCRIPT)


def prose_number(text: str) -> str:
    """A formatted number as the prose writes it.

    Python's exponent notation becomes "× 10ⁿ" ("1.2e-07" → "1.2 × 10⁻⁷", "1e-15" → "10⁻¹⁵"), and a
    leading ASCII hyphen becomes a true minus sign ("-20.4" → "−20.4"). Text that is not a
    number, or is already written this way, comes back unchanged.
    """
    stripped = text.strip()
    match = _E_NOTATION.match(stripped)
    if match:
        mantissa, exponent = match.group("mantissa"), int(match.group("exponent"))
        sign = MINUS if mantissa.startswith("-") else ""
        mantissa = mantissa.lstrip("+-")
        if exponent == 0:
            return sign + mantissa
        if float(mantissa) == 1:
            return sign + power_of_ten(exponent)
        return f"{sign}{mantissa} × {power_of_ten(exponent)}"
    if re.match(r"^-[\d.]", stripped):
        return text.replace("-", MINUS, 1)
    return text


def fmt(
    x: float,
    unit: str = "",
    *,
    digits: int = 3,
    currency: str = "",
    words: bool = False,
    sign: bool = False,
) -> str:
    """A number for printed lines and prose, with its currency and unit.

    - ``digits`` significant digits (trailing zeros kept: 17.0, not 17);
    - below 10⁻³ or from 10⁶ up (unless ``words``), "a × 10ⁿ";
    - ``words``: millions and up in words ("3.3 trillion"), smaller numbers with thousands
      separators;
    - ``currency`` goes before the number ("$5.58 million"), ``unit`` after it, with a space
      unless the unit is "%" or "×" (so the highlight of a glued number takes both in);
    - ``sign``: "+" on positive numbers; negative numbers always get a true minus sign.

    ``x`` is any real number (numpy scalars included); the result is a ``str``.
    """
    x = float(x)
    if x != x:  # NaN
        raise ValueError("fmt: not a number")
    minus = MINUS if x < 0 else ("+" if sign and x > 0 else "")
    a = abs(x)
    scale = ""
    if words:
        for size, word in _WORDS:
            if a >= size:
                a, scale = a / size, " " + word
                break
    if a != 0 and (a < 1e-3 or (a >= 1e6 and not scale)):
        mantissa, exponent = f"{a:.{digits - 1}e}".split("e")
        body = f"{mantissa} × {power_of_ten(int(exponent))}"
    else:
        rounded = float(f"{a:.{digits - 1}e}")  # 9.9951 → 10.0: count digits after rounding
        decimals = max(digits - 1 - (math.floor(math.log10(rounded)) if rounded else 0), 0)
        body = f"{a:,.{decimals}f}"
    space = "" if unit in ("", "%", "×") or unit.startswith(("%", "×")) else " "
    return f"{minus}{currency}{body}{scale}{space}{unit}"
